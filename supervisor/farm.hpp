#pragma once
// The supervisor's model and every state transition of jobs, agenda items,
// instances and hosts. No sockets and no store here: transitions leave what
// must be stored and sent in one Effects value, which the server drains each
// round (commit, then send), so nothing is acted on before it is durable.
//
// The Farm is one object with its methods in rooms whose names say what they
// hold:
//   farm_jobs.cpp        submitting and restoring jobs, their agendas and status
//   farm_instances.cpp   workers and their instances: register, heartbeats,
//                        work requests and results, instances ending
//   farm_history.cpp     events, status changes and each item's attempts
//   farm_steering.cpp    the client verbs that list and steer jobs
//   farm_pipeline.cpp    dependencies and callbacks
//   farm_bad_hosts.cpp   bad hosts, suspect hosts and auto-wrangling
//   farm_retention.cpp   removing ended jobs after the retention period
//   host_admin.cpp       hosts, locks, resources and the admin's stored settings
//                        (HostAdmin, a class of its own)
//   scheduler.cpp        who gets a free slot (Scheduler, a class of its own: the policy)
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "client_requests.hpp"
#include "effects.hpp"
#include "farm_state.hpp"
#include "host_admin.hpp"
#include "metrics.hpp"
#include "qube/clock.hpp"
#include "qube/messages.hpp"
#include "qube/protocol.hpp"
#include "scheduler.hpp"
#include "steering.hpp"

namespace qube::supervisor {

// A job's agenda as its spec makes it: the range cut into items (or the named
// items), in dispatch order (--order, preview items first). Pure: it may run off
// the event loop (AgendaBuilds).
std::vector<AgendaItem> build_agenda(const JobSpec& spec);

// Instances of one job that may end without ever asking for work (a module that
// will not load, a missing executable) before the job fails instead of looping.
inline constexpr int kMaxStartupFailures = 3;

// How a job's reason begins when its items wait only for other jobs' frames.
inline constexpr std::string_view kFramesWaiting = "waiting for the same frames of ";

// qb modify's key that lets a job's bad hosts back (not a field of the spec).
inline constexpr const char* kClearBadHosts = "clear_bad_hosts";

class Farm final : private Scheduler::Actions {
 public:
  explicit Farm(const Clock& clock = Clock::system()) : clock_(clock) {}

  // Throws std::runtime_error for a site callback whose triggers do not parse.
  void set_policy(FarmPolicy policy);
  // The length of an instance's output log so far (the server's logs): each
  // attempt records where its output is, so it can be read apart.
  void set_log_size(std::function<std::uint64_t(JobId, std::int32_t, bool err)> log_size) {
    log_size_ = std::move(log_size);
  }

  // What this round left to store and send; the server drains it.
  Effects& effects() { return fx_; }
  // Takes everything but the kept summaries' bookkeeping: after this the dirty
  // jobs' summaries are stale (see list_jobs).
  Effects take_effects();

  // --- Restoring (farm_jobs.cpp, host_admin.cpp)
  // Rebuilds the model from the store. Work that was running when the previous
  // supervisor stopped goes back to pending: its workers re-register and are
  // told to drop it, and a late result carries a stale attempt id.
  void restore(std::vector<Job> jobs, JobId max_stored_id = 0);
  // The admin's farm settings (host locks and changes, resource totals) as the
  // store keeps them. Restored before the jobs, whose reservations may name a
  // resource an admin added. effects().settings_changed says they must be stored.
  Json farm_settings() const { return admin_.settings(); }
  void restore_farm_settings(const Json& settings) { admin_.restore(settings); }
  // The tokens of earlier submissions with the jobs they made (after restore()):
  // a submission sent again after a restart still gets its jobs back.
  void restore_submissions(std::vector<SubmissionRecord> records);

