#include "qube/handshake_watch.hpp"

#include <cstdint>
#include <cstring>

namespace qube::transport {

std::optional<MonitorEvent> receive_monitor_event(zmq::socket_t& monitor) {
  // Two frames: the event number (2 bytes) and value (4), then the endpoint.
  zmq::message_t head;
  if (!monitor.recv(head, zmq::recv_flags::dontwait)) return std::nullopt;
  MonitorEvent event;
  if (head.size() >= 6) {
    std::memcpy(&event.number, head.data(), 2);
    std::memcpy(&event.value, static_cast<const char*>(head.data()) + 2, 4);
  }
  while (head.more()) {
    zmq::message_t rest;
    if (!monitor.recv(rest, zmq::recv_flags::none)) break;
    if (event.endpoint.empty()) event.endpoint = rest.to_string();
    head = std::move(rest);
  }
  return event;
}

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
  const auto event = receive_monitor_event(events_);
  if (!event) return std::nullopt;
  return event->number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? HandshakeFailure::refused : HandshakeFailure::mismatch;
}

}  // namespace qube::transport
