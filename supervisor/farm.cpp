#include "farm.hpp"

#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "qube/range.hpp"
#include "qube/validate.hpp"

namespace qube::supervisor {

namespace {

double steady_now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}


// Runs of an agenda-less job that count: lost instances are owed again.
int runs_started(const Job& job) {
  int n = 0;
  for (const auto& inst : job.instances) n += inst.lost ? 0 : 1;
  return n;
}

std::vector<AgendaItem> build_agenda(const JobSpec& spec) {
  std::vector<AgendaItem> agenda;
  auto add = [&](std::string name) {
    AgendaItem item;
    item.name = std::move(name);
    agenda.push_back(std::move(item));
  };
  std::vector<FrameRun> runs;
  if (!spec.range.empty())
    runs = make_items(parse_range(spec.range), static_cast<std::size_t>(spec.chunk),
                      static_cast<std::size_t>(spec.partitions));
  // Exactly sized: the agenda lives as long as the job.
  agenda.reserve(runs.size() + spec.agenda.size());
  for (const auto& run : runs) add(run.name());
  for (const auto& name : spec.agenda) add(name);
  return agenda;
}


}  // namespace

// ---------------------------------------------------------------- restore

void Farm::restore(std::vector<Job> jobs, JobId max_stored_id) {
  next_id_ = std::max(next_id_, max_stored_id + 1);
  for (auto& job : jobs) {
    next_id_ = std::max(next_id_, job.id + 1);
    JobState& js = jobs_[job.id];
    js.job = std::move(job);
    count_items(js);
    stale_summaries_.insert(js.job.id);
    for (std::size_t i = 0; i < js.job.agenda.size(); ++i) {
      auto& item = js.job.agenda[i];
      if (item.status == WorkStatus::running) {
        set_item_status(js, i, WorkStatus::pending);
        item.reason = "requeued: the supervisor restarted while it ran";
      }
      if (item.status == WorkStatus::retrying)
        set_item_status(js, i, WorkStatus::pending);  // the delay is not kept across a restart
    }
    // Instances are indexed by subid; a record the store could not read leaves
    // a hole, filled here so that no subid is ever handed out twice.
    std::vector<Instance> by_subid;
    for (auto& inst : js.job.instances) {
      if (inst.subid < 0 || inst.subid > 1'000'000) continue;
      while (static_cast<std::int32_t>(by_subid.size()) < inst.subid) {
        Instance hole;
        hole.subid = static_cast<std::int32_t>(by_subid.size());
        hole.status = JobStatus::failed;
        hole.lost = true;
        hole.reason = "record lost";
        by_subid.push_back(hole);
      }
      if (static_cast<std::int32_t>(by_subid.size()) == inst.subid) by_subid.push_back(inst);
    }
    js.job.instances = std::move(by_subid);
    for (auto& inst : js.job.instances) {
      if (!is_terminal(inst.status)) {
        inst.status = JobStatus::failed;
        inst.lost = true;
        inst.reason = "lost: the supervisor restarted";
        inst.timecomplete = now_seconds();
        mark_instance(js.job.id, inst.subid);
      }
    }
  }
  // Pipelines: dependencies (already ids) and callbacks are parsed again; a job whose
  // stored pipeline no longer parses keeps running without it, and says so.
  for (auto& [id, js] : jobs_)
    if (!js.job.spec.label.empty()) labels_[js.job.pgrp][js.job.spec.label] = id;
  for (auto& [id, js] : jobs_) {
    try {
      compile_placement(js);
    } catch (const std::exception& e) {
      // Placement rules may have tightened since it was stored: it keeps its
      // place in the queue, runs anywhere its type is offered, and says so.
      spdlog::error("job {}: stored placement is unusable ({}); ignoring it", id, e.what());
      JobState plain;
      plain.job.id = js.job.id;
      plain.job.pgrp = js.job.pgrp;
      plain.job.spec.type = js.job.spec.type;
      plain.job.spec.user = js.job.spec.user;
      plain.job.spec.priority = js.job.spec.priority;
      plain.job.spec.cpus = js.job.spec.cpus;
      compile_placement(plain);
      js.placement = plain.placement;
    }
    try {
      compile_pipeline(js, {});
    } catch (const std::exception& e) {
      spdlog::error("job {}: stored dependencies or callbacks are unusable ({}); ignoring them", id, e.what());
      js.deps.clear();
      js.callbacks.clear();
    }
    watch(js);
  }
  for (auto& [id, js] : jobs_) {
    refresh_dependencies(js);
    update_status(js);
    requeue_queue_entry(js);
  }
  schedule_needed = true;
}

