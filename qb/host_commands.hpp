#pragma once
// qb's host and farm-resource commands (placement): hosts --long, lock, unlock,
// host set, resources, resource set. Kept apart from the job commands (job_commands.hpp).
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "qube/client.hpp"
#include "usage_error.hpp"

namespace qube::qb {

class HostCommands {
 public:
  // Adds the subcommands to `app`; `json` and `supervisor` are qb's shared options.
  HostCommands(CLI::App& app, bool& json, std::string& supervisor);
  // The subcommands, for qb's shared options.
  std::vector<CLI::App*> commands() const;
  // True if one of them was given.
  bool parsed() const;
  // Runs the one given; returns qb's exit code. Throws on a failed request.
  int run(Client& client) const;

 private:
  bool& json_;
  CLI::App *hosts_, *lock_, *unlock_, *host_, *host_set_, *resources_, *resource_, *resource_set_;
  bool long_ = false, purge_ = false, drain_ = false;
  std::vector<std::string> names_;
  std::string host_name_, cluster_, restrictions_, resource_name_;
  std::vector<std::string> groups_, properties_, resources_set_;
  long long total_ = 0;
};

}  // namespace qube::qb
