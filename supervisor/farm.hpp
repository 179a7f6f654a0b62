#pragma once
// The supervisor's in-memory model and every state transition of jobs, agenda
// items, instances and hosts. No sockets here: transitions mark what must be
// stored (dirty sets) and queue what must be sent (outbox); the server commits the
// one and then sends the other, so nothing is acted on before it is durable.
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "order.hpp"
#include "placement/placer.hpp"
#include "qube/dependency.hpp"
#include "qube/protocol.hpp"
#include "qube/trigger.hpp"
#include "pending_set.hpp"

namespace qube::supervisor {

struct RunningInstance {
  std::optional<std::size_t> item;  // the agenda item it holds (agenda jobs)
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

// Instances of one job that may end without ever asking for work (a module that
// will not load, a missing executable) before the job fails instead of looping.
inline constexpr int kMaxStartupFailures = 3;

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
  std::vector<Dependency> deps;               // targets resolved to job ids
  std::vector<CompiledCallback> callbacks;
  bool waits_on_jobs = false;                 // a job-level dependency is not yet satisfied
  // Placement wishes compiled once (requirements, reservations ...).
  std::shared_ptr<const placement::JobPlacement> placement;
  bool indexed = false;                       // in the placer's pending index
  bool indexed_growth = false;                // ... as growing past --cpus
};

// A shell, python or mail callback for the runner, off the event loop.
struct ScriptRun {
  JobId job = 0;
  std::string language;
  std::string code;
  std::string triggers;
  std::map<std::string, std::string> env;  // QBJOBID QBEVENT QBSTATUS QBWORKNAME ...
  Json event;                              // the event, for the mail text
};

struct HostRecord {
  Host host;
  placement::HostFacts facts;  // what placement knows: facts and current load
  Json registered_facts;       // as the worker registered them (worker.yaml, detection)
  std::string routing_id;
  double last_seen = 0;  // steady clock seconds
  std::set<std::pair<JobId, std::int32_t>> instances;
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
};

struct Outgoing {
  std::string routing_id;  // empty: a client reply whose routing id is in `client`
  bool to_client = false;
  proto::Message msg;
};

class Farm {
 public:
  // Throws std::runtime_error for a site callback whose triggers do not parse.
  void set_policy(FarmPolicy policy);

  // Rebuilds the model from the store. Work that was running when the previous
  // supervisor stopped goes back to pending: its workers re-register and are
  // told to drop it, and a late result carries a stale attempt id.
  void restore(std::vector<Job> jobs, JobId max_stored_id = 0);
  // The admin's farm settings (host locks and changes, resource totals) as the
  // store keeps them. Restored before the jobs, whose reservations may name a
  // resource an admin added. `settings_changed` is set when they must be stored.
  Json farm_settings() const;
  void restore_farm_settings(const Json& settings);
  bool settings_changed = false;

  // Client requests. Each returns the reply body or throws std::runtime_error.
  Json submit(const Json& body);
  // The summaries of the jobs asked for, as one encoded MessagePack array. A job's
  // summary is encoded once and kept until the job changes: a listing of 10,000
  // jobs rebuilt every summary's Json tree every time (docs/performance.md).
  std::string list_jobs(const Json& body);
  Json show_job(const Json& body) const;
  // qb hosts; with body.long the placement facts of each host too.
  Json list_hosts(const Json& body = Json::object()) const;
  // qb lock / qb unlock (admins): a locked host takes no new work; with
  // body.purge its running work is stopped and goes back to pending.
  Json lock_hosts(const Json& body, bool lock);
  // qb host set (admins): changes a running worker's groups, properties and
  // resources without restarting it; kept across its re-registrations.
  Json set_host_facts(const Json& body);
  // qb resources / qb resource set (admins).
  Json list_resources() const;
  Json set_resource(const Json& body);
  Json kill_jobs(const Json& body);
  // Blocking stops a job's running work (its items go back to pending) and
  // starts nothing new until it is unblocked.
  Json block_jobs(const Json& body, bool block);

