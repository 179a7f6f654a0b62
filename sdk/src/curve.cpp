#include "qube/curve.hpp"

#include <cstdlib>

#include "qube/paths.hpp"

namespace qube::curve {

namespace {

// libzmq 4.3 has it, but only declares it in its draft API.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
constexpr int ZMQ_ZAP_ENFORCE_DOMAIN = 93;
#endif

}  // namespace

void make_server(zmq::socket_t& socket, const keys::KeyFile& own, const std::string& domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
  socket.set(zmq::sockopt::zap_domain, domain);
  const int enforce = 1;
  if (zmq_setsockopt(socket.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce) != 0)
    throw zmq::error_t();
}

void make_client(zmq::socket_t& socket, const ClientKeys& k) {
  socket.set(zmq::sockopt::curve_serverkey, k.server_key);
  socket.set(zmq::sockopt::curve_publickey, k.own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, k.own.secret_key);
}

std::optional<ClientKeys> find_client_keys(const std::filesystem::path& own_dir, const std::string& stem,
                                           const std::vector<std::filesystem::path>& server_key_dirs) {
  std::optional<std::filesystem::path> server_file;
  for (const auto& dir : server_key_dirs) {
    std::error_code ec;
    if (std::filesystem::exists(dir / kSupervisorKeyFile, ec)) {
      server_file = dir / kSupervisorKeyFile;
      break;
    }
  }
  if (!server_file) return std::nullopt;
  ClientKeys k;
  k.server_key = keys::read_key_file(*server_file, false).public_key;
  k.own_file = keys::secret_path(own_dir / stem);
  std::error_code ec;
  if (!std::filesystem::exists(k.own_file, ec))
    throw keys::KeyFileError("the supervisor's key " + server_file->string() + " says this farm uses keys, but " +
                             k.own_file.string() + " does not exist (make it with `qb keys init`)");
  k.own = keys::read_key_file(k.own_file, true);
  return k;
}

std::filesystem::path user_key_dir() {
  if (const char* d = std::getenv("QB_KEYS"); d && *d) return d;
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".config/qube";
  return ".config/qube";
}

std::filesystem::path default_daemon_key_dir() { return default_config_dir() / "keys"; }

std::optional<ClientKeys> user_client_keys() {
  const auto own = user_key_dir();
  std::vector<std::filesystem::path> server_dirs{own};
  // With $QB_KEYS set, that directory alone decides (tests, service accounts).
  if (!std::getenv("QB_KEYS")) server_dirs.push_back(default_daemon_key_dir());
  return find_client_keys(own, kUserKeyStem, server_dirs);
}

bool is_loopback_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return true;
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  std::string host = endpoint.substr(6);
  if (const auto colon = host.rfind(':'); colon != std::string::npos) host = host.substr(0, colon);
  if (host == "localhost" || host == "[::1]" || host == "::1") return true;
  return host.rfind("127.", 0) == 0;
}

}  // namespace qube::curve
