#pragma once
// The ZAP handler (ZeroMQ RFC 27) of the supervisor's context, on a thread of its
// own: libzmq asks it about every new CURVE connection, and it lets in only keys
// the Keyring holds, users on the clients' socket and workers on the workers'.
// The User-Id it answers is the peer's public key, so that the event loop can ask
// the Keyring about every message (a key revoked since the connection was made is
// refused on its next request). It also logs handshakes that fail before ZAP is
// asked (a plaintext client), with the peer's address, from the sockets' monitors.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "keyring.hpp"

namespace qube::supervisor {

class Gatekeeper {
 public:
  // The ZAP domains of the two sockets.
  static constexpr const char* kClientsDomain = "qube-clients";
  static constexpr const char* kWorkersDomain = "qube-workers";

  // Serves ZAP in `ctx` from now on (its socket is bound before this returns),
  // and watches the handshakes of `watched` sockets, which must not be bound yet.
  Gatekeeper(zmq::context_t& ctx, Keyring& keyring, std::vector<zmq::socket_t*> watched);
  // Stops the thread; call before the context is closed.
  ~Gatekeeper();
  Gatekeeper(const Gatekeeper&) = delete;
  Gatekeeper& operator=(const Gatekeeper&) = delete;

 private:
  void serve(zmq::socket_t& zap, std::vector<zmq::socket_t>& monitors);
  void answer(zmq::socket_t& zap);
  // What one socket's monitor has told: its open connections' addresses, and
  // failed handshakes not yet logged.
  struct Peers {
    std::map<int, std::string> open;
    int failed = 0;
  };
  static void report_handshake(zmq::socket_t& monitor, Peers& peers);

  zmq::context_t& ctx_;
  Keyring& keyring_;
  std::vector<std::string> monitor_endpoints_;
  std::vector<Peers> peers_;  // one per watched socket; the thread's only
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace qube::supervisor
