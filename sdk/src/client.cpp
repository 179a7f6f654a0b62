#include "qube/client.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <filesystem>
#include <random>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "qube/codec.hpp"
#include "qube/curve.hpp"
#include "qube/handshake_watch.hpp"
#include "qube/paths.hpp"
#include "qube/transport.hpp"

namespace qube {

namespace {

std::string supervisor_from_config() {
  std::vector<std::filesystem::path> candidates;
  if (const char* c = std::getenv("QB_CONFIG")) candidates.emplace_back(c);
  if (const char* home = std::getenv("HOME"))
    candidates.push_back(std::filesystem::path(home) / ".config/qube/client.yaml");
  candidates.push_back(default_config_dir() / "client.yaml");
  for (const auto& path : candidates) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    try {
      YAML::Node node = YAML::LoadFile(path.string());
      if (node["supervisor"]) return node["supervisor"].as<std::string>();
    } catch (const std::exception&) {
      // An unreadable client config is ignored in favour of the next one.
    }
  }
  return {};
}

}  // namespace

std::string resolve_supervisor(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("QB_SUPERVISOR"); env && *env) return env;
  if (auto c = supervisor_from_config(); !c.empty()) return c;
  return "tcp://127.0.0.1:50002";
}

std::string current_user() {
  if (const char* u = std::getenv("QB_USER"); u && *u) return u;
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  if (const char* u = std::getenv("USER"); u && *u) return u;
  return "unknown";
}

std::chrono::milliseconds Client::default_timeout() {
  if (const char* t = std::getenv("QB_TIMEOUT")) {
    char* end = nullptr;
    const double s = std::strtod(t, &end);
    if (end != t && s > 0) return std::chrono::milliseconds(static_cast<long>(s * 1000));
  }
  return std::chrono::seconds(5);
}

struct Client::Impl {
  zmq::context_t ctx{1};
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};
  std::optional<curve::ClientKeys> keys;
  std::optional<transport::HandshakeWatch> handshakes;
  std::uint64_t next_id = std::random_device{}();
  std::vector<std::string> endpoints;
  std::size_t current = 0;
};

namespace {

// What a failed handshake means, for the user.
std::string explain(transport::HandshakeFailure failure, const std::optional<curve::ClientKeys>& keys,
                    const std::string& endpoint) {
  if (failure == transport::HandshakeFailure::refused && keys)
    return "the supervisor at " + endpoint + " refused this client's key (" + keys->own_file.string() +
           "): it is unknown or was revoked; an admin adds it with `qb keys add " + keys->own.name() + " '" +
           keys->own.public_key + "'`";
  if (keys)
    return "cannot talk to the supervisor at " + endpoint +
           ": the handshake failed (its key differs from the supervisor.key used, or it does not use keys)";
  return "the supervisor at " + endpoint +
         " requires keys and this client has none: make yours with `qb keys init` (docs/security.md)";
}

}  // namespace

Client::Client(std::string endpoint, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), timeout_(timeout) {
  impl_->endpoints = transport::split_endpoints(endpoint);
  if (impl_->endpoints.empty()) throw ClientError("no supervisor endpoint given");
  endpoint_ = impl_->endpoints.front();
  transport::configure(impl_->socket);
  // Several supervisors: a message goes only to a connection that is up, so
  // that one that is down is found out at once rather than after the timeout.
  if (impl_->endpoints.size() > 1) impl_->socket.set(zmq::sockopt::immediate, 1);
  try {
    impl_->keys = curve::user_client_keys();
  } catch (const std::exception& e) {
    throw ClientError(e.what());
  }
  if (impl_->keys) curve::make_client(impl_->socket, *impl_->keys);
  impl_->handshakes.emplace(impl_->ctx, impl_->socket, "client");
  try {
    impl_->socket.connect(endpoint_);
  } catch (const zmq::error_t& e) {
    throw ClientError("invalid supervisor endpoint '" + endpoint_ + "': " + e.what());
  }
}

Client::~Client() = default;

Json Client::request(const std::string& type, const Json& body) { return reply_body(exchange(type, body, timeout_)); }

Json Client::reply_body(const std::string& reply) {
  Json b;
  try {
    b = qube::decode(reply);
    require_object(b, "message body");
  } catch (const std::exception& e) {
    throw ClientError(std::string("bad reply from the supervisor: ") + e.what());
  }
  if (!get_bool(b, "ok")) throw ClientError(get_string(b, "error", "request failed"));
  return b;
}

