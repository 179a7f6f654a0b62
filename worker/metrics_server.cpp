#include "metrics_server.hpp"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

#include "qube/http_endpoint.hpp"
#include "qube/prometheus_text.hpp"

namespace qube::worker {

std::string metrics_endpoint(const std::string& text) {
  const bool bare_port = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  const auto hp = service::parse_http_endpoint(bare_port ? "127.0.0.1:" + text : text, "metrics endpoint");
  return hp.host + ":" + std::to_string(hp.port);
}

MetricsServer::MetricsServer(const std::string& endpoint, std::function<std::string()> render)
    : server_(std::make_unique<httplib::Server>()) {
  const auto hp = service::parse_http_endpoint(metrics_endpoint(endpoint), "metrics endpoint");
  // A scrape is small and rare: two threads are plenty, and bound what a flood costs.
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);
  server_->Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), prometheus::kContentType);
  });
  const int port = hp.port == 0 ? server_->bind_to_any_port(hp.host)
                                : (server_->bind_to_port(hp.host, hp.port) ? hp.port : -1);
  if (port <= 0)
    throw std::runtime_error("cannot serve metrics on " + hp.host + ":" + std::to_string(hp.port) +
                             " (in use, or not an address of this host)");
  url_ = "http://" + hp.host + ":" + std::to_string(port) + "/metrics";
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

MetricsServer::~MetricsServer() {
  // stop() before listen_after_bind() has begun would be lost, and the join hang.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace qube::worker
