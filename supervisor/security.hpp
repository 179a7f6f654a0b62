#pragma once
// Who may talk to the supervisor, and who they are (docs/security.md). Without
// keys, both sockets are plaintext, a request's user is what it claims, and only
// loopback may be bound unless the config says `insecure`. With keys required,
// both sockets are CURVE servers, the Gatekeeper admits only keys the Keyring
// holds, and a request's user is the holder of the key that sent it: whatever
// user the request names is replaced before the Farm sees it.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <zmq.hpp>

#include "config.hpp"
#include "gatekeeper.hpp"
#include "keyring.hpp"
#include "qube/protocol.hpp"

namespace qube::supervisor {

class Security {
 public:
  // Checks the endpoints against the key settings (throws std::runtime_error on
  // a public endpoint without keys and without `insecure`), and with keys
  // required makes the supervisor's key pair if it has none, turns CURVE on for
  // both sockets and starts the ZAP handler. Call before the sockets are bound.
  Security(const Config& config, zmq::context_t& ctx, zmq::socket_t& workers, zmq::socket_t& clients);
  ~Security();

  bool keys_required() const { return required_; }

  // The user a client's request comes from: with keys, its key's holder (nullopt:
  // the key is no longer held; refuse it), and the request's user fields are
  // replaced by that name. Without keys, the name the request claims.
  std::optional<std::string> authenticate_client(const std::string& user_id, proto::Message& msg) const;
  // The same in two halves, for a request whose body is decoded elsewhere: the
  // key's holder before (nullopt: refuse; "" without keys: the claim decides) ...
  std::optional<std::string> key_holder(const std::string& user_id) const;
  // ... and, once the body is decoded, the request made the holder's; who asks.
  static std::string as_asker(proto::Message& msg, const std::string& holder);
  // Makes `msg` a request of `name`, as a key's holder: the user of a request
  // that changes something, and of the jobs a submission names for its submitter.
  // Also for the HTTP API, whose token holders are proven as a key's are.
  static void stamp_user(proto::Message& msg, const std::string& name);
  // Requests that only read: in them `user` is a filter (qb jobs --user bob), not who asks.
  static bool is_read_only(const std::string& type);
  // Whether a worker's message may be handled: with keys, its key must be a
  // worker's, and a registration must be under the key's own name. Remembers
  // which key each worker connection uses, for revocation.
  bool admit_worker(const std::string& rid, const std::string& user_id, const proto::Message& msg);
  // The worker connections whose keys are no longer held (rereading the key
  // directories if they changed); each is returned once.
  std::vector<std::string> revoked_workers();

  // qb keys list / add / revoke. Adding and revoking are for admins.
  Json handle_keys(const proto::Message& msg, const std::string& who, const std::set<std::string>& admins);
  // Whether `type` is one of the requests handle_keys answers.
  static bool is_keys_request(const std::string& type);

 private:
  // The key files, read at the start with keys required, else at the first `qb
  // keys` request (a farm's keys are set up before it requires them).
  Keyring& keyring();

  bool required_ = false;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<Gatekeeper> gatekeeper_;  // only with keys required
  std::map<std::string, std::string> worker_keys_;  // routing id -> public key
  std::filesystem::path keys_dir_;
};

}  // namespace qube::supervisor