// ---------------------------------------------------------------- clients

Json Farm::submit(const Json& body) {
  const Json& list = get_array(body, "jobs");
  if (list.empty()) throw std::runtime_error("submit: no jobs given");
  const std::string submitter = get_string(body, "user");
  std::vector<JobSpec> specs;
  for (std::size_t n = 0; n < list.size(); ++n) {
    JobSpec spec = spec_from_json(list[n]);
    auto errors = validate(spec);
    if (!errors.empty()) {
      std::string msg = "job " + std::to_string(n + 1) + " is invalid: " + errors[0];
      for (std::size_t i = 1; i < errors.size(); ++i) msg += "; " + errors[i];
      throw std::runtime_error(msg);
    }
    if (spec.user.empty()) spec.user = submitter.empty() ? "unknown" : submitter;
    // Submitting for someone else (qbsub --user) is for admins.
    if (!submitter.empty() && spec.user != submitter && !policy_.admins.count(submitter))
      throw std::runtime_error("only an admin may submit a job for another user ('" + spec.user + "'); " +
                               submitter + " is not an admin");
    specs.push_back(std::move(spec));
  }
  // All jobs of one submission are accepted together, as one process group, or
  // none is: every job is built and its pipeline checked before any is kept.
  Json ids = Json::array(), warnings = Json::array();
  const JobId pgrp = next_id_;
  const double now = now_seconds();
  std::vector<JobState> fresh(specs.size());
  std::map<std::string, JobId> labels;  // within this submission
  for (std::size_t n = 0; n < specs.size(); ++n) {
    Job& job = fresh[n].job;
    job.id = next_id_ + n;
    job.pgrp = pgrp;
    job.spec = std::move(specs[n]);
    if (!job.spec.label.empty() && !labels.emplace(job.spec.label, job.id).second)
      throw std::runtime_error("two jobs of this submission are labelled '" + job.spec.label + "'");
  }
  std::map<JobId, std::vector<JobId>> edges;
  for (std::size_t n = 0; n < fresh.size(); ++n) {
    JobState& js = fresh[n];
    try {
      compile_placement(js);
    } catch (const std::exception& e) {
      throw std::runtime_error("job " + std::to_string(n + 1) + " is invalid: " + e.what());
    }
    compile_pipeline(js, labels);
    for (const auto& d : js.deps) edges[js.job.id].push_back(d.target.id);
    // The parent: "pid" (an id), or "parent_label" (a job of this submission).
    const Json& entry = list[n];
    if (const std::string parent = get_string(entry, "parent_label"); !parent.empty()) {
      auto it = labels.find(parent);
      if (it == labels.end()) throw std::runtime_error("job " + std::to_string(n + 1) + ": no parent labelled '" + parent + "'");
      js.job.pid = it->second;
    } else if (const auto pid = static_cast<JobId>(get_int(entry, "pid")); pid != 0) {
      if (!jobs_.count(pid)) throw std::runtime_error("job " + std::to_string(n + 1) + ": no parent job " + std::to_string(pid));
      js.job.pid = pid;
    }
  }
  if (const auto cycle = find_cycle(edges); !cycle.empty()) throw std::runtime_error(cycle_message(cycle));

  next_id_ += fresh.size();
  for (auto& f : fresh) {
    Job& job = f.job;
    job.agenda = build_agenda(job.spec);
    job.timesubmit = now;
    job.status = job.spec.blocked ? JobStatus::blocked : JobStatus::pending;
    if (!offered_by_active_host(job.spec.type))
      warnings.push_back("job " + std::to_string(job.id) + ": no connected worker offers job type '" +
                         job.spec.type + "' yet; it waits until one does");
    const JobId id = job.id;
    JobState& js = jobs_[id] = std::move(f);
    count_items(js);
    for (std::size_t i = 0; i < js.job.agenda.size(); ++i) mark_item(id, i);
    dirty_jobs.insert(id);
    watch(js);
    ids.push_back(id);
    emit(js, "submit", "job", "submitted by " + js.job.spec.user + (js.job.status == JobStatus::blocked ? " (blocked)" : ""),
         js.job.spec.user);
    spdlog::info("job {} submitted by {}: {} ({} items, cpus {}, priority {})", id, js.job.spec.user,
                 js.job.spec.name, js.job.agenda.size(), js.job.spec.cpus, js.job.spec.priority);
  }
  // Level-triggered: a dependency on what already happened is met at once.
  for (const auto& id : ids) {
    JobState& js = jobs_.at(id.get<JobId>());
    refresh_dependencies(js);
    requeue_queue_entry(js);
  }
  schedule_needed = true;
  return Json{{"ids", ids}, {"warnings", warnings}};
}