  // --- Client requests. Each returns the reply body or throws std::runtime_error.
  // {ids, warnings}. A submission with a token its submitter already used gets the
  // jobs that one made (those not removed since), not new ones.
  Json submit(Submission submission);
  // The jobs that submissions with this token made, whoever submitted them, by id.
  std::vector<JobId> jobs_of_token(const std::string& token) const;
  // The summaries of the jobs asked for, each encoded: views of the summaries kept,
  // valid until the farm next changes. A job's summary is encoded once and kept
  // until the job changes: a listing of 10,000 jobs rebuilt every summary's Json
  // tree every time (docs/performance.md).
  std::vector<std::string_view> list_jobs(const Json& body);
  // The job's agenda, submitted whole, is stored (Effects::fresh_agendas): it may run.
  void agenda_stored(JobId id);
  // The job, a page of its agenda, and (first page) its summary: encoded (farm_show.cpp).
  std::string show_job(const Json& body) const;
  // qb hosts; with body.long the placement facts of each host too.
  Json list_hosts(const Json& body = Json::object()) const { return admin_.list_hosts(body); }
  // qb lock / qb unlock (admins): a locked host takes no new work; with
  // request.purge its running work is stopped and goes back to pending.
  Json lock_hosts(const HostLock& request, bool lock);
  // qb host set (admins): changes a running worker's groups, properties and
  // resources without restarting it; kept across its re-registrations.
  Json set_host_facts(const HostChange& request) { return admin_.set_facts(request); }
  // qb resources / qb resource set (admins).
  Json list_resources() const { return admin_.list_resources(); }
  // GET /metrics: the farm counted (farm_census.cpp).
  FarmCensus census() const;
  Json set_resource(const ResourceTotal& request) { return admin_.set_resource(request); }
  // The verbs that steer jobs (kill, block, retry ...), typed: the server decodes
  // the request once (steering.hpp), and Qube-language callbacks call them too.
  StepOutcome steer(SteerVerb verb, const Steering& request);
  // qb modify: `set` holds the spec fields to change (priority cpus name ...).
  StepOutcome modify(const Steering& request, const Json& set);
  // qb append: `items` holds range (+ chunk) and/or agenda names; they join the
  // end of each job's agenda, pending at once.
  StepOutcome append(const Steering& request, const Json& items);

  // --- Worker messages, identified by the routing id they came from.
  void on_register(const std::string& rid, const proto::Register& m, const std::string& client_endpoint,
                   double heartbeat_interval, std::uint64_t msg_id);
  // Answers with heartbeat_ack only if the heartbeat asked for one (`ack: true`).
  void on_heartbeat(const std::string& rid, std::uint64_t msg_id, bool ack);
  void on_work_request(const std::string& rid, const proto::WorkRequest& request);
  void on_work_result(const std::string& rid, const proto::WorkResultReport& report);
  void on_instance_done(const std::string& rid, const proto::InstanceDone& done);
  // The worker gave back an item held ahead (answering revoke_long_holds).
  void on_revoked(const std::string& rid, const proto::Revoked& m);
  // SIGTERM to the worker: finishing, its host gets no new instance and its
  // instances no new item; gone, it is down and its running items pending now.
  void on_worker_stopping(const std::string& rid, const proto::WorkerStopping& m);
  // Where a log chunk goes: the instance must belong to the sending worker.
  bool owns_instance(const std::string& rid, JobId job, std::int32_t subid) const;

  // --- Time passing (the injected clock says how much).
  // Marks workers silent for longer than `timeout` seconds as down and requeues their work.
  void check_heartbeats(double timeout);
  // The worker registered with routing id `rid` is shut out (its key was revoked):
  // it is down now, its work goes back to pending.
  void disconnect_worker(const std::string& rid, const std::string& reason);
  // An item held ahead waits behind its instance's current item, which was
  // expected short. Once that item has run kHoldBehindAtMost seconds and nothing
  // else of the job is pending, its worker is asked to give the held one back
  // (`revoke`), so that another host may run it meanwhile.
  static constexpr double kHoldBehindAtMost = 2.0;
  void revoke_long_holds();
  // Returns items whose retry delay has passed to pending.
  void release_due_retries();
  // Kills work past the job's --timelimit or the item's --agendatimelimit.
  void check_time_limits();

