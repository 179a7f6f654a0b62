#pragma once
// Sending and receiving protocol messages over ZeroMQ sockets. Receiving drains
// every frame of a message even when it is malformed, so one bad message never
// desynchronises the stream that follows it.
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "qube/protocol.hpp"

namespace qube::transport {

struct Incoming {
  std::string routing_id;            // ROUTER sockets only
  std::string user_id;               // ROUTER sockets only: the peer's ZAP User-Id, "" without ZAP
  std::optional<proto::Message> msg;  // empty when the message was malformed
  std::string error;                  // why it was malformed
  // The request's id when only its body was malformed (0: the header was too), so
  // that the refusal reaches the client waiting on that id instead of timing out.
  std::uint64_t id = 0;
};

// Receives one whole message without blocking; nullopt when none is waiting.
std::optional<Incoming> receive(zmq::socket_t& socket, bool router);

// The same, leaving header and body undecoded.
struct RawIncoming {
  std::string routing_id;
  std::string user_id;
  zmq::message_t header, body;
  std::string error;  // not a header and a body: the frames are unusable
};
std::optional<RawIncoming> receive_raw(zmq::socket_t& socket, bool router);
// The second half of receive: header and body decoded (or why they are malformed).
Incoming decode(RawIncoming&& raw);

// Sends without blocking. Returns false when the peer is gone or too slow
// (EHOSTUNREACH/EAGAIN); never blocks the caller's event loop.
bool send(zmq::socket_t& socket, const proto::Message& msg,
          const std::string* routing_id = nullptr);
// The same with the body already encoded (msg.body is not used).
bool send_encoded(zmq::socket_t& socket, const proto::Message& msg, std::string_view body,
                  const std::string* routing_id = nullptr);
// The same, handing a big body to ZeroMQ without a copy (replies of megabytes).
bool send_encoded(zmq::socket_t& socket, const proto::Message& msg, std::string&& body,
                  const std::string* routing_id = nullptr);

// Applies the options every socket of ours needs: linger, message size cap.
// "tcp://a:50001,tcp://b:50001" (a pair of supervisors, docs/high-availability.md):
// the endpoints in order, blanks around them dropped; one endpoint is a list of one.
std::vector<std::string> split_endpoints(const std::string& list);
void configure(zmq::socket_t& socket);

// "tcp://*:50002" -> "tcp://127.0.0.1:50002": an address a local client can dial.
std::string connectable(const std::string& bound_endpoint);

}  // namespace qube::transport