void Farm::check_time_limits(double now) {
  for (auto& [id, js] : jobs_) {
    const auto& spec = js.job.spec;
    if (js.running.empty() || (spec.timelimit <= 0 && spec.agendatimelimit <= 0)) continue;
    if (js.job.status == JobStatus::suspended) continue;  // stopped on purpose
    if (spec.timelimit > 0 && js.job.timestart && now - *js.job.timestart > spec.timelimit) {
      const std::string reason = "exceeded the job's time limit of " + fmt::format("{:g} s", spec.timelimit);
      stop_running(js, WorkStatus::failed, reason);
      fail_job(js, reason);
      continue;
    }
    if (spec.agendatimelimit <= 0) continue;
    for (auto& [subid, run] : js.running) {
      if (!run.item) continue;
      AgendaItem& item = js.job.agenda[*run.item];
      if (!item.timestart || now - *item.timestart <= spec.agendatimelimit) continue;
      // The instance is killed with its item: the application may be wedged.
      const auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
      if (auto h = hosts_.find(inst.host); h != hosts_.end())
        send_worker(h->second.routing_id, proto::Message{proto::kKillInstance, 0, Json{{"job", id}, {"subid", subid}}});
      const std::size_t index = *run.item;
      release_item(js, index, WorkStatus::failed,
                   "exceeded the item time limit of " + fmt::format("{:g} s", spec.agendatimelimit));
      emit_work(js, index, "failed", "item " + js.job.agenda[index].name + " " + js.job.agenda[index].reason, true);
      run.item.reset();
      retry_if_allowed(js, index);
      update_status(js);
      requeue_queue_entry(js);
    }
  }
}

// ---------------------------------------------------------------- workers

void Farm::on_register(const std::string& rid, const Json& body, const std::string& client_endpoint,
                       double heartbeat_interval, std::uint64_t msg_id) {
  Host facts = host_from_json(body);
  if (facts.name.empty() || facts.name.size() > 255) throw FormatError("register: a worker needs a name");
  if (facts.slots < 0 || facts.slots > 100000) throw FormatError("register: slots out of range");
  // Placement facts (worker.yaml and detection) beside the basic ones; a bad
  // value refuses the registration rather than placing work on guesses.
  Json placement_facts = get_object(body, "facts");
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
    // Whatever it ran before is gone; its work goes back to pending.
    lose_host_work(h, "lost: worker " + facts.name + " restarted");
    rid_to_host_.erase(h.routing_id);
  }
  const Time registered = now_seconds();
  h.host = facts;
  h.host.state = HostState::active;
  h.host.slots_used = 0;
  h.host.registered = registered;
  h.host.last_heartbeat = registered;
  h.routing_id = rid;
  h.last_seen = steady_now();
  h.registered_facts = std::move(placement_facts);
  refresh_host_facts(h);
  rid_to_host_[rid] = facts.name;
  spdlog::info("worker {} registered: {} slots, {} MB, job types [{}]", facts.name, facts.slots,
               facts.memory_mb, fmt::join(facts.jobtypes, ", "));
  send_worker(rid, proto::Message{proto::kRegistered, msg_id,
                                  Json{{"heartbeat_interval", heartbeat_interval},
                                       {"client_endpoint", client_endpoint}}});
  schedule_needed = true;
}

