#include "qube/transport.hpp"

#include <vector>

#include "qube/codec.hpp"

namespace qube::transport {

void configure(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxMessageBytes));
}

std::optional<RawIncoming> receive_raw(zmq::socket_t& socket, bool router) {
  std::vector<zmq::message_t> frames;
  while (true) {
    zmq::message_t frame;
    auto got = socket.recv(frame, frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
    if (!got) return std::nullopt;
    const bool more = frame.more();
    if (frames.size() < 8) frames.push_back(std::move(frame));  // excess frames are dropped
    if (!more) break;
  }
  RawIncoming raw;
  std::size_t first = 0;
  if (router) {
    raw.routing_id = frames[0].to_string();
    // Set by libzmq from the ZAP handler's reply on the frames the peer sent (not
    // on the routing id, which the ROUTER makes): who the peer's key belongs to.
    if (const char* user = zmq_msg_gets(frames.back().handle(), "User-Id")) raw.user_id = user;
    first = 1;
  }
  if (frames.size() != first + 2) {
    raw.error = "expected 2 frames (header, body), got " + std::to_string(frames.size() - first);
    return raw;
  }
  raw.header = std::move(frames[first]);
  raw.body = std::move(frames[first + 1]);
  return raw;
}

std::optional<Incoming> receive(zmq::socket_t& socket, bool router) {
  auto raw = receive_raw(socket, router);
  if (!raw) return std::nullopt;
  return decode(std::move(*raw));
}

Incoming decode(RawIncoming&& raw) {
  Incoming in;
  in.routing_id = std::move(raw.routing_id);
  in.user_id = std::move(raw.user_id);
  in.error = std::move(raw.error);
  if (!in.error.empty()) return in;
  try {
    proto::Message msg = proto::decode_header(raw.header.to_string_view());
    in.id = msg.id;
    proto::decode_body(msg, raw.body.to_string_view());
    in.msg = std::move(msg);
  } catch (const std::exception& e) {
    in.error = e.what();
  }
  return in;
}

bool send(zmq::socket_t& socket, const proto::Message& msg, const std::string* routing_id) {
  return send_encoded(socket, msg, qube::encode(msg.body), routing_id);
}

namespace {
// Bodies from this size on are given to ZeroMQ rather than copied: a fresh copy
// of a reply of megabytes costs the sender's loop milliseconds in page faults.
constexpr std::size_t kZeroCopyFrom = 64 * 1024;

// Sends the routing id and header, then `body`; false when the peer is gone.
bool send_frames(zmq::socket_t& socket, const proto::Message& msg, zmq::message_t body,
                 const std::string* routing_id) {
  const std::string header = proto::encode_header(msg);
  try {
    if (routing_id) {
      if (!socket.send(zmq::buffer(*routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return false;
    }
    if (!socket.send(zmq::buffer(header), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return false;
    return socket.send(body, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;  // EHOSTUNREACH: the peer is gone
  }
}
}  // namespace

bool send_encoded(zmq::socket_t& socket, const proto::Message& msg, std::string_view body,
                  const std::string* routing_id) {
  return send_frames(socket, msg, zmq::message_t(body.data(), body.size()), routing_id);
}

bool send_encoded(zmq::socket_t& socket, const proto::Message& msg, std::string&& body,
                  const std::string* routing_id) {
  if (body.size() < kZeroCopyFrom) return send_encoded(socket, msg, std::string_view(body), routing_id);
  // ZeroMQ frees the string (on its I/O thread) once the frame is sent or dropped.
  auto* owned = new std::string(std::move(body));
  zmq::message_t frame(owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); },
                       owned);
  return send_frames(socket, msg, std::move(frame), routing_id);
}

std::vector<std::string> split_endpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = std::min(list.find(',', start), list.size());
    auto one = list.substr(start, comma - start);
    const auto first = one.find_first_not_of(" \t");
    const auto last = one.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(one.substr(first, last - first + 1));
    start = comma + 1;
  }
  return out;
}

std::string connectable(const std::string& bound) {
  for (const char* wildcard : {"://*:", "://0.0.0.0:"}) {
    const auto at = bound.find(wildcard);
    if (at != std::string::npos)
      return bound.substr(0, at) + "://127.0.0.1:" + bound.substr(at + std::string(wildcard).size());
  }
  return bound;
}

}  // namespace qube::transport
