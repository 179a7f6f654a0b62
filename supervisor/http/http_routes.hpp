#pragma once
// The routes of the HTTP API and what they share (docs/http-api.md).
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <zmq.hpp>

#include "api_tokens.hpp"

namespace httplib {
class Server;
}

namespace qube::supervisor {

struct HttpContext {
  HttpContext(zmq::context_t& z, const ApiTokens& t) : zmq(z), tokens(t) {}
  zmq::context_t& zmq;       // the supervisor's: inproc reaches its loop
  const ApiTokens& tokens;
  bool anonymous_read = false;     // GETs without a token (configured, and bound on loopback)
  double reply_timeout = 30;       // seconds to wait for the loop: then 503
  int max_event_streams = 4;       // open /api/v1/events streams; each holds a thread
  std::atomic<bool> stopping{false};
  std::atomic<int> event_streams{0};
  std::atomic<std::uint64_t> serial{0};
};

void add_routes(httplib::Server& server, HttpContext& context);

}  // namespace qube::supervisor