void Farm::on_heartbeat(const std::string& rid, std::uint64_t msg_id, bool ack) {
  HostRecord* h = find_host_rid(rid);
  if (!h || h->host.state == HostState::down) {
    // A supervisor that restarted, or a worker it gave up on: start over.
    outbox.push_back(Outgoing{rid, false, proto::Message{proto::kReregister, msg_id, Json::object()}});
    return;
  }
  h->last_seen = steady_now();
  h->host.last_heartbeat = now_seconds();
  // Only when asked: an ack to every heartbeat was most of an idle farm's cost
  // (a TCP send and two epoll_ctl per worker per interval), and no worker reads it.
  if (ack) send_worker(rid, proto::Message{proto::kHeartbeatAck, msg_id, Json::object()});
}

JobState* Farm::checked_instance(const std::string& rid, const Json& body, std::int32_t& subid) {
  HostRecord* h = find_host_rid(rid);
  const auto id = static_cast<JobId>(get_int(body, "job"));
  subid = static_cast<std::int32_t>(get_int(body, "subid", -1));
  JobState* js = find_job(id);
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
  return js->second.job.instances[static_cast<std::size_t>(subid)].host == h->second;
}

void Farm::on_work_request(const std::string& rid, const Json& body) {
  std::int32_t subid = -1;
  JobState* js = checked_instance(rid, body, subid);
  if (!js) {
    // Stale: the instance was killed or written off meanwhile. Tell it to end
    // rather than leave it waiting for an answer that never comes.
    send_worker(rid, proto::Message{proto::kWork, 0,
                                    Json{{"job", get_int(body, "job")}, {"subid", subid}, {"done", true}}});
    return;
  }
  RunningInstance& run = js->running[subid];
  run.requested = true;
  const JobId id = js->job.id;
  Json reply{{"job", id}, {"subid", subid}};
  const bool live = js->job.status == JobStatus::running || js->job.status == JobStatus::pending;
  if (live && js->job.agenda.empty() && !run.ran_once) {
    run.ran_once = true;
    reply["index"] = -1;
    reply["item"] = "";
    reply["attempt"] = 1;
  } else if (run.yielding || (live && !run.item && should_yield(*js, run, *find_host_rid(rid)))) {
    // Preempted (passive): it finished its item; its slot goes to urgent work.
    if (!run.yielding)
      emit(*js, "preempted", "subjob",
           "instance " + std::to_string(id) + "." + std::to_string(subid) + " yields its slot to waiting work (priority or fair share)");
    run.yielding = true;
    reply["done"] = true;
  } else if (auto next = live && !run.item ? next_item_for(*js, subid) : std::nullopt) {
    const std::size_t index = *next;
    set_item_status(*js, index, WorkStatus::running);
    AgendaItem& item = js->job.agenda[index];
    const auto& inst = js->job.instances[static_cast<std::size_t>(subid)];
    item.attempts += 1;
    item.attempt_id = item.attempts;
    item.host = inst.host;
    item.subid = subid;
    item.timestart = now_seconds();
    item.timecomplete.reset();
    item.exitcode.reset();
    item.signal.reset();
    item.reason.clear();
    item.walltime = 0;
    item.cputime = 0;
    item.peak_rss_kb = 0;
    run.item = index;
    if (log_size) {  // where this attempt's output begins
      run.out_at = log_size(id, subid, false);
      run.err_at = log_size(id, subid, true);
    }
    reply["index"] = index;
    reply["item"] = item.name;
    reply["attempt"] = item.attempt_id;
  } else {
    reply["done"] = true;
  }
  send_worker(rid, proto::Message{proto::kWork, 0, std::move(reply)});
  requeue_queue_entry(*js);
}

