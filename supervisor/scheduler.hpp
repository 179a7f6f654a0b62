#pragma once
// Who gets a free slot, in one place: the queue of jobs that want another
// instance, the placement calls that pick a job for a free host, preemption
// (passive: an instance yields after its item; aggressive: it is stopped),
// fair-share yields between users at equal priority, which pending item an
// instance runs next, and why a job still waits. The placement library
// (placement/) holds the rules; this file is the policy that applies them.
// The Farm owns jobs and hosts and carries out what the scheduler decides
// (through Scheduler::Actions); the scheduler never sends or stores anything.
#include <map>
#include <optional>
#include <set>
#include <string>

#include "farm_state.hpp"
#include "placement/order.hpp"
#include "placement/placer.hpp"

namespace qube::supervisor {

class Scheduler {
 public:
  // What the farm does when the scheduler decides.
  class Actions {
   public:
    virtual void start_instance(JobState& js, HostRecord& host, const placement::Allocation& allocation) = 0;
    // Stops a lower-priority instance for urgent work (aggressive preemption).
    virtual void preempt_instance(JobState& victim, std::int32_t subid, const std::string& reason) = 0;
    // Records why a job still waits ("waiting for license.nuke (1/1 in use)").
    virtual void explain_wait(JobState& js, std::string reason) = 0;

   protected:
    ~Actions() = default;
  };

  Scheduler(std::map<JobId, JobState>& jobs, std::map<std::string, HostRecord>& hosts)
      : jobs_(jobs), hosts_(hosts) {}
  void configure(const FarmPolicy& policy);

  // Compiles the job's placement wishes into js.placement; throws
  // std::runtime_error naming the field (or a license the farm lacks).
  void compile(JobState& js) const;

  // --- The queue. A job is in it while it wants another instance; a job's
  // place follows from its priority and rank, so a change to either goes
  // through reorder(), never by hand.
  void requeue(JobState& js);  // after anything that may change whether it wants one
  void unqueue(JobState& js);  // it ends, is removed, or is about to be re-keyed
  template <class Change>
  void reorder(JobState& js, Change&& change) {
    unqueue(js);
    change();
    requeue(js);
  }

  // --- A pass: starts instances on hosts with free slots, best job first;
  // preempts (aggressive) and explains what still waits.
  bool needed() const { return needed_; }
  void need() { needed_ = true; }
  void pass(Actions& farm, WallTime now, SteadyTime steady);

  // --- An instance between items.
  // Whether it should yield its slot, after its item, to more urgent work
  // (passive preemption) or to another user's job under fair share.
  bool should_yield(const JobState& js, const RunningInstance& run, const HostRecord& host, WallTime now) const;
  // Whether a host other than `host`, up and not excluded, could run the job as
  // it is (type, --hosts, requirements ...), whatever runs there now, and each
  // of its waiting items that avoids some hosts.
  bool runnable_elsewhere(const JobState& js, const std::string& host) const;
  // The pending item it should run next, if any may run on its host now.
  std::optional<std::size_t> next_item(const JobState& js, std::int32_t subid) const;

  // --- Hosts' load, as instances start and end.
  void started(JobState& js, HostRecord& host, const placement::Allocation& allocation, WallTime now);
  void ended(const RunningInstance& run, HostRecord& host, WallTime now);
  // Re-applies what runs on a host to freshly built facts (after qb host set).
  void occupy(placement::HostFacts& facts, const HostRecord& host) const;

  // --- Explanations.
  std::string explain(const JobState& js) const;  // why a pending job cannot start
  bool offered(const std::string& type) const;    // by a host that is not down

  // Farm-wide resources and licenses (qb resources / qb resource set).
  placement::GlobalResources& globals() { return placer_.globals(); }
  const placement::GlobalResources& globals() const { return placer_.globals(); }

 private:
  // The queue's order is the placement policy's, without the terms that
  // depend on a host (cluster, growth) or on the moment (fair share).
  struct FarmWideOrder {
    bool operator()(const placement::OrderKey& a, const placement::OrderKey& b) const {
      return placement::order::Chain<placement::order::by_priority, placement::order::by_rank,
                                     placement::order::by_id>::before(a, b);
    }
  };
  static placement::OrderKey key_of(const JobState& js);
  bool wants_instance(const JobState& js) const;
  bool item_fits_host(const JobState& js, std::size_t index, const std::string& host) const;
  bool has_work_for_host(const JobState& js, const std::string& host) const;
  bool preferred_host_free(const JobState& js, const HostRecord& here) const;
  void place(Actions& farm, WallTime now);
  void preempt(Actions& farm, SteadyTime now);
  void explain_waiting(Actions& farm);
  bool fits_if_vacated(const JobState& urgent, const JobState& victim, const RunningInstance& run,
                       const HostRecord& h) const;

  std::map<JobId, JobState>& jobs_;
  std::map<std::string, HostRecord>& hosts_;
  FarmPolicy::Preemption preemption_ = FarmPolicy::Preemption::passive;
  placement::Placer placer_;
  std::set<placement::OrderKey, FarmWideOrder> queue_;  // jobs that want another instance
  std::set<JobId> unexplained_;  // waiting jobs whose reason is not yet written
  int zero_slot_jobs_ = 0;       // indexed jobs that need no slot (host.processors=0)
  SteadyTime last_preempt_;      // the last aggressive look
  bool needed_ = false;
};

}  // namespace qube::supervisor
