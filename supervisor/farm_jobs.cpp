// Jobs and their agendas: submitting and restoring jobs, each item's status
// (and the counts kept beside it), retries and time limits, and the job's
// status as it follows from its items and instances.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "farm.hpp"
#include "qube/agenda_order.hpp"
#include "qube/range.hpp"
#include "qube/validate.hpp"

namespace qube::supervisor {

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
  // Items are handed out in agenda order: --order and the preview items reorder it here, once.
  const AgendaOrder order = parse_agenda_order(spec.order);
  const std::string preview = effective_preview(spec);
  if (order == AgendaOrder::as_written && preview.empty()) return agenda;
  std::vector<std::string> names;
  names.reserve(agenda.size());
  for (const auto& item : agenda) names.push_back(item.name);
  std::vector<AgendaItem> ordered;
  ordered.reserve(agenda.size());
  for (std::size_t i : dispatch_order(names, order, preview)) ordered.push_back(std::move(agenda[i]));
  return ordered;
}

namespace {

// The existing process group a submission joins (qbsub --pgrp), or 0. Throws
// unless the group exists and its jobs are the submitter's own: joining lets a
// job's labels and callbacks reach into the group, so another user's group is
// for admins only, as submitting for another user is.
JobId joined_group(const Submission& s, const std::map<JobId, JobState>& jobs, const std::set<std::string>& admins) {
  JobId joined = 0;
  for (const auto& entry : s.jobs) {
    if (entry.pgrp == 0) continue;
    if (joined != 0 && entry.pgrp != joined)
      throw std::runtime_error("a submission joins one process group, not both " + std::to_string(joined) + " and " +
                               std::to_string(entry.pgrp));
    joined = entry.pgrp;
  }
  if (joined == 0) return 0;
  const std::string& who = s.submitter.empty() ? s.jobs.front().spec.user : s.submitter;
  bool exists = false;
  for (const auto& [id, js] : jobs) {
    if (js.job.pgrp != joined) continue;
    exists = true;
    if (js.job.spec.user != who && !admins.count(who))
      throw std::runtime_error("process group " + std::to_string(joined) + " has jobs of another user ('" +
                               js.job.spec.user + "'); only an admin may join it, and " + who + " is not an admin");
  }
  if (!exists) throw std::runtime_error("there is no process group " + std::to_string(joined));
  return joined;
}

}  // namespace

void Farm::restore(std::vector<Job> jobs, JobId max_stored_id) {
  next_id_ = std::max(next_id_, max_stored_id + 1);
  restored_at_ = clock_.steady();
  for (auto& job : jobs) restore_job(std::move(job));
  restore_pipelines();
  for (auto& [id, js] : jobs_) {
    refresh_dependencies(js);
    update_status(js);
    scheduler_.requeue(js);
  }
  scheduler_.need();
}

// One stored job as the previous supervisor left it. Its running instances are
// orphans until their workers report them (farm_adoption.cpp): adopted with the
// items they hold, or lost after a grace period. An item running on an instance
// that is not even that is pending again.
void Farm::restore_job(Job job) {
  next_id_ = std::max(next_id_, job.id + 1);
  JobState& js = jobs_[job.id];
  js.job = std::move(job);
  count_items(js);
  stale_summaries_.insert(js.job.id);
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
    if (is_terminal(inst.status)) continue;
    if (inst.status == JobStatus::running && !inst.host.empty()) {
      orphans_[{js.job.id, inst.subid}] = Orphan{inst.host, std::nullopt, std::nullopt};
      continue;
    }
    inst.status = JobStatus::failed;
    inst.lost = true;
    inst.reason = "lost: the supervisor restarted";
    inst.timecomplete = now();
    mark_instance(js.job.id, inst.subid);
  }
  for (std::size_t i = 0; i < js.job.agenda.size(); ++i) {
    auto& item = js.job.agenda[i];
    if (item.status == WorkStatus::running) {
      const auto orphan = orphans_.find({js.job.id, item.subid});
      if (orphan != orphans_.end() && !orphan->second.item) {
        orphan->second.item = i;
        continue;
      }
      if (orphan != orphans_.end() && !orphan->second.second) {
        orphan->second.second = i;
        continue;
      }
      set_item_status(js, i, WorkStatus::pending);
      item.reason = "requeued: the supervisor restarted while it ran";
    }
    if (item.status == WorkStatus::retrying)
      set_item_status(js, i, WorkStatus::pending);  // the delay is not kept across a restart
  }
  arm_preexec(js);
}

