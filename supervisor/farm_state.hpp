#pragma once
// What the supervisor knows of jobs and hosts while it runs: each job with the
// counts and indexes kept beside its agenda, each running instance, each host
// with its placement facts, and the events they raise. Plain data: the rooms
// of the Farm (farm_*.cpp) and the Scheduler change it.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pending_set.hpp"
#include "placement/placer.hpp"
#include "qube/clock.hpp"
#include "qube/dependency.hpp"
#include "qube/json.hpp"
#include "qube/trigger.hpp"

namespace qube::supervisor {

struct RunningInstance {
  std::optional<std::size_t> item;  // the agenda item it holds (agenda jobs)
  // The item it runs next, asked for ahead: its worker keeps it until the
  // instance finishes `item`. Recorded running (so no one else takes it), it
  // starts when `item`'s result comes (Farm::on_work_result).
  std::optional<std::size_t> next;
  // The held item (index, attempt) a `revoke` was sent for (Farm::revoke_long_holds):
  // asked once per hold.
  std::optional<std::pair<std::size_t, std::uint64_t>> revoke_asked;
  bool began_held = false;          // `item` was `next`: it started without a fresh decision here
  bool ran_once = false;            // agenda-less jobs: the one run was handed out
  bool failed_run = false;          // agenda-less jobs: that run failed
  bool requested = false;           // it asked for work at least once
  // What it holds on its host, and the placement it was started under (a
  // later qb modify must not change what is given back when it ends).
  placement::Allocation allocation;
  std::shared_ptr<const placement::JobPlacement> placed;
  bool yielding = false;            // preempted: it ends after its current item
  std::uint64_t out_at = 0, err_at = 0;  // log sizes when its current item began
};

// A callback with its triggers parsed once.
struct CompiledCallback {
  Callback callback;
  Expr triggers;
};

inline constexpr std::size_t kWorkStatuses = static_cast<std::size_t>(WorkStatus::skipped) + 1;

struct JobState {
  Job job;
  // Indices of pending agenda items, and the number of items in each status. Both
  // are kept by Farm::set_item_status, the one place an item's status changes, so
  // that the job's status and progress cost O(1) per result instead of a scan of
  // the agenda (which made dispatching a job O(items^2)).
  PendingSet pending;
  std::array<std::size_t, kWorkStatuses> items_by_status{};
  std::size_t items(WorkStatus s) const { return items_by_status[static_cast<std::size_t>(s)]; }
  Progress progress() const;
  // The job's summary for `jobs` replies, encoded; empty until asked for, and
  // again once the job changes (see Farm::jobs_stored).
  std::string summary;
  std::map<std::int32_t, RunningInstance> running;  // by subid
  int startup_failures = 0;
  std::set<std::string> refused_by;           // hosts that said they will never run it (instance_done refused)
  std::vector<Dependency> deps;               // targets resolved to job ids
  std::vector<CompiledCallback> callbacks;
  bool waits_on_jobs = false;                 // a job-level dependency is not yet satisfied
  // Placement wishes compiled once (requirements, reservations ...).
  std::shared_ptr<const placement::JobPlacement> placement;
  // Submitted with more items than one round stores: it runs once they are all
  // stored (Effects::fresh_agendas), so that nothing runs of a job not yet durable.
  bool storing = false;
  bool indexed = false;                       // in the placer's pending index
  bool indexed_growth = false;                // ... as growing past --cpus
  // Its --preexec (farm_hooks.cpp): none stands in the way of its instances; due
  // (not yet run, or failed and owed again on a retry) or running: none starts.
  enum class Preexec : std::uint8_t { none, due, running } preexec = Preexec::none;
  // Bad hosts and auto-wrangling (farm_bad_hosts.cpp); kept in memory only: a
  // restart starts the counts afresh (the exclusions themselves are stored).
  std::map<std::string, int> failed_in_a_row;  // by host, reset by a success there
  std::size_t attempts_failed = 0, attempts_complete = 0;  // since it was last blocked for its failure rate
  // Items killed for memory near their host's: they run only on hosts with more
  // than this many MB (item index -> MB).
  std::map<std::size_t, std::uint64_t> memory_floor_mb;
  bool bad_host(const std::string& host) const;
  // It refused the job, or is a bad host for it: none of its work goes there.
  bool excludes(const std::string& host) const { return refused_by.count(host) > 0 || bad_host(host); }
};

// A shell, python or mail callback for the runner, off the event loop.
struct ScriptRun {
  JobId job = 0;
  std::string owner;  // the user of the job the callback belongs to: whom it runs as (run_as_owner)
  std::string language;
  std::string code;
  std::string triggers;
  std::map<std::string, std::string> env;  // QBJOBID QBEVENT QBSTATUS QBWORKNAME ...
  Json event;                              // the event, for the mail text
  std::string hook;                        // "preexec" or "postexec" (docs/usage.md "Hooks"); empty: a callback
};

// How a script ended, for the job's history (and, for a preexec, its fate).
struct ScriptOutcome {
  JobId job = 0;
  std::string text;
  std::string hook;        // as in its ScriptRun
  bool succeeded = false;  // it ran and exited 0
};

struct HostRecord {
  Host host;
  placement::HostFacts facts;  // what placement knows: facts and current load
  Json registered_facts;       // as the worker registered them (worker.yaml, detection)
  std::string routing_id;
  SteadyTime last_seen;  // when it was last heard from
  std::set<std::pair<JobId, std::int32_t>> instances;
  // Why the farm suspects it (several jobs excluded it as a bad host); empty:
  // not suspect. The admin's settings keep it (HostAdmin); qb unlock clears it.
  std::string suspect;
  bool draining = false;  // qb lock --drain or stopping: its instances get no new item
  bool stopping = false;  // its worker is stopping and letting its items finish (qbworker --drain)
  // What `qb hosts` shows as used follows from placement's load of the host.
  void count_slots_used() { host.slots_used = facts.slots_total - facts.slots_free; }
};

// Something that happened to a job, one of its items or instances: a line of the
// job's history (`qb history`) and what callbacks and dependencies react to.
struct FarmEvent {
  JobId job = 0;
  double time = 0;
  std::string name;       // submit running complete failed killed blocked unblocked modified retried ...
  std::string type;       // job, work or subjob
  std::string work;       // the item's name, for work events
  std::int32_t subid = -1;
  std::string host;
  std::string who;        // the user who caused it, if a user did
  std::string text;       // for people: "item 7 failed on node3: exit 1"
  bool history = true;    // kept in the job's history (a frame completing is not)
};
Json to_json(const FarmEvent& e);
// "exit 1", "killed by signal 9, out of memory": how an attempt ended, in words.
std::string outcome_text(const AgendaItem& item);

// What the supervisor's configuration says about users.
struct FarmPolicy {
  std::set<std::string> admins;  // may steer any job and submit for others
  std::vector<Callback> site_callbacks;  // attached to every job (Qube's universal callbacks)
  // Placement.
  placement::PlacerConfig placer;        // fair share, running caps
  std::map<std::string, std::int64_t> global_resources;  // license.nuke: 20
  enum class Preemption { passive, aggressive, disabled } preemption = Preemption::passive;
  // Bad hosts and auto-wrangling (docs/usage.md, "Bad hosts and auto-wrangling").
  struct Wrangling {
    int bad_host_threshold = 3;         // a job's items failed in a row on a host before it is excluded (0: off)
    int suspect_host_jobs = 3;          // jobs excluding one host within the window that make it suspect (0: off)
    double suspect_host_window = 3600;  // seconds
    bool suspect_host_lock = false;     // a suspect host is locked too
    double max_failure_rate = 0;        // failed / finished attempts that block a job (0: off)
    int failure_rate_min_items = 10;    // finished attempts before the rate counts
  } wrangling;
};

}  // namespace qube::supervisor
