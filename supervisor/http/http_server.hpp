#pragma once
// The HTTP/JSON API (docs/http-api.md), served by the supervisor on cpp-httplib's
// own bounded thread pool. Its threads never touch the Farm: each request is
// handed to the loop as a protocol message (loop_link.hpp) and waited for with a
// deadline, so a slow or stuck HTTP client can never stall the loop.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "api_tokens.hpp"
#include "config.hpp"

namespace httplib {
class Server;
}

namespace qube::supervisor {

struct HttpContext;

class HttpServer {
 public:
  // Binds config.http_endpoint ("HOST:PORT", port 0: any free port) and starts
  // serving. Throws std::runtime_error on an endpoint it cannot or may not bind
  // (off loopback without keys or `insecure`, as the ZeroMQ sockets).
  HttpServer(const Config& config, zmq::context_t& ctx, const ApiTokens& tokens);
  ~HttpServer();  // stops serving and joins every HTTP thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "http://127.0.0.1:PORT" (https with TLS), as bound.
  const std::string& url() const { return url_; }
  // Whether any /api/v1/events stream is open: the loop publishes only then.
  bool has_event_listeners() const;

 private:
  std::unique_ptr<HttpContext> context_;
  std::unique_ptr<httplib::Server> server_;
  std::string url_;
  std::thread thread_;
};

}  // namespace qube::supervisor
