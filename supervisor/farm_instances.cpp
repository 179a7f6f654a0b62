// Workers and the instances they run: registration and heartbeats, an
// instance asking for work and reporting results, instances starting and
// ending, and a worker's work written off when it is lost.
#include <spdlog/spdlog.h>

#include "farm.hpp"
#include "qube/messages.hpp"

namespace qube::supervisor {

void Farm::on_register(const std::string& rid, const proto::Register& m, const std::string& client_endpoint,
                       double heartbeat_interval, std::uint64_t msg_id) {
  const Host& facts = m.host;
  // Placement facts (worker.yaml and detection) beside the basic ones; a bad
  // value refuses the registration rather than placing work on guesses.
  Json placement_facts = m.facts;
  placement_facts["slots"] = facts.slots;
  placement_facts["jobtypes"] = facts.jobtypes;
  if (!placement_facts.contains("memory_mb")) placement_facts["memory_mb"] = facts.memory_mb;
  try {
    (void)placement::host_facts_from_json(facts.name, placement_facts);
  } catch (const std::exception& e) {
    throw FormatError(std::string("register: ") + e.what());
  }
  auto [it, fresh] = hosts_.try_emplace(facts.name);
  HostRecord& h = it->second;
  if (!fresh) {
    // The same host again: a restarted worker, or one that lost its connection.
    // What it reports it still runs is adopted again; the rest is gone, its
    // work back to pending.
    detach_reported(h, m.running);
    lose_host_work(h, "lost: worker " + facts.name + " restarted");
    rid_to_host_.erase(h.routing_id);
  }
  const Time registered = now();
  h.host = facts;
  h.stopping = false;
  h.host.state = HostState::active;
  h.host.slots_used = 0;
  h.host.registered = registered;
  h.host.last_heartbeat = registered;
  h.routing_id = rid;
  h.last_seen = clock_.steady();
  h.registered_facts = std::move(placement_facts);
  admin_.refresh(h);
  rid_to_host_[rid] = &h;
  spdlog::info("worker {} registered: {} slots, {} MB, job types [{}]", facts.name, facts.slots,
               facts.memory_mb, fmt::join(facts.jobtypes, ", "));
  send_worker(rid, proto::make_message(proto::Registered{heartbeat_interval, client_endpoint}, msg_id));
  adopt_reported(h, m.running);
  scheduler_.need();
}

void Farm::on_heartbeat(const std::string& rid, std::uint64_t msg_id, bool ack) {
  HostRecord* h = find_host_rid(rid);
  if (!h || h->host.state == HostState::down) {
    // A supervisor that restarted, or a worker it gave up on: start over.
    send_worker(rid, proto::make_message(proto::Reregister{}, msg_id));
    return;
  }
  h->last_seen = clock_.steady();
  h->host.last_heartbeat = now();
  // Only when asked: an ack to every heartbeat was most of an idle farm's cost
  // (a TCP send and two epoll_ctl per worker per interval), and no worker reads it.
  if (ack) send_worker(rid, proto::make_message(proto::HeartbeatAck{}, msg_id));
}

JobState* Farm::checked_instance(const std::string& rid, const proto::InstanceRef& instance) {
  HostRecord* h = find_host_rid(rid);
  const std::int32_t subid = instance.subid;
  JobState* js = find_job(instance.job);
  if (!h || !js || !js->running.count(subid) ||
      js->job.instances[static_cast<std::size_t>(subid)].host != h->host.name)
    return nullptr;
  return js;
}

bool Farm::owns_instance(const std::string& rid, JobId id, std::int32_t subid) const {
  auto h = rid_to_host_.find(rid);
  auto js = jobs_.find(id);
  if (h == rid_to_host_.end() || js == jobs_.end() || subid < 0 ||
      static_cast<std::size_t>(subid) >= js->second.job.instances.size())
    return false;
  return js->second.job.instances[static_cast<std::size_t>(subid)].host == h->second->host.name;
}

void Farm::on_work_request(const std::string& rid, const proto::WorkRequest& request) {
  const std::int32_t subid = request.instance.subid;
  JobState* js = checked_instance(rid, request.instance);
  if (!js) {
    // Stale: the instance was killed or written off meanwhile. Tell it to end
    // rather than leave it waiting for an answer that never comes.
    send_worker(rid, proto::make_message(proto::Work{request.instance, std::nullopt, request.ahead}));
    return;
  }
  if (request.ahead) return hold_next(rid, *js, subid);
  RunningInstance& run = js->running[subid];
  run.requested = true;
  const JobId id = js->job.id;
  proto::Work reply{request.instance, std::nullopt};
  const bool live = js->job.status == JobStatus::running || js->job.status == JobStatus::pending;
  if (live && js->job.agenda.empty() && !run.ran_once) {
    run.ran_once = true;
    reply.assignment = proto::Assignment{-1, "", 1};
  } else if (!run.item && run.next) {
    // Its worker did not keep the item held for it: it is given again, as promised.
    const AgendaItem& item = js->job.agenda[begin_held(*js, run)];
    reply.assignment = proto::Assignment{static_cast<std::int64_t>(*run.item), item.name, item.attempt_id};
  } else if (run.yielding ||
             (live && !run.item && scheduler_.should_yield(*js, run, *find_host_rid(rid), clock_.wall()))) {
    // Preempted (passive): it finished its item; its slot goes to urgent work.
    if (!run.yielding)
      emit(*js, "preempted", "subjob",
           "instance " + std::to_string(id) + "." + std::to_string(subid) + " yields its slot to waiting work (priority or fair share)");
    run.yielding = true;
  } else if (const HostRecord* host = find_host_rid(rid); host && host->draining) {
    // qb lock --drain: the item it just finished was its last; it ends.
  } else if (auto next = live && !run.item ? scheduler_.next_item(*js, subid) : std::nullopt) {
    reply.assignment = assign_item(*js, run, subid, *next);
  }
  send_worker(rid, proto::make_message(reply));
  scheduler_.requeue(*js);
}

// Asked while the instance runs an item, so that the next one is at hand the
// moment it finishes (the round trip to here is about a millisecond, a third of
// a short item's time). Nothing is held when the job, the host or the slot is
// winding down: the instance then asks again when it finishes, and that request
// decides as it always did.
void Farm::hold_next(const std::string& rid, JobState& js, std::int32_t subid) {
  RunningInstance& run = js.running[subid];
  proto::Work reply{{js.job.id, subid}, std::nullopt, true};
  const HostRecord* host = find_host_rid(rid);
  const bool live = js.job.status == JobStatus::running || js.job.status == JobStatus::pending;
  if (live && run.item && !run.next && !run.yielding && host && !host->draining && !host->stopping &&
      !scheduler_.should_yield(js, run, *host, clock_.wall())) {
    if (auto next = scheduler_.next_item(js, subid)) reply.assignment = assign_item(js, run, subid, *next, true);
  }
  send_worker(rid, proto::make_message(reply));
  scheduler_.requeue(js);
}

proto::Assignment Farm::assign_item(JobState& js, RunningInstance& run, std::int32_t subid, std::size_t index,
                                    bool ahead) {
  set_item_status(js, index, WorkStatus::running);
  AgendaItem& item = js.job.agenda[index];
  item.attempts += 1;
  item.attempt_id = item.attempts;
  item.host = js.job.instances[static_cast<std::size_t>(subid)].host;
  item.subid = subid;
  item.timestart = now();
  item.timecomplete.reset();
  item.exitcode.reset();
  item.signal.reset();
  item.reason.clear();
  item.walltime = 0;
  item.cputime = 0;
  item.peak_rss_kb = 0;
  if (ahead) run.next = index;
  else begin_item(js, run, index, false);
  return proto::Assignment{static_cast<std::int64_t>(index), item.name, item.attempt_id};
}

void Farm::begin_item(JobState& js, RunningInstance& run, std::size_t index, bool held) {
  run.item = index;
  run.began_held = held;
  if (log_size_) {  // where this attempt's output begins
    const std::int32_t subid = js.job.agenda[index].subid;
    run.out_at = log_size_(js.job.id, subid, false);
    run.err_at = log_size_(js.job.id, subid, true);
  }
}

std::size_t Farm::begin_held(JobState& js, RunningInstance& run) {
  const std::size_t index = *run.next;
  run.next.reset();
  begin_item(js, run, index, true);
  // It starts now, not when it was held (in memory; stored with its result):
  // its time so far is what revoke_long_holds reads.
  js.job.agenda[index].timestart = now();
  return index;
}

// Never started, so no attempt is recorded; its attempt id stays spent, so that
// anything late about it is still told apart from its next attempt.
void Farm::return_held(JobState& js, RunningInstance& run) {
  if (!run.next) return;
  const std::size_t index = *run.next;
  run.next.reset();
  unstart(js, index);
}

void Farm::unstart(JobState& js, std::size_t index) {
  if (js.job.agenda[index].status != WorkStatus::running) return;
  set_item_status(js, index, WorkStatus::pending);
  js.job.agenda[index].timestart.reset();
}

void Farm::revoke_long_holds() {
  const double at = now();
  for (const auto& [name, h] : hosts_) {
    if (h.host.state == HostState::down) continue;
    for (const auto& [id, subid] : h.instances) {
      JobState* js = find_job(id);
      if (!js || !js->pending.empty()) continue;  // a free host has pending items to take instead
      const auto it = js->running.find(subid);
      if (it == js->running.end()) continue;
      RunningInstance& run = it->second;
      if (!run.next || !run.item) continue;
      const AgendaItem& current = js->job.agenda[*run.item];
      if (!current.timestart || at - *current.timestart < kHoldBehindAtMost) continue;
      const std::pair<std::size_t, std::uint64_t> held{*run.next, js->job.agenda[*run.next].attempt_id};
      if (run.revoke_asked == held) continue;
      run.revoke_asked = held;
      proto::Revoke revoke;
      revoke.instance = {id, subid};
      revoke.index = static_cast<std::int64_t>(held.first);
      revoke.attempt = held.second;
      send_worker(h.routing_id, proto::make_message(revoke));
    }
  }
}

void Farm::on_revoked(const std::string& rid, const proto::Revoked& m) {
  JobState* js = checked_instance(rid, m.instance);
  if (!js || m.index < 0 || static_cast<std::size_t>(m.index) >= js->job.agenda.size()) return;
  const auto index = static_cast<std::size_t>(m.index);
  if (js->job.agenda[index].attempt_id != m.attempt) return;  // about an earlier attempt
  RunningInstance& run = js->running[m.instance.subid];
  if (run.next == index) {
    return_held(*js, run);
  } else if (run.item == index && run.began_held) {
    // The result before it came first and began it here, but its worker had
    // already given it back: the instance runs the item held after it, if any
    // (its worker hands that one over when it comes), else asks.
    run.item.reset();
    unstart(*js, index);
    if (run.next) begin_held(*js, run);
  } else {
    return;
  }
  spdlog::info("job {}: item {} given back by {}: it waited behind a long item", js->job.id,
               js->job.agenda[index].name, js->job.instances[static_cast<std::size_t>(m.instance.subid)].host);
  scheduler_.requeue(*js);
  scheduler_.need();
}

void Farm::on_work_result(const std::string& rid, const proto::WorkResultReport& report) {
  record_result(rid, report);
  if (report.ahead) on_work_request(rid, proto::WorkRequest{report.instance, true});
}

void Farm::record_result(const std::string& rid, const proto::WorkResultReport& report) {
  const std::int32_t subid = report.instance.subid;
  JobState* js = checked_instance(rid, report.instance);
  if (!js) return;
  RunningInstance& run = js->running[subid];
  const proto::WorkResult& r = report.result;
  const WorkResult& outcome = r.outcome;
  if (outcome.status != WorkStatus::complete && outcome.status != WorkStatus::failed)
    throw FormatError("work_result: status must be complete or failed");
  if (r.index == -1) {
    auto& inst = js->job.instances[static_cast<std::size_t>(subid)];
    inst.exitcode = outcome.exitcode.value_or(outcome.status == WorkStatus::complete ? 0 : 1);
    inst.reason = outcome.reason;
    run.failed_run = outcome.status != WorkStatus::complete;
    mark_instance(js->job.id, subid);
    return;
  }
  if (!run.item && run.next && r.index == static_cast<std::int64_t>(*run.next)) {
    // The result of the item it held, before any of the one before: that one
    // was taken back (killed) as it finished, and this one started anyway.
    begin_held(*js, run);
  }
  if (r.index < 0 || !run.item || static_cast<std::size_t>(r.index) != *run.item) return;
  const auto i = static_cast<std::size_t>(r.index);
  AgendaItem& item = js->job.agenda[i];
  if (r.attempt != item.attempt_id || item.status != WorkStatus::running)
    return;  // a late report of an earlier attempt
  set_item_status(*js, i, outcome.status);
  item.timecomplete = now();
  if (outcome.exitcode) item.exitcode = outcome.exitcode;
  if (outcome.signal) item.signal = outcome.signal;
  item.walltime = r.walltime;
  item.cputime = outcome.cputime;
  item.peak_rss_kb = outcome.peak_rss_kb;
  item.reason = outcome.reason;
  item.resultpackage = result_package(outcome.resultpackage);
  run.item.reset();
  close_attempt(*js, item);  // before the next item's log offsets replace this one's
  if (run.next) {
    // The item held ahead starts now: its worker hands it over as this result leaves.
    begin_held(*js, run);
  }
  if (item.status == WorkStatus::failed) {
    emit_work(*js, i, "failed", "item " + item.name + " failed on " + item.host + ": " + outcome_text(item), true);
    item_failed(*js, i);
  } else {
    emit_work(*js, i, "complete", "item " + item.name + " complete on " + item.host, false);
    item_completed(*js, i);
  }
  mark_item_now(js->job.id, i);
  derive_status(*js);  // the item's row carries the result; the job's only if its status moved
}

void Farm::on_instance_done(const std::string& rid, const proto::InstanceDone& done) {
  const std::int32_t subid = done.instance.subid;
  JobState* js = checked_instance(rid, done.instance);
  if (!js) return;
  JobStatus status = done.status == JobStatus::complete || done.status == JobStatus::killed ? done.status
                                                                                            : JobStatus::failed;
  if (js->job.status == JobStatus::killed) status = JobStatus::killed;
  if (js->running[subid].failed_run) status = JobStatus::failed;
  auto& inst = js->job.instances[static_cast<std::size_t>(subid)];
  if (done.exitcode && !inst.exitcode) inst.exitcode = done.exitcode;
  const bool never_started = status == JobStatus::failed && !js->running[subid].requested;
  if (status == JobStatus::failed && !never_started && js->job.status != JobStatus::killed)
    forgive_if_allowed(*js, subid);
  // Refused by its host: not the work's fault, an agenda-less job's run is owed
  // again elsewhere.
  if (done.refused) inst.lost = true;
  end_instance(*js, subid, status, done.reason);
  if (done.refused && refused_everywhere(*js, inst.host)) {
    fail_job(*js, "no host will run it: " + done.reason);
    return;
  }
  if (never_started && ++js->startup_failures >= kMaxStartupFailures)
    fail_job(*js, "instances fail to start: " + done.reason);
}

// The host will not run this job (its user does not exist there ...): it is not
// placed there again. True when no host that is up and offers its type is left.
bool Farm::refused_everywhere(JobState& js, const std::string& host) {
  js.refused_by.insert(host);
  for (const auto& [name, h] : hosts_)
    if (h.host.state != HostState::down && h.facts.offers_type(js.job.spec.type) && !js.refused_by.count(name))
      return false;
  return true;
}

void Farm::check_heartbeats(double timeout) {
  // A worker that still runs what the store says it ran registers within a
  // heartbeat timeout of the supervisor's start.
  write_off_orphans(timeout);
  const SteadyTime at = clock_.steady();
  for (auto& [name, h] : hosts_) {
    if (h.host.state == HostState::down || at - h.last_seen <= timeout) continue;
    spdlog::warn("worker {} missed its heartbeats for {:.1f} s: marked down", name, at - h.last_seen);
    h.host.state = HostState::down;
    lose_host_work(h, "lost: worker " + name + " stopped heartbeating");
    scheduler_.need();
  }
}

void Farm::on_worker_stopping(const std::string& rid, const proto::WorkerStopping& m) {
  HostRecord* h = find_host_rid(rid);
  if (!h) return;
  if (!m.finishing) return disconnect_worker(rid, "stopped: its running items were handed back");
  spdlog::info("worker {} is stopping: its {} instance(s) finish their items and it takes no new work",
               h->host.name, h->instances.size());
  h->stopping = true;
  admin_.refresh(*h);
}

void Farm::disconnect_worker(const std::string& rid, const std::string& reason) {
  const auto it = rid_to_host_.find(rid);
  if (it == rid_to_host_.end()) return;
  HostRecord& h = *it->second;
  rid_to_host_.erase(it);
  if (h.host.state == HostState::down) return;
  spdlog::warn("worker {} disconnected: {}", h.host.name, reason);
  // Its connection may still be open: its instances are told to stop, so that an
  // item does not go on there while it runs again elsewhere.
  for (const auto& [id, subid] : h.instances)
    if (const JobState* js = find_job(id)) kill_instance(*js, subid);
  h.host.state = HostState::down;
  lose_host_work(h, "lost: worker " + h.host.name + " " + reason);
  scheduler_.need();
}

void Farm::start_instance(JobState& js, HostRecord& h, const placement::Allocation& allocation) {
  Instance inst;
  inst.subid = static_cast<std::int32_t>(js.job.instances.size());
  inst.host = h.host.name;
  inst.status = JobStatus::running;
  inst.timestart = now();
  inst.slots = allocation.slots;
  inst.allocation = allocation.to_string();
  js.job.instances.push_back(inst);
  RunningInstance& run = js.running[inst.subid];
  run.allocation = allocation;
  run.placed = js.placement;
  scheduler_.started(js, h, allocation, WallTime{*inst.timestart});
  h.instances.emplace(js.job.id, inst.subid);
  mark_instance(js.job.id, inst.subid);
  if (!js.job.timestart) js.job.timestart = inst.timestart;
  js.job.reason.clear();
  update_status(js);
  scheduler_.requeue(js);
  const auto& s = js.job.spec;
  proto::StartInstance start;
  start.job.id = js.job.id;
  start.job.subid = inst.subid;
  start.job.pgrp = js.job.pgrp;
  start.job.name = s.name;
  start.job.type = s.type;
  start.job.user = s.user;
  start.job.package = s.package;
  start.job.env = s.env;
  // What it was granted, for the application to size itself (Qube's names).
  start.job.env["QB_JOBSLOTS"] = std::to_string(allocation.slots);
  start.job.env["QB_ALLOCATIONS"] = inst.allocation;
  // Which host runs it, as callbacks are told (QBHOST): a job can tell hosts apart.
  start.job.env["QBHOST"] = h.host.name;
  start.job.padding = s.padding;
  start.job.cwd = s.cwd;
  start.hooks = {s.preflights, s.postflights, s.agenda_preflights, s.agenda_postflights};
  send_worker(h.routing_id, proto::make_message(start));
  emit_instance(js, inst.subid, "running",
                "instance " + std::to_string(js.job.id) + "." + std::to_string(inst.subid) + " started on " + h.host.name);
  spdlog::info("instance {}.{} started on {}", js.job.id, inst.subid, h.host.name);
}

void Farm::end_instance(JobState& js, std::int32_t subid, JobStatus status, const std::string& reason) {
  auto run = js.running.find(subid);
  if (run == js.running.end()) return;
  return_held(js, run->second);
  if (run->second.item && run->second.began_held && status == JobStatus::complete) {
    // It ended cleanly without a result for the item it was to start from its
    // hold: it was told it was done instead (its worker stopping), so it never
    // ran it. A crash is not taken for this: that fails the item, as below.
    release_item(js, *run->second.item, WorkStatus::pending, "requeued: its instance ended before starting it");
  } else if (run->second.item) {
    // The instance ended while it held an item: its process died under it.
    release_item(js, *run->second.item, status == JobStatus::killed ? WorkStatus::killed : WorkStatus::failed,
                 reason.empty() ? "the instance ended while running this item" : reason);
  }
  const RunningInstance ended = std::move(run->second);
  js.running.erase(run);
  auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
  inst.status = status;
  inst.timecomplete = now();
  if (!reason.empty()) inst.reason = reason;
  mark_instance(js.job.id, subid);
  const std::string name(to_string(status));
  emit_instance(js, subid, name,
                "instance " + std::to_string(js.job.id) + "." + std::to_string(subid) + " " + name + " on " + inst.host +
                    (inst.reason.empty() ? "" : ": " + inst.reason));
  auto h = hosts_.find(inst.host);
  if (h != hosts_.end() && h->second.instances.erase({js.job.id, subid})) {
    scheduler_.ended(ended, h->second, WallTime{*inst.timecomplete});
  }
  update_status(js);
  scheduler_.requeue(js);
  scheduler_.need();
}

void Farm::lose_host_work(HostRecord& h, const std::string& reason) {
  const auto instances = h.instances;
  for (const auto& [id, subid] : instances) {
    JobState* js = find_job(id);
    if (!js) continue;
    auto run = js->running.find(subid);
    if (run != js->running.end() && run->second.item) {
      // Not the work's fault: it runs again elsewhere.
      release_item(*js, *run->second.item, WorkStatus::pending, reason);
      run->second.item.reset();
    }
    if (run != js->running.end()) {
      run->second.failed_run = false;
      js->job.instances[static_cast<std::size_t>(subid)].lost = js->job.status != JobStatus::killed;
    }
    end_instance(*js, subid, js->job.status == JobStatus::killed ? JobStatus::killed : JobStatus::failed, reason);
  }
  h.instances.clear();
  h.host.slots_used = 0;
}

void Farm::evict(JobState& js, std::int32_t subid, const std::string& reason) {
  auto run = js.running.find(subid);
  if (run == js.running.end()) return;
  auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
  kill_instance(js, subid);
  // Not the work's fault: its item runs again, not counted as a failed attempt,
  // and an agenda-less job is owed the run.
  if (run->second.item) {
    release_item(js, *run->second.item, WorkStatus::pending, reason);
    run->second.item.reset();
  }
  run->second.failed_run = false;
  inst.lost = true;
  end_instance(js, subid, JobStatus::killed, reason);
  scheduler_.need();
}

void Farm::stop_running(JobState& js, WorkStatus to, const std::string& reason) {
  for (auto& [subid, run] : js.running) {
    kill_instance(js, subid);
    // Sent back to pending (blocked, interrupted, requeued): a job without agenda
    // owes the stopped run again, or it would count as ended when it resumes.
    if (to == WorkStatus::pending && js.job.agenda.empty())
      js.job.instances[static_cast<std::size_t>(subid)].lost = true;
    if (run.item) release_item(js, *run.item, to, reason);
    run.item.reset();
    return_held(js, run);  // to pending: a kill ends it with the job's other pending items
  }
}

void Farm::forgive_if_allowed(JobState& js, std::int32_t subid) {
  int used = 0;
  for (const auto& inst : js.job.instances) used += inst.retried ? 1 : 0;
  if (used >= js.job.spec.retrysubjob) return;
  auto run = js.running.find(subid);
  if (run == js.running.end()) return;
  auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
  const std::string note =
      "instance died; retried (" + std::to_string(used + 1) + " of " + std::to_string(js.job.spec.retrysubjob) + ")";
  if (js.job.agenda.empty()) {
    inst.lost = true;  // its run is owed again
  } else if (run->second.item) {
    release_item(js, *run->second.item, WorkStatus::pending, "requeued: " + note);
    run->second.item.reset();
  } else {
    return;
  }
  inst.retried = true;
  run->second.failed_run = false;
  emit(js, "retried", "subjob", "instance " + std::to_string(js.job.id) + "." + std::to_string(subid) + " " + note);
}

void Farm::kill_instance(const JobState& js, std::int32_t subid) {
  const auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
  if (auto h = hosts_.find(inst.host); h != hosts_.end())
    send_worker(h->second.routing_id, proto::make_message(proto::KillInstance{{js.job.id, subid}}));
}

Json Farm::lock_hosts(const HostLock& request, bool lock) {
  // The instances there now, whose jobs' histories tell of the lock (a purge
  // ends them, so they are noted first).
  std::map<std::string, std::set<std::pair<JobId, std::int32_t>>> there;
  for (const std::string& name : request.hosts)
    if (auto h = hosts_.find(name); h != hosts_.end()) there[name] = h->second.instances;
  Json reply = admin_.lock(request, lock, [&](HostRecord& h, const std::string& reason) {
    const auto instances = h.instances;  // evict() changes the host's set
    for (const auto& [id, subid] : instances) evict(jobs_.at(id), subid, reason);
  });
  const std::string verb = lock ? "locked" : "unlocked";
  const bool purged = lock && request.purge;
  for (const auto& name : reply.at(verb)) {
    // Unlocked: no longer suspect, and its earlier exclusions no longer count.
    if (!lock) exclusions_.erase(name.get<std::string>());
    for (const auto& [id, subid] : there[name.get<std::string>()]) {
      const JobState* js = job(id);
      if (!js) continue;
      const std::string instance = std::to_string(id) + "." + std::to_string(subid);
      FarmEvent& e = emit(*js, verb, "subjob",
                          "host " + name.get<std::string>() + " " + verb + " by " + request.who +
                              (purged ? " (purged): instance " + instance + " stopped, its work goes back to pending"
                                      : " while instance " + instance + " runs there"),
                          request.who);
      e.subid = subid;
      e.host = name.get<std::string>();
    }
  }
  return reply;
}

void Farm::preempt_instance(JobState& victim, std::int32_t subid, const std::string& reason) {
  const std::string& host = victim.job.instances[static_cast<std::size_t>(subid)].host;
  emit(victim, "preempted", "subjob",
                "instance " + std::to_string(victim.job.id) + "." + std::to_string(subid) + " on " + host + " " + reason);
  evict(victim, subid, reason);
}

}  // namespace qube::supervisor