void Farm::on_work_result(const std::string& rid, const Json& body) {
  std::int32_t subid = -1;
  JobState* js = checked_instance(rid, body, subid);
  if (!js) return;
  RunningInstance& run = js->running[subid];
  const std::int64_t index = get_int(body, "index", -2);
  const auto status = parse_work_status(get_string(body, "status"));
  if (!status || (*status != WorkStatus::complete && *status != WorkStatus::failed))
    throw FormatError("work_result: status must be complete or failed");
  if (index == -1) {
    auto& inst = js->job.instances[static_cast<std::size_t>(subid)];
    inst.exitcode = static_cast<int>(get_int(body, "exitcode", *status == WorkStatus::complete ? 0 : 1));
    inst.reason = get_string(body, "reason");
    run.failed_run = *status != WorkStatus::complete;
    mark_instance(js->job.id, subid);
    return;
  }
  if (index < 0 || !run.item || static_cast<std::size_t>(index) != *run.item) return;
  AgendaItem& item = js->job.agenda[static_cast<std::size_t>(index)];
  if (static_cast<std::uint64_t>(get_int(body, "attempt")) != item.attempt_id ||
      item.status != WorkStatus::running)
    return;  // a late report of an earlier attempt
  set_item_status(*js, static_cast<std::size_t>(index), *status);
  item.timecomplete = now_seconds();
  if (body.contains("exitcode") && !body["exitcode"].is_null())
    item.exitcode = static_cast<int>(get_int(body, "exitcode"));
  if (body.contains("signal") && !body["signal"].is_null())
    item.signal = static_cast<int>(get_int(body, "signal"));
  item.walltime = get_double(body, "walltime");
  item.cputime = get_double(body, "cputime");
  item.peak_rss_kb = static_cast<std::uint64_t>(get_int(body, "peak_rss_kb"));
  item.reason = get_string(body, "reason");
  item.resultpackage = result_package(get_object(body, "resultpackage"));
  run.item.reset();
  close_attempt(*js, item);
  const auto i = static_cast<std::size_t>(index);
  if (item.status == WorkStatus::failed) {
    emit_work(*js, i, "failed", "item " + item.name + " failed on " + item.host + ": " + outcome_text(item), true);
    retry_if_allowed(*js, i);
  } else {
    emit_work(*js, i, "complete", "item " + item.name + " complete on " + item.host, false);
  }
  mark_item(js->job.id, static_cast<std::size_t>(index));
  update_status(*js);
}

void Farm::retry_if_allowed(JobState& js, std::size_t index) {
  AgendaItem& item = js.job.agenda[index];
  item.failures += 1;
  // Retries left: the item waits out the delay as `retrying`, then pends again.
  if (static_cast<int>(item.failures) > js.job.spec.retrywork) return;
  item.reason += " (retry " + std::to_string(item.failures) + " of " + std::to_string(js.job.spec.retrywork) + ")";
  emit_work(js, index, "retried",
            "item " + item.name + " will run again (retry " + std::to_string(item.failures) + " of " +
                std::to_string(js.job.spec.retrywork) + ")",
            true);
  if (js.job.spec.retryworkdelay > 0) {
    set_item_status(js, index, WorkStatus::retrying);
    retries_.emplace(now_seconds() + js.job.spec.retryworkdelay, std::make_pair(js.job.id, index));
  } else {
    requeue_item(js, index);
  }
}

void Farm::requeue_item(JobState& js, std::size_t index) {
  set_item_status(js, index, WorkStatus::pending);
  requeue_queue_entry(js);
}

void Farm::release_due_retries(double now) {
  while (!retries_.empty() && retries_.begin()->first <= now) {
    const auto [id, index] = retries_.begin()->second;
    retries_.erase(retries_.begin());
    JobState* js = find_job(id);
    if (js && js->job.agenda[index].status == WorkStatus::retrying) requeue_item(*js, index);
  }
}


