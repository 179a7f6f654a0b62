#pragma once
// qb's admin commands: `qb admin quarantine` lists the stored rows the
// supervisor could not load and moved aside (docs/operations.md).
#include <vector>

#include <CLI/CLI.hpp>

#include "qube/client.hpp"

namespace qube::qb {

class AdminCommands {
 public:
  AdminCommands(CLI::App& app, bool& json);
  // The subcommands, for qb's shared options.
  std::vector<CLI::App*> commands() const { return {quarantine_}; }
  bool parsed() const { return quarantine_->parsed(); }
  int run(Client& client) const;

 private:
  bool& json_;
  CLI::App *admin_, *quarantine_;
};

}  // namespace qube::qb
