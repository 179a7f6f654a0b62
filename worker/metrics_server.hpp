#pragma once
// A worker's GET /metrics (qbworker --metrics, config `metrics`), served by
// cpp-httplib on threads of its own: a scrape reads the MetricsBoard and never
// waits on the worker's loop.
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace qube::worker {

// "HOST:PORT", or a bare "PORT" meaning 127.0.0.1:PORT (the metrics carry no
// secret, but a worker stays off the network unless told). Throws
// std::runtime_error on anything else.
std::string metrics_endpoint(const std::string& text);

class MetricsServer {
 public:
  // Binds `endpoint` (metrics_endpoint's form; port 0: any free port) and serves
  // render() at /metrics. Throws std::runtime_error when it cannot bind.
  MetricsServer(const std::string& endpoint, std::function<std::string()> render);
  ~MetricsServer();  // stops serving and joins its threads
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "http://HOST:PORT/metrics" as bound.
  const std::string& url() const { return url_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string url_;
  std::thread thread_;
};

}  // namespace qube::worker