void Farm::on_instance_done(const std::string& rid, const Json& body) {
  std::int32_t subid = -1;
  JobState* js = checked_instance(rid, body, subid);
  if (!js) return;
  const std::string reported = get_string(body, "status", "failed");
  const std::string reason = get_string(body, "reason");
  JobStatus status = reported == "complete" ? JobStatus::complete
                     : reported == "killed" ? JobStatus::killed
                                            : JobStatus::failed;
  if (js->job.status == JobStatus::killed) status = JobStatus::killed;
  if (js->running[subid].failed_run) status = JobStatus::failed;
  auto& inst = js->job.instances[static_cast<std::size_t>(subid)];
  if (body.contains("exitcode") && body["exitcode"].is_number_integer() && !inst.exitcode)
    inst.exitcode = body["exitcode"].get<int>();
  const bool never_started = status == JobStatus::failed && !js->running[subid].requested;
  if (status == JobStatus::failed && !never_started && js->job.status != JobStatus::killed)
    forgive_if_allowed(*js, subid);
  end_instance(*js, subid, status, reason);
  if (never_started && ++js->startup_failures >= kMaxStartupFailures)
    fail_job(*js, "instances fail to start: " + reason);
}

void Farm::fail_job(JobState& js, const std::string& reason) {
  const std::vector<std::size_t> pending(js.pending.begin(), js.pending.end());
  for (std::size_t i : pending) {
    set_item_status(js, i, WorkStatus::failed);
    js.job.agenda[i].reason = reason;
    js.job.agenda[i].timecomplete = now_seconds();
  }
  js.job.reason = reason;
  if (js.job.agenda.empty() || js.running.empty()) set_status(js, JobStatus::failed);
  dirty_jobs.insert(js.job.id);
  requeue_queue_entry(js);
  spdlog::warn("job {} failed: {}", js.job.id, reason);
}

void Farm::check_heartbeats(double now_steady, double timeout) {
  for (auto& [name, h] : hosts_) {
    if (h.host.state == HostState::down || now_steady - h.last_seen <= timeout) continue;
    spdlog::warn("worker {} missed its heartbeats for {:.1f} s: marked down", name, now_steady - h.last_seen);
    h.host.state = HostState::down;
    lose_host_work(h, "lost: worker " + name + " stopped heartbeating");
    schedule_needed = true;
  }
}

// ---------------------------------------------------------------- scheduling

bool Farm::wants_instance(const JobState& js) const {
  if (js.job.status != JobStatus::pending && js.job.status != JobStatus::running) return false;
  const auto running = static_cast<int>(js.running.size());
  // --max_cpus: it may grow past --cpus into idle slots (placed after others).
  if (running >= std::max(js.job.spec.cpus, js.job.spec.max_cpus)) return false;
  if (js.job.agenda.empty()) return running < js.job.spec.cpus && runs_started(js.job) < js.job.spec.cpus;
  std::size_t idle = 0;
  for (const auto& [subid, run] : js.running)
    if (!run.item) ++idle;
  return js.pending.size() > idle;
}

void Farm::requeue_queue_entry(JobState& js) {
  const QueueKey key = queue_key(js);
  if (!wants_instance(js)) {
    unqueue(js);
    return;
  }
  if (queue_.insert(key).second) schedule_needed = true;
  const bool growth = static_cast<int>(js.running.size()) >= js.job.spec.cpus;
  if (js.indexed && js.indexed_growth == growth) return;
  if (!js.indexed) {
    unexplained_.insert(js.job.id);
    if (js.placement->reservations.slots.max == 0) ++zero_slot_jobs_;
  }
  placer_.pending().add(placement::PendingJob{js.placement, js.job.rank, growth});
  js.indexed = true;
  js.indexed_growth = growth;
  schedule_needed = true;
}

void Farm::unqueue(JobState& js) {
  queue_.erase(queue_key(js));
  if (!js.indexed) return;
  placer_.pending().remove(js.job.id);
  if (js.placement->reservations.slots.max == 0) --zero_slot_jobs_;
  js.indexed = false;
  unexplained_.erase(js.job.id);
}