  // Worker messages, identified by the routing id they came from.
  void on_register(const std::string& rid, const Json& body, const std::string& client_endpoint,
                   double heartbeat_interval, std::uint64_t msg_id);
  // Answers with heartbeat_ack only if the heartbeat asked for one (`ack: true`).
  void on_heartbeat(const std::string& rid, std::uint64_t msg_id, bool ack);
  void on_work_request(const std::string& rid, const Json& body);
  void on_work_result(const std::string& rid, const Json& body);
  void on_instance_done(const std::string& rid, const Json& body);
  // Where a log chunk goes: the instance must belong to the sending worker.
  bool owns_instance(const std::string& rid, JobId job, std::int32_t subid) const;

  // Marks workers that missed their heartbeats as down and requeues their work.
  void check_heartbeats(double now_steady, double timeout);
  // Returns items whose retry delay has passed (now: Unix seconds) to pending.
  void release_due_retries(double now);
  // qb retry: failed and killed items (of body.work, a frame range, if given)
  // go back to pending, and an ended job runs again.
  Json retry_jobs(const Json& body);
  // qb interrupt: kill the running work now; its items go back to pending.
  Json interrupt_jobs(const Json& body);
  // qb complete (OpenCue's "eat frames"): items of body.work become `skipped`
  // without running, which counts as done.
  Json complete_work(const Json& body);
  // qb remove: forgets ended jobs; the server deletes their rows and logs.
  Json remove_jobs(const Json& body);
  // Kills work past the job's --timelimit or the item's --agendatimelimit.
  void check_time_limits(double now);
  // Starts instances on hosts with free slots, best job first.
  void schedule();
  // qb suspend / qb resume: SIGSTOP / SIGCONT of the running instances; their
  // slots stay held.
  Json suspend_jobs(const Json& body, bool suspend);
  // qb modify: body.set holds the spec fields to change (priority cpus name ...).
  Json modify_jobs(const Json& body);
  // qb top / qb bottom: first or last among the jobs of the same priority.
  Json reorder_jobs(const Json& body, bool top);
  // qb requeue: failed and killed items back to pending, the job held blocked.
  Json requeue_jobs(const Json& body);
  // qb satisfy: releases jobs' dependencies by hand (OpenCue's satisfy-dependency).
  Json satisfy_jobs(const Json& body);
  // Lets dependencies and callbacks react to this round's events (and to the
  // events their own actions cause). Scripts to run go to `script_runs`.
  void settle();
  // The server records a script's outcome in the job's history.
  void script_finished(JobId job, const std::string& text);
  // After the server has recorded them.
  void clear_events();
  // After the server has stored the dirty jobs: their kept summaries are stale.
  // Every change to a job marks it dirty (it must be stored), so this is the one
  // place a summary is forgotten.
  void jobs_stored();
  // Encodes kept summaries that are missing (after a restart, or for jobs that
  // changed), for about `budget` seconds; the server calls it when it has nothing
  // else to do, so that the first `qb jobs` after a burst of changes is as fast as
  // the next one. True while some remain.
  bool warm_summaries(double budget);
  bool summaries_to_warm() const { return !stale_summaries_.empty(); }

  // The item's current attempt as it stands: for a running one, its output so far.
  Attempt attempt_of(const JobState& js, const AgendaItem& item) const;

  const HostRecord* host_by_rid(const std::string& rid) const;
  const JobState* job(JobId id) const;

  // What the server must store and send after this round.
  std::set<JobId> dirty_jobs;
  std::set<std::pair<JobId, std::size_t>> dirty_items;
  std::set<std::pair<JobId, std::int32_t>> dirty_instances;
  std::set<JobId> removed_jobs;
  std::vector<Outgoing> outbox;
  std::vector<FarmEvent> events;
  std::vector<ScriptRun> script_runs;
  bool schedule_needed = false;
  // The length of an instance's output log so far (set by the server): each
  // attempt records where its output is, so it can be read apart.
  std::function<std::uint64_t(JobId, std::int32_t, bool err)> log_size;