  // --- Each round.
  bool schedule_needed() const { return scheduler_.needed(); }
  // Starts instances on hosts with free slots, best job first.
  void schedule();
  // Lets dependencies and callbacks react to this round's events (and to the
  // events their own actions cause). Scripts to run go to effects().script_runs.
  void settle();
  // The server records a script's outcome in the job's history; a preexec's
  // also decides whether the job starts or fails (farm_hooks.cpp).
  void script_finished(const ScriptOutcome& outcome);
  // Encodes kept summaries that are missing (after a restart, or for jobs that
  // changed), for about `budget` seconds; the server calls it when it has nothing
  // else to do, so that the first `qb jobs` after a burst of changes is as fast as
  // the next one. True while some remain.
  bool warm_summaries(double budget);
  bool summaries_to_warm() const { return !stale_summaries_.empty(); }
  std::size_t summaries_missing() const { return stale_summaries_.size(); }

  // --- Retention (farm_retention.cpp)
  // Removes, as qb remove does (store rows, then logs and history), the jobs that
  // ended more than `days` days ago; 0 keeps every job. Called every tick, it
  // looks at the jobs at most once a minute. Returns how many it removed.
  std::size_t expire_ended_jobs(double days);

  // --- Reading.
  // The item's current attempt as it stands: for a running one, its output so far.
  Attempt attempt_of(const JobState& js, const AgendaItem& item) const;
  const HostRecord* host_by_rid(const std::string& rid) const;
  const JobState* job(JobId id) const;

 private:
  double now() const { return clock_.wall().seconds; }
  JobState* find_job(JobId id);
  // Forgets an ended job; the server deletes its rows, then its logs and history.
  void drop_job(JobState& js);
  HostRecord* find_host_rid(const std::string& rid);
  void send_worker(const std::string& rid, proto::Message msg);
  // An item whose row must be written: this round, or with its whole agenda in
  // slices once the job has more marked this round than a round should write.
  void mark_item(JobId id, std::size_t index);
  // This round whatever else happens: a worker's result, which the worker's next
  // item acknowledges.
  void mark_item_now(JobId id, std::size_t index) { fx_.dirty_items.emplace(id, index); }
  void mark_instance(JobId id, std::int32_t subid) { fx_.dirty_instances.emplace(id, subid); }

  // Scheduler::Actions.
  void start_instance(JobState& js, HostRecord& host, const placement::Allocation& allocation) override;
  void preempt_instance(JobState& victim, std::int32_t subid, const std::string& reason) override;
  void explain_wait(JobState& js, std::string reason) override;

  // Jobs and agendas (farm_jobs.cpp).
  void check_specs(Submission& submission) const;
  // The jobs of an earlier submission by `user` with `token` still here, if any.
  std::optional<std::vector<JobId>> jobs_made(const std::string& user, const std::string& token);
  std::vector<JobState> build_submission(Submission submission);
  void restore_job(Job job);
  void restore_pipelines();
  // The job's status (and waiting reason) re-derived from its items and instances,
  // its row marked to be stored: after any change to the job.
  void update_status(JobState& js);
  // The same, the row marked only if the status or reason moved: after a change
  // to its items alone (a result), whose rows carry it.
  void derive_status(JobState& js);
  // Marked this round: its row to store, or its progress moved.
  bool changed_this_round(JobId id) const { return fx_.dirty_jobs.count(id) || fx_.progressed_jobs.count(id); }
  // Every change of an item's status goes through here (see JobState::pending).
  void set_item_status(JobState& js, std::size_t index, WorkStatus to);
  // Every pending item to `to` with `reason` (a kill of the whole job): the counts
  // and rows in one pass, not item by item, so a million items cost milliseconds.
  void end_pending_items(JobState& js, WorkStatus to, const std::string& reason);
  // Counts a freshly built or restored agenda into js.pending and js.items_by_status.
  void count_items(JobState& js);
  void fail_job(JobState& js, const std::string& reason);
  void requeue_item(JobState& js, std::size_t index);
  void retry_if_allowed(JobState& js, std::size_t index);
  void release_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason);

