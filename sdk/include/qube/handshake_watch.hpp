#pragma once
// Failed ZeroMQ handshakes of one socket, from its monitor. A refused CURVE key
// (or plaintext against a CURVE server) ends the connection silently, and libzmq
// does not connect again after it: without this, a refusal looks like a peer
// that is not there, for ever.
#include <optional>
#include <string>

#include <zmq.hpp>

namespace qube::transport {

enum class HandshakeFailure {
  refused,   // the server's ZAP handler refused our key
  mismatch,  // the two ends do not speak the same security (keys on one side only, or other keys)
};

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
