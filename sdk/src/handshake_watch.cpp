#include "qube/handshake_watch.hpp"

#include <cstdint>
#include <cstring>

namespace qube::transport {

HandshakeWatch::HandshakeWatch(zmq::context_t& ctx, zmq::socket_t& socket, const std::string& name)
    : events_(ctx, zmq::socket_type::pair) {
  const std::string endpoint = "inproc://qube-handshakes-" + name;
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
    throw zmq::error_t();
  events_.set(zmq::sockopt::linger, 0);
  events_.connect(endpoint);
}

zmq::pollitem_t HandshakeWatch::pollitem() { return {events_.handle(), 0, ZMQ_POLLIN, 0}; }

std::optional<HandshakeFailure> HandshakeWatch::take() {
  // An event is two frames: the event number (2 bytes) and value (4), then the endpoint.
  zmq::message_t event;
  if (!events_.recv(event, zmq::recv_flags::dontwait)) return std::nullopt;
  while (event.more()) {
    zmq::message_t rest;
    if (!events_.recv(rest, zmq::recv_flags::none)) break;
    if (!rest.more()) break;
  }
  std::uint16_t number = 0;
  if (event.size() >= sizeof number) std::memcpy(&number, event.data(), sizeof number);
  return number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? HandshakeFailure::refused : HandshakeFailure::mismatch;
}

}  // namespace qube::transport
