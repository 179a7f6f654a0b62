#include "http_server.hpp"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "dashboard_files.hpp"
#include "http_routes.hpp"
#include "qube/curve.hpp"

namespace qube::supervisor {

namespace {

struct HostPort {
  std::string host;
  int port = 0;
};

// "127.0.0.1:50080", "http://127.0.0.1:0", "*:50080" (every address).
HostPort parse_endpoint(std::string ep) {
  for (const char* scheme : {"http://", "https://"})
    if (ep.rfind(scheme, 0) == 0) ep.erase(0, std::string(scheme).size());
  const auto colon = ep.rfind(':');
  const std::string bad = "http endpoint '" + ep + "': expected HOST:PORT, e.g. 127.0.0.1:50080";
  if (colon == std::string::npos || colon == 0) throw std::runtime_error(bad);
  HostPort hp{ep.substr(0, colon), 0};
  try {
    std::size_t used = 0;
    hp.port = std::stoi(ep.substr(colon + 1), &used);
    if (used != ep.size() - colon - 1 || hp.port < 0 || hp.port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw std::runtime_error(bad);
  }
  if (hp.host == "*") hp.host = "0.0.0.0";
  return hp;
}

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
  const HostPort hp = parse_endpoint(config.http_endpoint);
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
