#pragma once
// qb's admin commands: `qb admin quarantine` lists the stored rows the
// supervisor could not load and moved aside (docs/operations.md); `qb admin
// status` says which supervisor is active, its epoch, the store and the
// standbys (docs/high-availability.md).
#include <vector>

#include <CLI/CLI.hpp>

#include "qube/client.hpp"

namespace qube::qb {

class AdminCommands {
 public:
  AdminCommands(CLI::App& app, bool& json);
  // The subcommands, for qb's shared options.
  std::vector<CLI::App*> commands() const { return {quarantine_, status_}; }
  bool parsed() const { return quarantine_->parsed() || status_->parsed(); }
  int run(Client& client) const;

 private:
  int quarantine(Client& client) const;
  int status(Client& client) const;

  bool& json_;
  CLI::App *admin_, *quarantine_, *status_;
};

}  // namespace qube::qb