  // Instances and workers (farm_instances.cpp).
  // The instance, if it runs on the sending worker (else a stale or foreign message).
  JobState* checked_instance(const std::string& rid, const proto::InstanceRef& instance);
  // The item becomes the instance's, as a new attempt: the one it runs now, or
  // (ahead) the one it runs next, which starts when the current one's result comes.
  proto::Assignment assign_item(JobState& js, RunningInstance& run, std::int32_t subid, std::size_t index,
                                bool ahead = false);
  // A work_result without the request made ahead it may carry.
  void record_result(const std::string& rid, const proto::WorkResultReport& report);
  // A request made ahead (proto::WorkRequest::ahead) answered.
  void hold_next(const std::string& rid, JobState& js, std::int32_t subid);
  // The instance starts `index` now: it is its current item from here; `held`:
  // it was held ahead (its worker handed it over without asking).
  void begin_item(JobState& js, RunningInstance& run, std::size_t index, bool held);
  // The item held ahead becomes the current one (begin_item); its index.
  std::size_t begin_held(JobState& js, RunningInstance& run);
  // The item held ahead back to pending: the instance will not run it.
  // end_instance does it for every instance that ends; elsewhere only where
  // the instance lives on meanwhile (stop_running, a worker registering again).
  void return_held(JobState& js, RunningInstance& run);
  // An item recorded running that its instance never started, back to pending.
  void unstart(JobState& js, std::size_t index);
  void end_instance(JobState& js, std::int32_t subid, JobStatus status, const std::string& reason);
  // Notes that `host` will never run the job; true if no live host that offers its type is left.
  bool refused_everywhere(JobState& js, const std::string& host);
  void lose_host_work(HostRecord& host, const std::string& reason);
  // Adoption (farm_adoption.cpp): what a registering worker reports it still
  // runs. Instances of `h` that it reports are detached (kept as orphans) so
  // that a registration again does not end them; then every reported orphan of
  // this host is adopted, and every other reported instance is told to end.
  void detach_reported(HostRecord& h, const std::vector<proto::RunningReport>& running);
  void adopt_reported(HostRecord& h, const std::vector<proto::RunningReport>& running);
  void adopt(JobState& js, HostRecord& h, const proto::RunningReport& report);
  // Orphans not reported within `grace` seconds of the restore are lost: their
  // items go back to pending.
  void write_off_orphans(double grace);
  // Stops an instance through no fault of its own (preemption, qb lock --purge):
  // its item goes back to pending without counting as a failed attempt.
  void evict(JobState& js, std::int32_t subid, const std::string& reason);
  // Asks workers to kill the job's running instances; their items become `to`.
  void stop_running(JobState& js, WorkStatus to, const std::string& reason);
  void kill_instance(const JobState& js, std::int32_t subid);
  // --retrysubjob: an instance that died is forgiven while retries are left: its
  // item goes back to pending (not a failed attempt); an agenda-less run is owed again.
  void forgive_if_allowed(JobState& js, std::int32_t subid);

  // Bad hosts and auto-wrangling (farm_bad_hosts.cpp).
  // An item's attempt failed on its host: it is retried (once more on a host
  // with more memory if memory killed it), the host may be excluded from the
  // job, and the job may be blocked for its failure rate.
  void item_failed(JobState& js, std::size_t index);
  // An item completed: its host's count of failures in a row starts over.
  void item_completed(JobState& js, std::size_t index);
  // True if the item was requeued for a host with more memory than the one
  // that killed it.
  bool retry_on_bigger_host(JobState& js, std::size_t index);
  void exclude_host(JobState& js, const std::string& host, const std::string& reason);
  // Several jobs excluding the host within the window make it suspect.
  void suspect_if_repeated(const JobState& js, const std::string& host);
  void block_if_failing(JobState& js);
  // qb modify with clear_bad_hosts (and perhaps other fields, modified first).
  StepOutcome modify_clearing_bad_hosts(const Steering& request, const Json& set);
  void clear_bad_hosts(JobState& js, const std::string& who);

