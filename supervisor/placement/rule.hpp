#pragma once
// One placement rule: a small class behind one interface (after Ray's
// scheduling policies), testable alone. The matcher asks each in turn.
#include <span>
#include <string>
#include <string_view>

#include "placement/global_resources.hpp"
#include "placement/host_facts.hpp"
#include "placement/job_placement.hpp"

namespace qube::placement {

using HostList = std::span<const HostFacts* const>;

class Rule {
 public:
  virtual ~Rule() = default;
  virtual std::string_view name() const = 0;

  // Static rules look only at what a host is (type, groups, cluster, OS ...);
  // the others also at what it is doing now (free slots, memory, duty). An
  // explanation tells "no host could ever" from "all are busy" by this.
  virtual bool is_static() const = 0;
  // True if two jobs of the same shape may get different answers on one host
  // (requirements reading job.*, the host's restrictions on the job's cluster).
  virtual bool per_job(const JobPlacement&) const { return false; }
  // Rules that only explain (they are implied by others) are skipped by can_run.
  virtual bool explain_only() const { return false; }

  virtual bool ok(const JobPlacement& job, const HostFacts& host, const GlobalResources& globals) const = 0;
  // Why `job` cannot run on `host` now, in words. Called only when !ok.
  virtual std::string why(const JobPlacement& job, const HostFacts& host, const GlobalResources& globals) const = 0;
  // Why no host of `hosts` passes this rule ("no host offers job type 'maya'").
  // `hosts` are the ones that passed the rules before it. Called only when
  // none of them passes.
  virtual std::string none(const JobPlacement& job, HostList hosts, const GlobalResources& globals) const;
};

}  // namespace qube::placement