void Farm::start_instance(JobState& js, HostRecord& h, const placement::Allocation& allocation) {
  Instance inst;
  inst.subid = static_cast<std::int32_t>(js.job.instances.size());
  inst.host = h.host.name;
  inst.status = JobStatus::running;
  inst.timestart = now_seconds();
  inst.slots = allocation.slots;
  inst.allocation = allocation.to_string();
  js.job.instances.push_back(inst);
  RunningInstance& run = js.running[inst.subid];
  run.allocation = allocation;
  run.placed = js.placement;
  placer_.started(*js.placement, allocation, h.facts, *inst.timestart);
  h.instances.emplace(js.job.id, inst.subid);
  h.host.slots_used = h.facts.slots_total - h.facts.slots_free;
  mark_instance(js.job.id, inst.subid);
  if (!js.job.timestart) js.job.timestart = inst.timestart;
  js.job.reason.clear();
  update_status(js);
  requeue_queue_entry(js);
  const auto& s = js.job.spec;
  // What it was granted, for the application to size itself (Qube's names).
  Json env = s.env;
  env["QB_JOBSLOTS"] = std::to_string(allocation.slots);
  env["QB_ALLOCATIONS"] = inst.allocation;
  Json info{{"id", js.job.id}, {"subid", inst.subid}, {"pgrp", js.job.pgrp}, {"name", s.name},
            {"type", s.type},  {"user", s.user},      {"package", s.package}, {"env", env},
            {"padding", s.padding}, {"cwd", s.cwd}};
  send_worker(h.routing_id, proto::Message{proto::kStartInstance, 0, Json{{"job", info}}});
  FarmEvent e;
  e.job = js.job.id;
  e.time = *inst.timestart;
  e.name = "running";
  e.type = "subjob";
  e.subid = inst.subid;
  e.host = h.host.name;
  e.text = "instance " + std::to_string(js.job.id) + "." + std::to_string(inst.subid) + " started on " + h.host.name;
  events.push_back(std::move(e));
  spdlog::info("instance {}.{} started on {}", js.job.id, inst.subid, h.host.name);
}

void Farm::release_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason) {
  AgendaItem& item = js.job.agenda[index];
  if (item.status != WorkStatus::running) return;
  set_item_status(js, index, to);
  item.reason = reason;
  if (to != WorkStatus::pending) item.timecomplete = now_seconds();
  close_attempt(js, item);
  if (to == WorkStatus::pending) item.timecomplete.reset();
}

