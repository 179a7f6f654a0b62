#pragma once
// The worker's decision, before it starts an instance, of which account the
// instance runs as: from run_as (owner, proxy, self), the job's owner and what
// this host's user database and this daemon's rights allow. A refusal is about
// this host (the user does not exist here, root jobs are not allowed here, this
// worker cannot switch users), so the supervisor does not retry the job here.
#include <optional>
#include <string>
#include <variant>

#include "config.hpp"
#include "qube/account.hpp"

namespace qube::worker {

// Why this host will not run the job.
struct RunAsRefusal {
  std::string reason;
};

// The account to switch to; nullopt: stay this daemon's user.
using RunAsDecision = std::variant<std::optional<Account>, RunAsRefusal>;

// `owner`: the job's user; `me`: this daemon's account; `host`: this worker's
// name, for the reasons.
RunAsDecision decide_run_as(const Config& config, const std::string& owner, const Account& me,
                            const std::string& host);

}  // namespace qube::worker
