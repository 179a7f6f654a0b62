#pragma once
// Failed ZeroMQ handshakes of one socket, from its monitor. A refused CURVE key
// (or plaintext against a CURVE server) ends the connection silently, and libzmq
// does not connect again after it: without this, a refusal looks like a peer
// that is not there, for ever.
#include <cstdint>
#include <optional>
#include <string>

#include <zmq.hpp>

namespace qube::transport {

enum class HandshakeFailure {
  refused,   // the server's ZAP handler refused our key
  mismatch,  // the two ends do not speak the same security (keys on one side only, or other keys)
};

// One event of a ZeroMQ socket monitor: its number (ZMQ_EVENT_*), its value
// (a descriptor for ACCEPTED and DISCONNECTED, an error code for failures) and
// the endpoint it is about.
struct MonitorEvent {
  std::uint16_t number = 0;
  std::uint32_t value = 0;
  std::string endpoint;
};
// The next event waiting on a monitor's PAIR socket, whole; never blocks.
std::optional<MonitorEvent> receive_monitor_event(zmq::socket_t& monitor);

class HandshakeWatch {
 public:
  // Watches `socket` (of context `ctx`); `name` makes the monitor's inproc
  // endpoint unique in the context.
  HandshakeWatch(zmq::context_t& ctx, zmq::socket_t& socket, const std::string& name);
  // For zmq::poll beside the socket.
  zmq::pollitem_t pollitem();
  // The next failure reported, if any; never blocks.
  std::optional<HandshakeFailure> take();

 private:
  zmq::socket_t events_;
};

}  // namespace qube::transport
