#include "http_server.hpp"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "dashboard_files.hpp"
#include "http_routes.hpp"
#include "qube/curve.hpp"
#include "qube/http_endpoint.hpp"

namespace qube::supervisor {

namespace {

using service::HostPort;

// The ZeroMQ sockets' rule (security.cpp): a public address needs keys, or `insecure`.
void check_exposure(const Config& config, const HostPort& hp) {
  if (curve::is_loopback_endpoint("tcp://" + hp.host + ":" + std::to_string(hp.port)) || config.keys_required) return;
  if (!config.insecure)
    throw std::runtime_error("refusing to serve the HTTP API on " + hp.host +
                             " without keys: tokens are only as good as the identities behind them. Set "
                             "keys_required: true (docs/security.md), bind a loopback address, or set insecure: true");
  spdlog::warn("INSECURE: the HTTP API is served on {} without keys (insecure: true)", hp.host);
}

}  // namespace

HttpServer::HttpServer(const Config& config, zmq::context_t& ctx, const ApiTokens& tokens)
    : context_(std::make_unique<HttpContext>(ctx, tokens)) {
  const HostPort hp = service::parse_http_endpoint(config.http_endpoint);
  check_exposure(config, hp);
  const bool loopback = curve::is_loopback_endpoint("tcp://" + hp.host + ":1");
  context_->anonymous_read = config.http_anonymous_read && loopback;
  if (config.http_anonymous_read && !loopback)
    spdlog::warn("http_anonymous_read ignored: the HTTP API is not bound on loopback");
  context_->reply_timeout = config.http_reply_timeout;
  context_->max_event_streams = std::max(1, config.http_threads / 2);
  const bool tls = !config.http_tls_cert.empty() || !config.http_tls_key.empty();
  if (tls) {
    if (config.http_tls_cert.empty() || config.http_tls_key.empty())
      throw std::runtime_error("http_tls_cert and http_tls_key go together");
    auto ssl = std::make_unique<httplib::SSLServer>(config.http_tls_cert.c_str(), config.http_tls_key.c_str());
    if (!ssl->is_valid())
      throw std::runtime_error("cannot use the TLS certificate " + config.http_tls_cert.string() + " and key " +
                               config.http_tls_key.string());
    server_ = std::move(ssl);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  const auto threads = static_cast<std::size_t>(config.http_threads);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  const auto io = static_cast<time_t>(config.http_io_timeout);
  server_->set_read_timeout(io, 0);
  server_->set_write_timeout(io, 0);
  server_->set_keep_alive_timeout(5);
  server_->set_payload_max_length(config.http_max_body);
  add_routes(*server_, *context_);
  add_dashboard(*server_, config.dashboard_dir.empty() ? default_dashboard_dir() : config.dashboard_dir);
  const int port = hp.port == 0 ? server_->bind_to_any_port(hp.host)
                                : (server_->bind_to_port(hp.host, hp.port) ? hp.port : -1);
  if (port <= 0) throw std::runtime_error("cannot bind the HTTP API to " + hp.host + ":" + std::to_string(hp.port));
  url_ = std::string(tls ? "https" : "http") + "://" + (hp.host == "0.0.0.0" ? "127.0.0.1" : hp.host) + ":" +
         std::to_string(port);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("HTTP API at {}{}", url_, context_->anonymous_read ? " (anonymous reads allowed)" : "");
}

HttpServer::~HttpServer() {
  context_->stopping = true;
  // stop() before listen_after_bind() has begun would be lost, and the join hang.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

bool HttpServer::has_event_listeners() const { return context_->event_streams > 0; }

}  // namespace qube::supervisor