Json Client::request_stored(const std::string& type, const Json& body) {
  if (std::getenv("QB_TIMEOUT")) return request(type, body);
  request("ping", Json::object());
  return reply_body(exchange(type, body, std::max<std::chrono::milliseconds>(timeout_, kStoredWait)));
}

std::string Client::request_text(const std::string& type, const Json& body, const std::string& key, int indent) {
  const std::string reply = exchange(type, body, timeout_);
  DecodedWithText b;
  try {
    b = decode_with_text(reply, key, indent);
    require_object(b.fields, "message body");
  } catch (const std::exception& e) {
    throw ClientError(std::string("bad reply from the supervisor: ") + e.what());
  }
  if (!get_bool(b.fields, "ok")) throw ClientError(get_string(b.fields, "error", "request failed"));
  return std::move(b.text);
}

void Client::follow(const std::string& hint) {
  const auto& all = impl_->endpoints;
  const auto named = std::find(all.begin(), all.end(), hint);
  const std::size_t next =
      !hint.empty() && named != all.end() ? static_cast<std::size_t>(named - all.begin()) : (impl_->current + 1) % all.size();
  impl_->socket.disconnect(endpoint_);
  impl_->current = next;
  endpoint_ = all[next];
  impl_->socket.connect(endpoint_);
}

std::string Client::exchange(const std::string& type, const Json& body, std::chrono::milliseconds timeout) {
  const std::size_t n = impl_->endpoints.size();
  if (n == 1) {
    std::optional<std::string> active;
    std::string reply = exchange_once(type, body, timeout, active);
    if (active) throw ClientError(reply);
    return reply;
  }
  // Round the list twice at least; while a standby is taking over (none
  // active), for up to the timeout.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t tries = 1;; ++tries) {
    const bool last = tries >= 2 * n && std::chrono::steady_clock::now() >= deadline;
    std::optional<std::string> active;
    std::string reply;
    try {
      reply = exchange_once(type, body, timeout, active);
    } catch (const ClientNoAnswer&) {
      if (last) throw;
      follow("");
      continue;
    }
    if (!active) return reply;
    if (last) throw ClientError(reply);
    // No active one named: the lease is between holders; give it a moment.
    if (active->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    follow(*active);
  }
}

std::string Client::exchange_once(const std::string& type, const Json& body, std::chrono::milliseconds timeout,
                                  std::optional<std::string>& active) {
  proto::Message req{type, ++impl_->next_id, body};
  const bool several = impl_->endpoints.size() > 1;
  // A DEALER queues the message until the connection is up; the timeout below
  // covers a supervisor that never answers.
  if (!transport::send(impl_->socket, req)) {
    zmq::pollitem_t out{impl_->socket.handle(), 0, ZMQ_POLLOUT, 0};
    zmq::poll(&out, 1, several ? std::min(timeout, std::chrono::milliseconds(1000)) : timeout);
    if (several && !transport::send(impl_->socket, req))
      throw ClientNoAnswer("cannot reach the supervisor at " + endpoint_);
    if (!transport::send(impl_->socket, req))
      throw ClientError("cannot reach the supervisor at " + endpoint_);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw ClientNoAnswer("no answer from the supervisor at " + endpoint_ + " within " +
                        std::to_string(timeout.count() / 1000.0).substr(0, 4) +
                        " s (is qbsupervisor running? set --supervisor or QB_SUPERVISOR)");
    zmq::pollitem_t in[] = {{impl_->socket.handle(), 0, ZMQ_POLLIN, 0}, impl_->handshakes->pollitem()};
    zmq::poll(in, 2, left);
    if (in[1].revents & ZMQ_POLLIN)
      if (const auto failure = impl_->handshakes->take()) throw ClientError(explain(*failure, impl_->keys, endpoint_));
    if (!(in[0].revents & ZMQ_POLLIN)) continue;
    auto got = transport::receive_raw(impl_->socket, false);
    if (!got) continue;
    if (!got->error.empty()) throw ClientError("bad reply from the supervisor: " + got->error);
    proto::Message header;
    try {
      header = proto::decode_header(got->header.to_string_view());
    } catch (const std::exception& e) {
      throw ClientError(std::string("bad reply from the supervisor: ") + e.what());
    }
    if (header.id != req.id) continue;  // a late reply to an earlier request
    if (header.type == proto::kNotActive) {
      // A standby: {ok: false, error, active}.
      try {
        const Json b = qube::decode(got->body.to_string_view());
        active = get_string(b, "active");
        return get_string(b, "error", "not active");
      } catch (const std::exception& e) {
        throw ClientError(std::string("bad reply from the supervisor: ") + e.what());
      }
    }
    return got->body.to_string();
  }
}

}  // namespace qube
