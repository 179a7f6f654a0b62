#include "run_as.hpp"

namespace qube::worker {

RunAsDecision decide_run_as(const Config& config, const std::string& owner, const Account& me,
                            const std::string& host) {
  const RunAs mode = config.run_as.value_or(RunAs::self);
  if (mode == RunAs::self) return std::optional<Account>{};
  const std::string& name = mode == RunAs::proxy ? config.proxy_user : owner;
  if (name.empty()) return RunAsRefusal{"the job has no user to run as (run_as: owner)"};
  std::optional<Account> target;
  try {
    target = lookup_account(name, host);
  } catch (const AccountError& e) {
    return RunAsRefusal{e.what()};
  }
  const std::string mode_text = std::string("run_as: ") + to_string(mode);
  if (target->uid == 0 && !config.allow_root_jobs)
    return RunAsRefusal{"jobs that run as root (user '" + name + "', uid 0) are refused on " + host +
                        " (allow_root_jobs is off)"};
  if (target->uid == me.uid) return std::optional<Account>{};  // already that user
  if (!can_become(me, *target))
    return RunAsRefusal{"worker " + host + " runs as '" + me.name + "', not root: it cannot run jobs as '" + name +
                        "' (" + mode_text + ")"};
  return target;
}

}  // namespace qube::worker