 private:
  JobState* find_job(JobId id);
  bool offered_by_active_host(const std::string& type) const;
  // Placement (farm_placement.cpp).
  // Compiles the job's placement wishes; throws std::runtime_error naming the field.
  void compile_placement(JobState& js) const;
  void configure_placement();
  // The placer's view of a host: its registered facts, the admin's changes.
  void refresh_host_facts(HostRecord& h);
  // Takes the job out of the queue and the pending index (before its key changes).
  void unqueue(JobState& js);
  // Why a pending job cannot start, in words.
  std::string placement_reason(const JobState& js) const;
  // Whether the instance should yield its slot, after its item, to more urgent
  // work (passive preemption) or to another user's job under fair share.
  bool should_yield(const JobState& js, const RunningInstance& run, const HostRecord& h) const;
  // Aggressive preemption: stops lower-priority work where urgent jobs could run.
  void preempt();
  // Stops an instance through no fault of its own (preemption, qb lock --purge):
  // its item goes back to pending without counting as a failed attempt.
  void evict(JobState& js, std::int32_t subid, const std::string& reason);
  bool fits_if_vacated(const JobState& urgent, const JobState& victim, const RunningInstance& run,
                       const HostRecord& h) const;
  HostRecord* find_host_rid(const std::string& rid);
  void send_worker(const std::string& rid, proto::Message msg);
  bool wants_instance(const JobState& js) const;
  void requeue_queue_entry(JobState& js);
  void start_instance(JobState& js, HostRecord& host, const placement::Allocation& allocation);
  void end_instance(JobState& js, std::int32_t subid, JobStatus status, const std::string& reason);
  void release_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason);
  void lose_host_work(HostRecord& host, const std::string& reason);
  void update_status(JobState& js);
  // Every change of an item's status goes through here (see JobState::pending).
  void set_item_status(JobState& js, std::size_t index, WorkStatus to);
  // Counts a freshly built or restored agenda into js.pending and js.items_by_status.
  void count_items(JobState& js);
  void fail_job(JobState& js, const std::string& reason);
  void requeue_item(JobState& js, std::size_t index);
  // Applies `act` to each job named in body.ids (ended ones only if `ended_too`).
  // `act` returns null (report the id), a summary, or a string: an error.
  // The reply lists the summaries under `verb` and the errors under `errors`.
  // The jobs are those of body.ids and those matching body.filter {user, name
  // (a glob), status, pgrp}; the caller must be the job's owner or an admin.
  struct Verb {
    const char* done;    // reply key, past tense: "killed"
    const char* action;  // for messages: "kill"
    bool ended_too;      // ended jobs may be acted on
  };
  Json for_each_job(const Json& body, Verb verb,
                    const std::function<Json(JobState&, const std::string& who)>& act);
  std::vector<JobId> select_jobs(const Json& body) const;
  bool may_steer(const JobState& js, const std::string& who) const;
  void retry_if_allowed(JobState& js, std::size_t index);
  // For each job in body.ids (ended ones too): applies `act` to every `eligible`
  // item holding frames of body.work (all if none); an ended job with such items
  // runs again. A job with none is an error naming `what`.
  Json act_on_items(const Json& body, Verb verb, const char* what,
                    const std::function<bool(const AgendaItem&)>& eligible,
                    const std::function<void(JobState&, std::size_t, const std::string& who)>& act);
  // Asks workers to kill the job's running instances; their items become `to`.
  void stop_running(JobState& js, WorkStatus to, const std::string& reason);
  void mark_item(JobId id, std::size_t index) { dirty_items.emplace(id, index); }
  // Records an event about the job (history, callbacks).
  void emit(const JobState& js, std::string name, std::string type, std::string text, std::string who = {});
  void emit_work(const JobState& js, std::size_t index, std::string name, std::string text, bool history);
  // Sets the job's status and records the change as an event.
  void set_status(JobState& js, JobStatus status, const std::string& who = {});
  // Closes the item's current attempt into its history.
  void close_attempt(const JobState& js, AgendaItem& item);
  // Whether an instance on `host` may take the item (--retrydifferenthost).
  bool item_fits_host(const JobState& js, const AgendaItem& item, const std::string& host) const;
  bool has_work_for_host(const JobState& js, const std::string& host) const;
  // The pending item the instance should run next, if any may run there now.
  std::optional<std::size_t> next_item_for(const JobState& js, std::int32_t subid) const;
  // --retrysubjob: an instance that died is forgiven while retries are left: its
  // item goes back to pending (not a failed attempt); an agenda-less run is owed again.
  void forgive_if_allowed(JobState& js, std::int32_t subid);
  // Pipelines (farm_pipeline.cpp).
  // At submission: parses the new jobs' dependencies and triggers, resolves labels
  // among `batch` (label -> id) and existing ids, refuses cycles and missing jobs.
  void compile_pipeline(JobState& js, const std::map<std::string, JobId>& batch);
  void watch(JobState& js);
  // Re-examines the job's dependencies: waiting, released, or failed if broken.
  // `work`: only items that overlap this item of a target (frame by frame).
  void refresh_dependencies(JobState& js, const std::string* work = nullptr);
  std::string waiting_reason(const JobState& js) const;
  void run_callbacks(const FarmEvent& event);
  void run_qube_action(JobState& owner, const std::string& code, const FarmEvent& event);
  QueueKey queue_key(const JobState& js) const { return QueueKey{js.job.spec.priority, js.job.rank, js.job.id}; }
  void mark_instance(JobId id, std::int32_t subid) { dirty_instances.emplace(id, subid); }
  JobState* checked_instance(const std::string& rid, const Json& body, std::int32_t& subid);