// Placement, dependencies and callbacks are compiled again; a job whose stored
// ones no longer compile keeps running without them, and says so.
void Farm::restore_pipelines() {
  for (auto& [id, js] : jobs_)
    if (!js.job.spec.label.empty()) labels_[js.job.pgrp][js.job.spec.label] = id;
  for (auto& [id, js] : jobs_) {
    try {
      scheduler_.compile(js);
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
      scheduler_.compile(plain);
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
}

void Farm::restore_submissions(std::vector<SubmissionRecord> records) {
  for (auto& r : records) {
    auto& ids = submissions_[{std::move(r.token), std::move(r.user)}];
    ids.insert(ids.end(), r.ids.begin(), r.ids.end());
  }
}

// ---------------------------------------------------------------- submitting

namespace {

// One warning per job type no connected worker offers, however many jobs of it
// were submitted: a file of 1,000 jobs gets one line, not 1,000.
Json unoffered_warnings(const std::map<std::string, std::vector<JobId>>& unoffered) {
  Json warnings = Json::array();
  for (const auto& [type, jobs] : unoffered) {
    const std::string what = "no connected worker offers job type '" + type + "' yet; ";
    if (jobs.size() == 1)
      warnings.push_back("job " + std::to_string(jobs.front()) + ": " + what + "it waits until one does");
    else
      warnings.push_back("jobs " + std::to_string(jobs.front()) + " to " + std::to_string(jobs.back()) + " (" +
                         std::to_string(jobs.size()) + " of them): " + what + "they wait until one does");
  }
  return warnings;
}

}  // namespace

Json Farm::submit(Submission submission) {
  if (submission.jobs.empty()) throw std::runtime_error("submit: no jobs given");
  // Sent again (its client timed out, or a script retried): the same reply as
  // the first time, without the warnings, which were given then.
  const std::string token = submission.token, submitter = submission.submitter;
  if (!token.empty())
    if (auto made = jobs_made(submitter, token)) return Json{{"ids", *made}, {"warnings", Json::array()}};
  // All jobs of one submission are accepted together, as one process group, or
  // none is: every job is built and its pipeline checked before any is kept.
  check_specs(submission);
  auto built = std::move(submission.agendas);
  std::vector<JobState> fresh = build_submission(std::move(submission));
  next_id_ += fresh.size();
  Json ids = Json::array();
  std::map<std::string, std::vector<JobId>> unoffered;  // job type -> the jobs no worker can run yet
  const double submitted = now();
  for (std::size_t n = 0; n < fresh.size(); ++n) {
    Job& job = fresh[n].job;
    auto& f = fresh[n];
    job.agenda = n < built.size() && built[n] ? std::move(*built[n]) : build_agenda(job.spec);
    job.timesubmit = submitted;
    job.status = job.spec.blocked ? JobStatus::blocked : JobStatus::pending;
    if (!scheduler_.offered(job.spec.type)) unoffered[job.spec.type].push_back(job.id);
    const JobId id = job.id;
    JobState& js = jobs_[id] = std::move(f);
    count_items(js);
    arm_preexec(js);
    if (js.job.agenda.size() > kRowsPerRound) {
      // Stored a slice per round; it runs once all of it is stored. (The jobs of
      // one submission are stored in one commit, whatever their number: spread
      // over rounds, a crash midway would leave part of a submission, and its
      // token, sent again, would name only that part.)
      js.storing = true;
      fx_.whole_agendas.insert(id);
      fx_.fresh_agendas.insert(id);
    } else {
      for (std::size_t i = 0; i < js.job.agenda.size(); ++i) mark_item(id, i);
    }
    fx_.dirty_jobs.insert(id);
    watch(js);
    ids.push_back(id);
    // An admin's submission for someone else (qbsub --user) names both.
    const std::string& owner = js.job.spec.user;
    const std::string by = submitter.empty() || submitter == owner ? owner : submitter + " for " + owner;
    emit(js, "submit", "job", "submitted by " + by + (js.job.status == JobStatus::blocked ? " (blocked)" : ""),
         submitter.empty() ? owner : submitter);
    spdlog::info("job {} submitted by {}: {} ({} items, cpus {}, priority {})", id, by, js.job.spec.name,
                 js.job.agenda.size(), js.job.spec.cpus, js.job.spec.priority);
  }
  // Level-triggered: a dependency on what already happened is met at once.
  for (const auto& id : ids) {
    JobState& js = jobs_.at(id.get<JobId>());
    refresh_dependencies(js);
    scheduler_.requeue(js);
  }
  scheduler_.need();
  if (!token.empty()) {
    SubmissionRecord made{submitter, token, ids.get<std::vector<JobId>>()};
    submissions_[{token, submitter}] = made.ids;
    fx_.submissions.push_back(std::move(made));
  }
  return Json{{"ids", ids}, {"warnings", unoffered_warnings(unoffered)}};
}

std::optional<std::vector<JobId>> Farm::jobs_made(const std::string& user, const std::string& token) {
  const auto it = submissions_.find({token, user});
  if (it == submissions_.end()) return std::nullopt;
  std::vector<JobId> ids;
  for (JobId id : it->second)
    if (jobs_.count(id)) ids.push_back(id);
  // All removed: the token is free again (its store rows went with the jobs).
  if (ids.empty()) {
    submissions_.erase(it);
    return std::nullopt;
  }
  return ids;
}

std::vector<JobId> Farm::jobs_of_token(const std::string& token) const {
  std::vector<JobId> ids;
  for (auto it = submissions_.lower_bound({token, std::string()}); it != submissions_.end() && it->first.first == token;
       ++it)
    for (JobId id : it->second)
      if (jobs_.count(id)) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Each job spec must be valid and owned by someone the submitter may submit for
// (an unowned one becomes the submitter's).
void Farm::check_specs(Submission& submission) const {
  const std::string& submitter = submission.submitter;
  for (std::size_t n = 0; n < submission.jobs.size(); ++n) {
    JobSpec& spec = submission.jobs[n].spec;
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
  }
}

// The submission's jobs with ids, placement, pipeline and parents, not yet
// kept: throws if any of them cannot be, naming it.
std::vector<JobState> Farm::build_submission(Submission submission) {
  auto& entries = submission.jobs;
  // A submission is one process group: a new one, or its parent's (a child
  // submitted from inside a running job joins its family, as in Qube!).
  JobId pgrp = next_id_;
  for (const auto& entry : entries)
    if (const JobState* parent = entry.pid != 0 ? job(entry.pid) : nullptr) {
      pgrp = parent->job.pgrp;
      break;
    }
  // An explicit group (qbsub --pgrp) wins; its labels must stay unique in it.
  const JobId joined = joined_group(submission, jobs_, policy_.admins);
  if (joined != 0) {
    pgrp = joined;
    for (const auto& entry : entries)
      if (!entry.spec.label.empty() && label_in_pgrp(joined, entry.spec.label))
        throw std::runtime_error("process group " + std::to_string(joined) + " already has a job labelled '" +
                                 entry.spec.label + "'");
  }
  std::vector<JobState> fresh(entries.size());
  std::map<std::string, JobId> labels;  // within this submission
  for (std::size_t n = 0; n < entries.size(); ++n) {
    Job& job = fresh[n].job;
    job.id = next_id_ + n;
    job.pgrp = pgrp;
    job.spec = std::move(entries[n].spec);
    if (!job.spec.label.empty() && !labels.emplace(job.spec.label, job.id).second)
      throw std::runtime_error("two jobs of this submission are labelled '" + job.spec.label + "'");
  }
  std::map<JobId, std::vector<JobId>> edges;
  for (std::size_t n = 0; n < fresh.size(); ++n) {
    JobState& js = fresh[n];
    const std::string which = "job " + std::to_string(n + 1);
    try {
      scheduler_.compile(js);
    } catch (const std::exception& e) {
      throw std::runtime_error(which + " is invalid: " + e.what());
    }
    compile_pipeline(js, labels);
    for (const auto& d : js.deps) edges[js.job.id].push_back(d.target.id);
    // The parent: "pid" (an id), or "parent_label" (a job of this submission).
    const auto& entry = entries[n];
    if (const std::string& parent = entry.parent_label; !parent.empty()) {
      auto it = labels.find(parent);
      if (it == labels.end()) throw std::runtime_error(which + ": no parent labelled '" + parent + "'");
      js.job.pid = it->second;
    } else if (const JobId pid = entry.pid; pid != 0) {
      if (!jobs_.count(pid)) throw std::runtime_error(which + ": no parent job " + std::to_string(pid));
      js.job.pid = pid;
    }
  }
  if (const auto cycle = find_cycle(edges); !cycle.empty()) throw std::runtime_error(cycle_message(cycle));
  return fresh;
}

// ---------------------------------------------------------------- time limits and retries

void Farm::check_time_limits() {
  const double at = now();
  for (auto& [id, js] : jobs_) {
    const auto& spec = js.job.spec;
    if (js.running.empty() || (spec.timelimit <= 0 && spec.agendatimelimit <= 0)) continue;
    if (js.job.status == JobStatus::suspended) continue;  // stopped on purpose
    if (spec.timelimit > 0 && js.job.timestart && at - *js.job.timestart > spec.timelimit) {
      const std::string reason = "exceeded the job's time limit of " + fmt::format("{:g} s", spec.timelimit);
      stop_running(js, WorkStatus::failed, reason);
      fail_job(js, reason);
      continue;
    }
    if (spec.agendatimelimit <= 0) continue;
    for (auto& [subid, run] : js.running) {
      if (!run.item) continue;
      AgendaItem& item = js.job.agenda[*run.item];
      if (!item.timestart || at - *item.timestart <= spec.agendatimelimit) continue;
      // The instance is killed with its item: the application may be wedged.
      kill_instance(js, subid);
      const std::size_t index = *run.item;
      release_item(js, index, WorkStatus::failed,
                   "exceeded the item time limit of " + fmt::format("{:g} s", spec.agendatimelimit));
      emit_work(js, index, "failed", "item " + js.job.agenda[index].name + " " + js.job.agenda[index].reason, true);
      run.item.reset();
      item_failed(js, index);
      update_status(js);
      scheduler_.requeue(js);
    }
  }
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
    retries_.emplace(clock_.wall() + js.job.spec.retryworkdelay, std::make_pair(js.job.id, index));
  } else {
    requeue_item(js, index);
  }
}

void Farm::requeue_item(JobState& js, std::size_t index) {
  set_item_status(js, index, WorkStatus::pending);
  scheduler_.requeue(js);
}

void Farm::release_due_retries() {
  const WallTime now = clock_.wall();
  while (!retries_.empty() && retries_.begin()->first <= now) {
    const auto [id, index] = retries_.begin()->second;
    retries_.erase(retries_.begin());
    JobState* js = find_job(id);
    if (js && js->job.agenda[index].status == WorkStatus::retrying) requeue_item(*js, index);
  }
}

void Farm::fail_job(JobState& js, const std::string& reason) {
  const std::vector<std::size_t> pending(js.pending.begin(), js.pending.end());
  for (std::size_t i : pending) {
    set_item_status(js, i, WorkStatus::failed);
    js.job.agenda[i].reason = reason;
    js.job.agenda[i].timecomplete = now();
  }
  js.job.reason = reason;
  if (js.job.agenda.empty() || js.running.empty()) set_status(js, JobStatus::failed);
  fx_.dirty_jobs.insert(js.job.id);
  scheduler_.requeue(js);
  spdlog::warn("job {} failed: {}", js.job.id, reason);
}

void Farm::release_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason) {
  AgendaItem& item = js.job.agenda[index];
  if (item.status != WorkStatus::running) return;
  set_item_status(js, index, to);
  item.reason = reason;
  if (to != WorkStatus::pending) {
    item.timecomplete = now();
    // Stopped here (a time limit, a kill): no result reports how long it ran.
    if (item.timestart && item.walltime <= 0) item.walltime = *item.timecomplete - *item.timestart;
  }
  close_attempt(js, item);
  if (to == WorkStatus::pending) item.timecomplete.reset();
}

void Farm::update_status(JobState& js) {
  derive_status(js);
  fx_.dirty_jobs.insert(js.job.id);
}

void Farm::derive_status(JobState& js) {
  Job& job = js.job;
  const JobStatus status_before = job.status;
  const std::string reason_before = job.reason;
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
  // Items that wait only for other jobs' frames: the job says whose.
  if (next == JobStatus::waiting && !js.waits_on_jobs) job.reason = frames_waiting_reason(js);
  else if (job.reason.rfind(kFramesWaiting, 0) == 0) job.reason.clear();
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
  if (job.status != status_before || job.reason != reason_before) fx_.dirty_jobs.insert(job.id);
}

void Farm::set_item_status(JobState& js, std::size_t index, WorkStatus to) {
  AgendaItem& item = js.job.agenda[index];
  --js.items_by_status[static_cast<std::size_t>(item.status)];
  ++js.items_by_status[static_cast<std::size_t>(to)];
  item.status = to;
  if (to == WorkStatus::pending) js.pending.insert(index);
  else js.pending.erase(index);
  mark_item(js.job.id, index);
  fx_.progressed_jobs.insert(js.job.id);
}

void Farm::end_pending_items(JobState& js, WorkStatus to, const std::string& reason) {
  const std::size_t n = js.pending.size();
  if (n == 0) return;
  for (std::size_t i : js.pending) {
    AgendaItem& item = js.job.agenda[i];
    item.status = to;
    item.reason = reason;
    if (n <= kRowsPerRound) mark_item(js.job.id, i);
  }
  if (n > kRowsPerRound) fx_.whole_agendas.insert(js.job.id);
  js.items_by_status[static_cast<std::size_t>(WorkStatus::pending)] -= n;
  js.items_by_status[static_cast<std::size_t>(to)] += n;
  js.pending.clear();
  fx_.progressed_jobs.insert(js.job.id);
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

}  // namespace qube::supervisor

namespace qube::supervisor {

// qb append: HQueue's and Afanasy's growing jobs (simulation wedges, a shot
// extended). The new items are checked like a submission's (range syntax,
// chunking, limits), must not repeat an item the job has, and join the end of
// the agenda pending, so its instances or new ones take them at once.
StepOutcome Farm::append(const Steering& request, const Json& items) {
  JobSpec added;
  added.range = get_string(items, "range");
  added.chunk = static_cast<int>(get_int(items, "chunk", 1));
  for (const auto& name : get_array(items, "agenda")) {
    if (!name.is_string()) throw std::runtime_error("agenda: item names must be strings");
    added.agenda.push_back(name.get<std::string>());
  }
  if (added.range.empty() && added.agenda.empty())
    throw std::runtime_error("nothing to append (give --range or --items)");
  return for_each_job(request, SteerVerb::append, [&](JobState& js, const std::string& who) {
    if (js.job.agenda.empty())
      return StepResult::failed("job " + std::to_string(js.job.id) + " has no agenda; only jobs with one can grow");
    JobSpec grown = js.job.spec;
    grown.range = added.range;
    grown.chunk = added.chunk;
    grown.partitions = 0;
    grown.agenda = added.agenda;
    // The job's --order applies to what it grows by; its preview items were the first ones.
    grown.preview.clear();
    std::erase(grown.flags, "p_agenda");
    std::vector<AgendaItem> extra;
    try {
      if (auto errors = validate(grown); !errors.empty()) throw std::runtime_error(errors[0]);
      extra = build_agenda(grown);
    } catch (const std::exception& e) {
      return StepResult::failed("job " + std::to_string(js.job.id) + ": " + e.what());
    }
    if (js.job.agenda.size() + extra.size() > kMaxFramesPerJob)
      return StepResult::failed("job " + std::to_string(js.job.id) + ": more than " +
                                std::to_string(kMaxFramesPerJob) + " items in all");
    std::set<std::string_view> names;
    for (const auto& item : js.job.agenda) names.insert(item.name);
    for (const auto& item : extra)
      if (!names.insert(item.name).second)
        return StepResult::failed("job " + std::to_string(js.job.id) + " already has an item " + item.name);
    const std::size_t first = js.job.agenda.size();
    for (auto& item : extra) {
      js.job.agenda.push_back(std::move(item));
      const std::size_t i = js.job.agenda.size() - 1;
      ++js.items_by_status[static_cast<std::size_t>(WorkStatus::pending)];
      js.pending.insert(i);
      mark_item(js.job.id, i);
    }
    emit(js, "modified", "job",
         "appended " + std::to_string(extra.size()) + " item(s) (" + js.job.agenda[first].name + " to " +
             js.job.agenda.back().name + ") by " + who,
         who);
    refresh_dependencies(js);  // frame by frame, the new items wait for their frames
    update_status(js);
    return StepResult::done_items(extra.size());
  });
}

void Farm::mark_item(JobId id, std::size_t index) {
  if (fx_.whole_agendas.count(id)) return;
  if (++fx_.item_marks[id] > kRowsPerRound) {
    fx_.whole_agendas.insert(id);
    return;
  }
  fx_.dirty_items.emplace(id, index);
}

void Farm::agenda_stored(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second.storing) return;
  it->second.storing = false;
  scheduler_.requeue(it->second);
  scheduler_.need();
}

}  // namespace qube::supervisor
