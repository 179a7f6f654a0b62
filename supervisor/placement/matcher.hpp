#pragma once
// Whether a job can run on a host, and why not: the rules of rules.hpp asked
// in order. can_run is the scheduler's hot path (no strings unless asked);
// explain answers "why can't this job start" for `qb show`.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "placement/rule.hpp"

namespace qube::placement {

struct Verdict {
  bool ok = true;
  std::string_view rule;  // the rule that said no
  std::string reason;     // in words; filled by why_not only
};

// Which rules to ask. Jobs of one shape get the same answer from the `shape`
// rules on a host, so the pending index asks those once per shape; the `job`
// rules (requirements reading job.*, host restrictions) per job.
enum class Scope : unsigned char { all, shape, job };

class Matcher {
 public:
  Matcher();  // default_rules()
  explicit Matcher(std::vector<std::unique_ptr<Rule>> rules);

  Verdict can_run(const JobPlacement& job, const HostFacts& host, const GlobalResources& globals,
                  Scope scope = Scope::all) const;
  // As can_run, with the reason in words ("render3 has 2 free slots, needs 4").
  Verdict why_not(const JobPlacement& job, const HostFacts& host, const GlobalResources& globals) const;

  // Why the job cannot start anywhere now: the first rule no host passes,
  // asked of the hosts that passed the rules before it, the static rules
  // (what hosts are) before the load-dependent ones (what they are doing).
  // "no host matches requirements: 0 of 12 hosts have host.gpu>=1",
  // "waiting for license.nuke (20/20 in use)", "waiting for a free slot (3
  // hosts can run it, all busy)". Empty if it can start on some host now.
  std::string explain(const JobPlacement& job, HostList hosts, const GlobalResources& globals) const;

  const std::vector<std::unique_ptr<Rule>>& rules() const { return rules_; }

 private:
  bool asked(const Rule& r, const JobPlacement& job, Scope scope) const;
  std::vector<std::unique_ptr<Rule>> rules_;
};

}  // namespace qube::placement