  // History (farm_history.cpp).
  // Records an event about the job (history, callbacks); the caller may add to it
  // until the next event.
  FarmEvent& emit(const JobState& js, std::string name, std::string type, std::string text, std::string who = {});
  void emit_work(const JobState& js, std::size_t index, std::string name, std::string text, bool history);
  void emit_instance(const JobState& js, std::int32_t subid, std::string name, std::string text);
  // Sets the job's status and records the change as an event.
  void set_status(JobState& js, JobStatus status, const std::string& who = {});
  // Closes the item's current attempt into its history.
  void close_attempt(const JobState& js, AgendaItem& item);

  // Steering (farm_steering.cpp).
  using JobAction = std::function<StepResult(JobState&, const std::string& who)>;
  using ItemAction = std::function<void(JobState&, std::size_t, const std::string& who)>;
  // Applies `act` to each job the request selects that `who` may steer.
  StepOutcome for_each_job(const Steering& request, SteerVerb verb, const JobAction& act);
  // Applies `act` to every `eligible` item holding frames of request.work; an
  // ended job with such items runs again.
  StepOutcome act_on_items(const Steering& request, SteerVerb verb, const char* what,
                           const std::function<bool(const AgendaItem&)>& eligible, const ItemAction& act);
  std::vector<JobId> select_jobs(const Steering& request) const;
  bool may_steer(const JobState& js, const std::string& who) const;
  StepOutcome kill(const Steering& request);
  StepOutcome block(const Steering& request, bool block);
  // Holds the job: running work goes back to pending; "blocked " + `why` ("by
  // alice") is its reason until it is unblocked.
  void block_job(JobState& js, const std::string& why, const std::string& who);
  StepOutcome suspend(const Steering& request, bool suspend);
  StepOutcome interrupt(const Steering& request);
  StepOutcome reorder(const Steering& request, bool top);
  StepOutcome complete_items(const Steering& request);
  StepOutcome retry(const Steering& request);
  StepOutcome requeue(const Steering& request);
  StepOutcome remove(const Steering& request);
  StepOutcome satisfy(const Steering& request);
  // A callback's fail-TARGET: the job fails with `reason`; with request.on_items()
  // (fail-work-TARGET), only those items fail, for good.
  StepOutcome fail(const Steering& request, const std::string& reason);
  // kill, block, unblock and fail of items (request.on_items(): --work RANGE, or
  // a callback's VERB-work-TARGET). Killed and failed items end (a running one
  // is stopped); blocked ones are held out of the pending set until unblocked.
  StepOutcome kill_items(const Steering& request);
  StepOutcome fail_items(const Steering& request, const std::string& reason);
  StepOutcome block_items(const Steering& request);
  StepOutcome unblock_items(const Steering& request);
  // Stops one running item: its instance is killed and takes no further item.
  void stop_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason);
  // Ends an item (killed or failed) without a retry, stopping it if it runs.
  void end_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason);
  static std::string summary_of(const JobState& js);  // encoded, as `jobs` lists it

  // Pipelines (farm_pipeline.cpp).
  // At submission: parses the new jobs' dependencies and triggers, resolves labels
  // among `batch` (label -> id) and existing ids, refuses cycles and missing jobs.
  void compile_pipeline(JobState& js, const std::map<std::string, JobId>& batch);
  void watch(JobState& js);
  // qb modify --dependency / --callbacks: compiles the new ones (labels resolve in
  // the job's pgrp) into `changed`; refuses a cycle (naming it) and a dependency
  // that can never be met. apply_pipeline then puts them in force on `js`.
  void recompile_pipeline(const JobState& js, JobState& changed);
  void apply_pipeline(JobState& js, JobState&& changed);
  // The cycle `deps` of job `start` would close, as "12 -> 14 -> 12"; empty if none.
  std::string dependency_cycle(JobId start, const std::vector<Dependency>& deps) const;
  // Every item and the job itself stop waiting on dependencies (qb satisfy, and
  // before a modified dependency takes effect).
  void release_dependencies(JobState& js);
  // Re-examines the job's dependencies: waiting, released, or failed if broken.
  // `work`: only items that overlap this item of a target (frame by frame).
  void refresh_dependencies(JobState& js, const std::string* work = nullptr);
  void refresh_items_dependencies(JobState& js, const std::string* work);
  std::string waiting_reason(const JobState& js) const;
  std::string frames_waiting_reason(const JobState& js) const;
  std::optional<JobId> label_in_pgrp(JobId pgrp, const std::string& label) const;
  void run_callbacks(const FarmEvent& event);
  // A script for the runner about event `e`, owned by `owner`: QBJOBID QBEVENT QBSTATUS ... set.
  ScriptRun script_run(const JobState& owner, const FarmEvent& e) const;

  // Hooks (farm_hooks.cpp, docs/usage.md "Hooks").
  // A job with a --preexec that has not started yet waits for it.
  void arm_preexec(JobState& js);
  // Starts the preexec of each armed job that is pending now.
  void start_preexecs();
  void preexec_finished(const ScriptOutcome& outcome);
  // A job's --postexec, when `e` is its end.
  void run_postexec(const FarmEvent& e);
  void run_qube_action(JobState& owner, const CompiledCallback& cb, const FarmEvent& event);
  // The callbacks' unblock-work-TARGET: held items are released, and a job that
  // waits on dependencies is released from them (satisfy).
  StepOutcome unblock_work(const Steering& request);
  // The callbacks' VERB-subjob-TARGET on instance `subid` (-1: every running
  // one): kill (its item is killed), interrupt (its item goes back to pending),
  // retry (a running one is interrupted; an ended one's failed items run again).
  StepOutcome act_on_instances(const Steering& request, SteerVerb op, std::int32_t subid, const std::string& by);
  // mail-status: mails the job's status to its addresses, or says in its history
  // that it has none.
  void mail_status(const JobState& js, const CompiledCallback& cb, const FarmEvent& event);

  const Clock& clock_;
  Effects fx_;
  std::function<std::uint64_t(JobId, std::int32_t, bool)> log_size_;
  std::map<JobId, JobState> jobs_;
  std::map<std::string, HostRecord> hosts_;  // by name
  // Looked up on every worker message. Hosts are never erased from hosts_, and a
  // map's nodes stay put, so the pointers stay good.
  std::unordered_map<std::string, HostRecord*> rid_to_host_;
  // Instances the store says were running when this supervisor took over (or
  // restarted), by (job, subid): their workers may still run them. The item
  // each held, as stored. Adopted when their worker registers and reports
  // them; lost after a grace period (farm_adoption.cpp).
  struct Orphan {
    std::string host;
    std::optional<std::size_t> item;
    // A second item stored running on it: one of the two was held ahead
    // (RunningInstance::next). Which one it runs, its worker's report says.
    std::optional<std::size_t> second;
  };
  std::map<std::pair<JobId, std::int32_t>, Orphan> orphans_;
  SteadyTime restored_at_;
  Scheduler scheduler_{jobs_, hosts_};
  HostAdmin admin_{hosts_, scheduler_, fx_};
  std::multimap<WallTime, std::pair<JobId, std::size_t>> retries_;  // due time -> item
  JobId next_id_ = 1;
  // (token, submitter) -> the jobs that submission made; ids of removed jobs are
  // skipped when read.
  std::map<std::pair<std::string, std::string>, std::vector<JobId>> submissions_;
  FarmPolicy policy_;
  std::vector<CompiledCallback> site_callbacks_;
  // Jobs whose dependencies or triggers name a job: re-examined on its events.
  std::map<JobId, std::set<JobId>> watchers_;
  // Labels within each process group, for triggers that name jobs by label.
  std::map<JobId, std::map<std::string, JobId>> labels_;
  std::size_t settled_ = 0;  // events already settled this round
  std::set<JobId> stale_summaries_;  // jobs whose kept summary is missing
  std::set<JobId> preexec_due_;      // jobs whose preexec has yet to run (JobState::Preexec::due)
  // Recent exclusions of each host as a bad host: (time, job). Forgotten when
  // an admin unlocks the host.
  std::map<std::string, std::vector<std::pair<double, JobId>>> exclusions_;
  SteadyTime next_expiry_{};  // expire_ended_jobs looks again after this
};

}  // namespace qube::supervisor