void Farm::end_instance(JobState& js, std::int32_t subid, JobStatus status, const std::string& reason) {
  auto run = js.running.find(subid);
  if (run == js.running.end()) return;
  if (run->second.item) {
    // The instance ended while it held an item: its process died under it.
    release_item(js, *run->second.item, status == JobStatus::killed ? WorkStatus::killed : WorkStatus::failed,
                 reason.empty() ? "the instance ended while running this item" : reason);
  }
  const RunningInstance ended = std::move(run->second);
  js.running.erase(run);
  auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
  inst.status = status;
  inst.timecomplete = now_seconds();
  if (!reason.empty()) inst.reason = reason;
  mark_instance(js.job.id, subid);
  FarmEvent e;
  e.job = js.job.id;
  e.time = *inst.timecomplete;
  e.name = std::string(to_string(status));
  e.type = "subjob";
  e.subid = subid;
  e.host = inst.host;
  e.text = "instance " + std::to_string(js.job.id) + "." + std::to_string(subid) + " " + e.name + " on " + inst.host +
           (inst.reason.empty() ? "" : ": " + inst.reason);
  events.push_back(std::move(e));
  auto h = hosts_.find(inst.host);
  if (h != hosts_.end() && h->second.instances.erase({js.job.id, subid})) {
    HostRecord& host = h->second;
    placer_.ended(*ended.placed, ended.allocation, host.facts, *inst.timecomplete);
    host.host.slots_used = host.facts.slots_total - host.facts.slots_free;
  }
  update_status(js);
  requeue_queue_entry(js);
  schedule_needed = true;
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

void Farm::update_status(JobState& js) {
  Job& job = js.job;
  JobStatus next = job.status;
  if (is_terminal(job.status) || job.status == JobStatus::blocked || job.status == JobStatus::suspended) {
    next = job.status;
  } else if (js.waits_on_jobs && js.running.empty()) {
    next = JobStatus::waiting;
  } else if (!job.agenda.empty()) {
    const std::size_t failed = js.items(WorkStatus::failed) + js.items(WorkStatus::killed);
    const bool all_done = failed + js.items(WorkStatus::complete) + js.items(WorkStatus::skipped) == job.agenda.size();
    const bool any_failed = failed > 0;
    const bool any_waiting = js.items(WorkStatus::waiting) > 0;
    if (all_done) next = any_failed ? JobStatus::failed : JobStatus::complete;
    else if (!js.running.empty()) next = JobStatus::running;
    else next = js.pending.empty() && any_waiting ? JobStatus::waiting : JobStatus::pending;
  } else {
    int finished = 0, failed = 0;
    for (const auto& inst : job.instances) {
      if (inst.lost) continue;
      if (is_terminal(inst.status)) ++finished;
      if (inst.status == JobStatus::failed || inst.status == JobStatus::killed) ++failed;
    }
    if (finished >= job.spec.cpus && js.running.empty())
      next = failed ? JobStatus::failed : JobStatus::complete;
    else next = js.running.empty() ? JobStatus::pending : JobStatus::running;
  }
  if (next != job.status) {
    // A failure keeps its explanation; waiting reasons no longer apply.
    if (is_terminal(next) && (next == JobStatus::complete || job.reason.rfind("waiting", 0) == 0)) job.reason.clear();
    // Between running, pending and waiting is not news (an instance between items).
    const auto quiet = [](JobStatus st) {
      return st == JobStatus::pending || st == JobStatus::running || st == JobStatus::waiting;
    };
    if (quiet(next) && quiet(job.status) && next != JobStatus::running) job.status = next;
    else set_status(js, next);
  }
  dirty_jobs.insert(job.id);
}

void Farm::set_item_status(JobState& js, std::size_t index, WorkStatus to) {
  AgendaItem& item = js.job.agenda[index];
  --js.items_by_status[static_cast<std::size_t>(item.status)];
  ++js.items_by_status[static_cast<std::size_t>(to)];
  item.status = to;
  if (to == WorkStatus::pending) js.pending.insert(index);
  else js.pending.erase(index);
  mark_item(js.job.id, index);
  dirty_jobs.insert(js.job.id);  // its progress changed
}

void Farm::count_items(JobState& js) {
  js.pending.clear();
  js.items_by_status.fill(0);
  for (std::size_t i = 0; i < js.job.agenda.size(); ++i) {
    const WorkStatus s = js.job.agenda[i].status;
    ++js.items_by_status[static_cast<std::size_t>(s)];
    if (s == WorkStatus::pending) js.pending.insert(i);
  }
}

Progress JobState::progress() const {
  Progress p;
  p.total = job.agenda.size();
  p.pending = items(WorkStatus::pending);
  p.running = items(WorkStatus::running);
  p.complete = items(WorkStatus::complete) + items(WorkStatus::skipped);
  p.failed = items(WorkStatus::failed) + items(WorkStatus::killed);
  p.other = p.total - p.pending - p.running - p.complete - p.failed;
  return p;
}

// ---------------------------------------------------------------- lookups

bool Farm::offered_by_active_host(const std::string& type) const {
  for (const auto& [name, h] : hosts_)
    if (h.host.state != HostState::down)
      for (const auto& t : h.host.jobtypes)
        if (t == type) return true;
  return false;
}

JobState* Farm::find_job(JobId id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const JobState* Farm::job(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

HostRecord* Farm::find_host_rid(const std::string& rid) {
  auto it = rid_to_host_.find(rid);
  if (it == rid_to_host_.end()) return nullptr;
  auto h = hosts_.find(it->second);
  return h == hosts_.end() ? nullptr : &h->second;
}

const HostRecord* Farm::host_by_rid(const std::string& rid) const {
  return const_cast<Farm*>(this)->find_host_rid(rid);
}

void Farm::send_worker(const std::string& rid, proto::Message msg) {
  outbox.push_back(Outgoing{rid, false, std::move(msg)});
}

}  // namespace qube::supervisor
