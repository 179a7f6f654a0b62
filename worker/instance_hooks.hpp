#pragma once
// The job's worker-side hooks (--preflights --postflights --agenda_preflights
// --agenda_postflights, docs/usage.md "Hooks"), run by qbinstance rather than
// by the job type, so that every job type has them. Each is one shell command,
// run as the job's processes are: the same user (qbinstance already runs as
// it), environment and working directory, its output into the instance's log
// (into the item's, for the agenda hooks).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qube/process.hpp"

namespace qube::worker {

struct HookFailure {
  std::string reason;  // "preflight 'test -d /show' exited with code 1"
  int exitcode = 1;    // the hook's (128+signal if killed, 127 if it could not start)
};

// Runs `commands` in order with /bin/sh -c. A preflight (stop_at_failure)
// stops at the first that fails; a postflight runs them all. Each failure is
// also written to the log's err stream. Returns the first failure, if any.
std::optional<HookFailure> run_hooks(const std::string& kind, const std::vector<std::string>& commands,
                                     const std::map<std::string, std::string>& env, const std::string& cwd,
                                     const OutputSink& sink, bool stop_at_failure);

}  // namespace qube::worker
