#pragma once
// CurveZMQ on our sockets: which keys a daemon or a client uses, and the socket
// options that turn encryption and authentication on. docs/security.md says where
// the key files live and how a farm is set up.
#include <filesystem>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "qube/keys.hpp"

namespace qube::curve {

// The public key of the supervisor, in the key directories of daemons and users.
inline constexpr const char* kSupervisorKeyFile = "supervisor.key";
// A user's own key pair in ~/.config/qube (or $QB_KEYS): user.key, user.key_secret.
inline constexpr const char* kUserKeyStem = "user.key";
// A worker's key pair in its key directory: worker.key, worker.key_secret.
inline constexpr const char* kWorkerKeyStem = "worker.key";

// What a CURVE client needs: its own key pair and the server's public key.
struct ClientKeys {
  keys::KeyFile own;
  std::string server_key;
  std::filesystem::path own_file;  // where `own` was read from, for messages
};

// A ROUTER that only CURVE clients can talk to, each one checked by the ZAP
// handler of its context under `domain` (ZMQ_ZAP_ENFORCE_DOMAIN: no handler, no entry).
void make_server(zmq::socket_t& socket, const keys::KeyFile& own, const std::string& domain);
// A socket that talks CURVE to the server whose public key `keys` names.
void make_client(zmq::socket_t& socket, const ClientKeys& keys);

// The keys of a client whose own pair is `<own_dir>/<stem>_secret`, talking to the
// server whose public key is the first `supervisor.key` found in `server_key_dirs`.
// nullopt when no server key is found (the link is plaintext); throws
// keys::KeyFileError when the server key is there but no usable key of its own,
// since such a server refuses plaintext anyway, and saying so beats a timeout.
std::optional<ClientKeys> find_client_keys(const std::filesystem::path& own_dir, const std::string& stem,
                                           const std::vector<std::filesystem::path>& server_key_dirs);

// A user's key directory: $QB_KEYS, else ~/.config/qube.
std::filesystem::path user_key_dir();
// Daemons' keys: <prefix>/etc/qube/keys.
std::filesystem::path default_daemon_key_dir();
// The keys qbsub and qb use: the user's own pair, and the supervisor's key from
// the user's directory or the installation's.
std::optional<ClientKeys> user_client_keys();

// Whether an endpoint can be reached only from this host: tcp on 127.0.0.0/8,
// localhost or ::1, or ipc/inproc. A wildcard or any other address is public.
bool is_loopback_endpoint(const std::string& endpoint);

}  // namespace qube::curve