  std::map<JobId, JobState> jobs_;
  std::map<std::string, HostRecord> hosts_;   // by name
  std::map<std::string, std::string> rid_to_host_;
  std::set<QueueKey> queue_;                  // jobs that want another instance
  std::multimap<double, std::pair<JobId, std::size_t>> retries_;  // due time -> item
  JobId next_id_ = 1;
  FarmPolicy policy_;
  std::vector<CompiledCallback> site_callbacks_;
  // Jobs whose dependencies or triggers name a job: re-examined on its events.
  std::map<JobId, std::set<JobId>> watchers_;
  // Labels within each process group, for triggers that name jobs by label.
  std::map<JobId, std::map<std::string, JobId>> labels_;
  std::size_t settled_ = 0;  // events already settled this round
  placement::Placer placer_;
  // qb host set / qb lock: the admin's word on a host, by name, over what it registers.
  struct HostOverride {
    Json facts = Json::object();  // groups, properties, resources ...
    bool locked = false;
  };
  std::map<std::string, HostOverride> overrides_;
  // qb resource set: the total an admin gave, and the config's total at the time
  // (a config edited since then wins on restart: the edit is the newer word).
  struct ResourceOverride {
    std::int64_t total = 0;
    std::optional<std::int64_t> config;
  };
  std::map<std::string, ResourceOverride> resource_overrides_;
  // The supervisor.yaml total of a global resource, if it defines one.
  std::optional<std::int64_t> configured_total(const std::string& resource) const;
  std::set<JobId> stale_summaries_;  // jobs whose kept summary is missing
  static std::string summary_of(const JobState& js);  // encoded, as `jobs` lists it
  std::set<JobId> unexplained_;  // pending jobs whose waiting reason is not yet written
  int zero_slot_jobs_ = 0;       // indexed jobs that need no slot (host.processors=0)
  double last_preempt_ = 0;      // steady seconds of the last aggressive look
};

}  // namespace qube::supervisor
