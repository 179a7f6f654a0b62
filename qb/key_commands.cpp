#include "key_commands.hpp"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "qube/curve.hpp"
#include "qube/keys.hpp"
#include "qube/protocol.hpp"
#include "usage_error.hpp"

namespace qube::qb {

namespace {

// The login of whoever runs qb: the name a user's key is made for. Not $QB_USER,
// which a key makes irrelevant.
std::string login_name() {
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  throw std::runtime_error("cannot tell who you are (no passwd entry for uid " + std::to_string(geteuid()) + ")");
}

// A key given on the command line: a certificate file's text, or the key itself.
std::string key_argument(const std::string& given) {
  std::error_code ec;
  if (given.size() != 40 && std::filesystem::is_regular_file(given, ec)) {
    std::ifstream in(given);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  return given;
}

}  // namespace

KeyCommands::KeyCommands(CLI::App& app, bool& json) : json_(json) {
  keys_ = app.add_subcommand("keys", "CURVE keys: make yours, and (admins) the keys the supervisor accepts");
  keys_->require_subcommand(1);
  init_ = keys_->add_subcommand("init", "make your key pair (~/.config/qube, or $QB_KEYS), or a worker's");
  init_->add_option("--worker", worker_, "make the key pair of the worker NAME instead (in <prefix>/etc/qube/keys)");
  init_->add_option("--dir", dir_, "where to write the key files");
  init_->add_option("--supervisor-key", supervisor_key_, "also keep the supervisor's public key (a key or a file)");
  init_->add_flag("--force", force_, "replace an existing key pair");
  list_ = keys_->add_subcommand("list", "the keys the supervisor accepts");
  add_ = keys_->add_subcommand("add", "accept a user's (or --worker's) public key (admins)");
  add_->add_flag("--worker", worker_flag_, "NAME is a worker");
  add_->add_option("name", name_, "user or worker name")->required();
  add_->add_option("key", key_, "the public key (40 characters), or its key file")->required();
  revoke_ = keys_->add_subcommand("revoke", "stop accepting NAME's key (admins)");
  revoke_->add_flag("--worker", worker_flag_, "NAME is a worker");
  revoke_->add_option("name", name_, "user or worker name")->required();
  token_ = keys_->add_subcommand("token", "issue your HTTP API token (shown once), or (admins) another user's");
  auto* for_user = token_->add_option("--user", token_user_, "issue NAME's token instead of yours (admins)");
  token_->add_option("--revoke", token_revoke_, "revoke NAME's token instead (yours, or any as an admin)")
      ->excludes(for_user);
}

std::vector<CLI::App*> KeyCommands::commands() const { return {init_, list_, add_, revoke_, token_}; }

bool KeyCommands::parsed() const { return keys_->parsed(); }

std::optional<int> KeyCommands::run_local() const {
  if (!init_->parsed()) return std::nullopt;
  const bool worker = !worker_.empty();
  const std::filesystem::path dir =
      !dir_.empty() ? std::filesystem::path(dir_) : worker ? curve::default_daemon_key_dir() : curve::user_key_dir();
  const std::string name = worker ? worker_ : login_name();
  const auto stem = dir / (worker ? curve::kWorkerKeyStem : curve::kUserKeyStem);
  std::error_code ec;
  if (std::filesystem::exists(keys::secret_path(stem), ec) && !force_)
    throw std::runtime_error(keys::secret_path(stem).string() + " exists already (--force replaces it)");
  if (!supervisor_key_.empty()) {
    keys::KeyFile server;
    server.public_key = keys::parse_key_file(key_argument(supervisor_key_)).public_key;
    server.metadata["name"] = "supervisor";
    keys::write_key_files(dir / curve::kSupervisorKeyFile, server, false);
  }
  const keys::KeyFile key = keys::generate(name);
  keys::write_key_files(stem, key, true);
  if (json_) {
    std::cout << Json{{"name", name}, {"kind", worker ? "worker" : "user"}, {"key", key.public_key},
                      {"file", keys::secret_path(stem).string()}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << "made " << keys::secret_path(stem).string() << " (secret, mode 0600) and " << stem.string() << "\n"
            << "public key: " << key.public_key << "\n"
            << "an admin lets it in with:\n  qb keys add " << (worker ? "--worker " : "") << name << " '"
            << key.public_key << "'\n";
  if (!std::filesystem::exists(dir / curve::kSupervisorKeyFile, ec))
    std::cout << "this " << (worker ? "worker" : "client") << " also needs the supervisor's public key in "
              << (dir / curve::kSupervisorKeyFile).string() << " (--supervisor-key)\n";
  return 0;
}

int KeyCommands::run(Client& client) const {
  if (list_->parsed()) {
    const Json reply = client.request(proto::kKeys, Json::object());
    if (json_) {
      std::cout << get_array(reply, "keys").dump(2) << "\n";
      return 0;
    }
    std::cout << "keys " << (get_bool(reply, "required") ? "required" : "not required (plaintext)") << "\n";
    std::cout << std::left << std::setw(8) << "KIND" << std::setw(24) << "NAME" << "KEY\n";
    for (const auto& k : get_array(reply, "keys"))
      std::cout << std::setw(8) << get_string(k, "kind") << std::setw(24) << get_string(k, "name")
                << get_string(k, "key") << "\n";
    return 0;
  }
  if (token_->parsed()) return run_token(client);
  const bool adding = add_->parsed();
  Json body{{"name", name_}, {"worker", worker_flag_}, {"user", current_user()}};
  if (adding) body["key"] = key_argument(key_);
  const Json reply = client.request(adding ? proto::kKeyAdd : proto::kKeyRevoke, body);
  if (json_) std::cout << Json{{"name", reply["name"]}, {"kind", reply["kind"]}, {"key", reply["key"]}}.dump(2) << "\n";
  else std::cout << (adding ? "added " : "revoked ") << get_string(reply, "kind") << " " << get_string(reply, "name")
                 << "'s key\n";
  return 0;
}

int KeyCommands::run_token(Client& client) const {
  const bool revoking = !token_revoke_.empty();
  Json body{{"user", current_user()}};
  if (revoking) body["name"] = token_revoke_;
  else if (!token_user_.empty()) body["name"] = token_user_;
  const Json reply = client.request(revoking ? proto::kTokenRevoke : proto::kTokenIssue, body);
  if (json_) std::cout << reply.dump(2) << "\n";
  else if (revoking) std::cout << "revoked " << get_string(reply, "name") << "'s API token\n";
  else {
    // The token alone on stdout, for T=$(qb keys token); the note for people on stderr.
    std::cout << get_string(reply, "token") << "\n";
    std::cerr << "(" << get_string(reply, "name") << "'s API token: shown this once; it replaces any earlier one. "
                 << "Send it as 'Authorization: Bearer TOKEN'.)\n";
  }
  return 0;
}

}  // namespace qube::qb
