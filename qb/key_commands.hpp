#pragma once
// qb keys: make one's key pair (init, on this host, no supervisor needed), and the
// admin's list / add / revoke of the keys the supervisor accepts (docs/security.md),
// and HTTP API tokens (qb keys token, docs/http-api.md).
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "qube/client.hpp"

namespace qube::qb {

class KeyCommands {
 public:
  KeyCommands(CLI::App& app, bool& json);
  // The subcommands, for qb's shared options.
  std::vector<CLI::App*> commands() const;
  bool parsed() const;
  // `qb keys init` works on local files only: its exit code; nullopt for the
  // commands that need the supervisor (run them with run()).
  std::optional<int> run_local() const;
  int run(Client& client) const;

 private:
  int run_token(Client& client) const;
  bool& json_;
  CLI::App *keys_, *init_, *list_, *add_, *revoke_, *token_;
  std::string token_user_, token_revoke_;
  std::string name_, key_, dir_, supervisor_key_, worker_;
  bool worker_flag_ = false, force_ = false;
};

}  // namespace qube::qb
