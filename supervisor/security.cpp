#include "security.hpp"

#include <spdlog/spdlog.h>

#include "agenda_grid.hpp"
#include "qube/curve.hpp"
#include "qube/keys.hpp"
#include "qube/messages.hpp"

namespace qube::supervisor {

namespace {

void check_endpoints(const Config& config) {
  for (const auto& ep : {config.workers_endpoint, config.clients_endpoint}) {
    if (curve::is_loopback_endpoint(ep) || config.keys_required) continue;
    if (!config.insecure)
      throw std::runtime_error("refusing to bind " + ep +
                               " without keys: anyone who reaches it could run commands on every worker. "
                               "Set keys_required: true (docs/security.md), bind a loopback address, or set "
                               "insecure: true to accept the risk");
    spdlog::warn("INSECURE: {} is bound without keys (insecure: true): anyone who reaches it is any user and "
                 "can run any command on every worker",
                 ep);
  }
}

// The supervisor's own key pair, made on the first start with keys required.
keys::KeyFile own_key(const std::filesystem::path& dir) {
  const auto stem = dir / curve::kSupervisorKeyFile;
  std::error_code ec;
  if (std::filesystem::exists(keys::secret_path(stem), ec)) return keys::read_key_file(keys::secret_path(stem), true);
  keys::KeyFile key = keys::generate("supervisor");
  keys::write_key_files(stem, key, true);
  spdlog::info("keys: made the supervisor's key pair; give {} to every worker and user (docs/security.md)",
               stem.string());
  return key;
}

KeyKind kind_of(const Json& body) { return get_bool(body, "worker") ? KeyKind::worker : KeyKind::user; }

}  // namespace

Security::Security(const Config& config, zmq::context_t& ctx, zmq::socket_t& workers, zmq::socket_t& clients)
    : keys_dir_(config.keys_dir.empty() ? curve::default_daemon_key_dir() : config.keys_dir) {
  check_endpoints(config);
  required_ = config.keys_required;
  if (!required_) return;
  const keys::KeyFile own = own_key(keys_dir_);
  keyring_ = std::make_unique<Keyring>(keys_dir_);
  curve::make_server(workers, own, Gatekeeper::kWorkersDomain);
  curve::make_server(clients, own, Gatekeeper::kClientsDomain);
  gatekeeper_ = std::make_unique<Gatekeeper>(ctx, *keyring_, std::vector<zmq::socket_t*>{&workers, &clients});
  spdlog::info("keys required: {} key(s) accepted, from {}", keyring_->list().size(), keys_dir_.string());
}

Security::~Security() = default;

Keyring& Security::keyring() {
  if (!keyring_) keyring_ = std::make_unique<Keyring>(keys_dir_);
  return *keyring_;
}

std::optional<std::string> Security::authenticate_client(const std::string& user_id, proto::Message& msg) const {
  const auto holder = key_holder(user_id);
  if (!holder) return std::nullopt;
  return as_asker(msg, *holder);
}

std::optional<std::string> Security::key_holder(const std::string& user_id) const {
  if (!required_) return std::string();
  const auto holder = keyring_->holder(user_id);
  if (!holder || holder->kind != KeyKind::user) return std::nullopt;
  return holder->name;
}

std::string Security::as_asker(proto::Message& msg, const std::string& holder) {
  if (!holder.empty()) {
    stamp_user(msg, holder);
    return holder;
  }
  // Without keys, whatever it claims; a malformed claim is the Farm's to refuse, not a throw here.
  const Json& body = msg.body;
  const auto claimed = body.is_object() ? body.find("user") : body.end();
  return claimed != body.end() && claimed->is_string() ? claimed->get<std::string>() : std::string();
}

void Security::stamp_user(proto::Message& msg, const std::string& name) {
  Json& body = msg.body;
  // A job that names the user its submitter claimed to be (qbsub's default, or
  // $QB_USER) is the key holder's; one that names another user is a submission
  // on someone's behalf, which the Farm allows to admins only.
  if (msg.type == proto::kSubmit && body.is_object() && body.contains("jobs") && body["jobs"].is_array()) {
    // A claim that is not a string claims nobody (and must not throw: this runs
    // before anything catches, and a client's bad field may not end the daemon).
    const auto user = body.find("user");
    const std::string claimed = user != body.end() && user->is_string() ? user->get<std::string>() : "";
    for (Json& job : body["jobs"])
      if (job.is_object() && (!job.contains("user") || (job["user"].is_string() && job["user"] == claimed)))
        job["user"] = name;
  }
  // Every other request's `user` is its asker.
  if (body.is_object() && !is_read_only(msg.type)) body["user"] = name;
}

bool Security::is_read_only(const std::string& type) {
  namespace p = proto;
  static const std::set<std::string, std::less<>> reads{p::kJobs,      p::kShow,    p::kHosts,  p::kResources,
                                                        p::kPing,      p::kHistory, p::kOutput, p::kKeys,
                                                        p::kMetrics,   kAgendaGrid, p::kSupervisorStatus};
  return reads.count(type) > 0;
}

bool Security::admit_worker(const std::string& rid, const std::string& user_id, const proto::Message& msg) {
  if (!required_) return true;
  const auto holder = keyring_->holder(user_id);
  if (!holder || holder->kind != KeyKind::worker) return false;  // revoked since it connected
  if (msg.type == proto::kRegister) {
    const std::string name = proto::decode_register(msg.body).host.name;
    if (name != holder->name) {
      spdlog::warn("keys: refused worker key {} registering as '{}': that key is {}'s", holder->name, name,
                   holder->name);
      return false;
    }
  }
  worker_keys_[rid] = user_id;
  return true;
}

std::vector<std::string> Security::revoked_workers() {
  std::vector<std::string> gone;
  if (!required_) return gone;
  keyring_->refresh();
  for (auto it = worker_keys_.begin(); it != worker_keys_.end();) {
    if (keyring_->holder(it->second)) {
      ++it;
      continue;
    }
    gone.push_back(it->first);
    it = worker_keys_.erase(it);
  }
  return gone;
}

bool Security::is_keys_request(const std::string& type) {
  return type == proto::kKeys || type == proto::kKeyAdd || type == proto::kKeyRevoke;
}

Json Security::handle_keys(const proto::Message& msg, const std::string& who, const std::set<std::string>& admins) {
  Keyring& ring = keyring();
  if (msg.type == proto::kKeys) return Json{{"keys", ring.to_json()}, {"required", required_}};
  if (!admins.count(who)) throw std::runtime_error("only an admin may add or revoke keys; " + who + " is not an admin");
  const std::string name = get_string(msg.body, "name");
  if (msg.type == proto::kKeyAdd) {
    const KeyHolder h = ring.add(kind_of(msg.body), name, get_string(msg.body, "key"));
    spdlog::info("keys: {} added the key of {} {}", who, to_string(h.kind), h.name);
    return Json{{"name", h.name}, {"kind", to_string(h.kind)}, {"key", h.public_key}};
  }
  const KeyHolder h = ring.revoke(kind_of(msg.body), name);
  spdlog::info("keys: {} revoked the key of {} {}", who, to_string(h.kind), h.name);
  return Json{{"name", h.name}, {"kind", to_string(h.kind)}, {"key", h.public_key}};
}

}  // namespace qube::supervisor
