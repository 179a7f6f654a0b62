// The client verbs of the Farm: listing, and every way a user steers jobs and
// their items (kill, block, retry, modify ...). Requests arrive decoded
// (steering.hpp); only the job's owner or an admin may steer it.
#include <spdlog/spdlog.h>

#include "farm.hpp"
#include "work_selector.hpp"
#include "qube/codec.hpp"
#include "qube/range.hpp"
#include "qube/validate.hpp"

namespace qube::supervisor {

namespace {

// The spec fields `qb modify` may change while a job lives. The agenda, type and
// package are what the job is; changing them would be a different job.
const std::set<std::string>& modifiable_fields() {
  static const std::set<std::string> fields{
      "name", "priority", "cpus", "max_cpus", "retrywork", "retryworkdelay", "retrysubjob",
      "retrydifferenthost", "timelimit", "agendatimelimit", "env", "hosts", "omithosts", "groups",
      "omitgroups", "services", "requirements", "reservations", "restrictions", "cluster", "flags", "mail",
      "description", "label", "callbacks", "dependency"};
  return fields;
}

bool failed_or_killed(const AgendaItem& item) {
  return item.status == WorkStatus::failed || item.status == WorkStatus::killed;
}

// Items that have yet to end: waiting their turn, held, or running.
bool unfinished(const AgendaItem& item) {
  return item.status == WorkStatus::pending || item.status == WorkStatus::waiting ||
         item.status == WorkStatus::retrying || item.status == WorkStatus::blocked ||
         item.status == WorkStatus::running;
}

bool may_hold(const AgendaItem& item) { return unfinished(item) && item.status != WorkStatus::blocked; }

bool held(const AgendaItem& item) { return item.status == WorkStatus::blocked; }

std::string job_text(const JobState& js) { return "job " + std::to_string(js.job.id); }

}  // namespace

// ---------------------------------------------------------------- listing

std::string Farm::summary_of(const JobState& js) { return encode(to_json(js.job, false, js.progress())); }

std::vector<std::string_view> Farm::list_jobs(const Json& body) {
  const auto ids = ids_from_json(body);
  // The filter's keys may also come at the top level (qb jobs --user ...).
  Json filter = get_object(body, "filter");
  for (const char* key : {"user", "name", "status", "pgrp", "token", "kind", "account", "domain"})
    if (body.contains(key) && !filter.contains(key)) filter[key] = body[key];
  JobFilter matches(filter);
  if (!matches.token().empty()) matches.token_jobs(jobs_of_token(matches.token()));
  std::vector<std::string_view> out;
  auto add = [&](JobState& js) {
    if (!matches(js.job)) return;
    // A dirty job has changed since its summary was kept (or is about to be
    // stored and forgotten): encode it afresh.
    if (js.summary.empty() || changed_this_round(js.job.id)) js.summary = summary_of(js);
    out.push_back(js.summary);
  };
  if (ids.empty()) {
    for (auto& [id, js] : jobs_) add(js);
  } else {
    for (JobId id : ids) {
      JobState* js = find_job(id);
      if (!js) throw std::runtime_error("no job " + std::to_string(id));
      add(*js);
    }
  }
  return out;
}

bool Farm::warm_summaries(double budget) {
  const SteadyTime until = clock_.steady() + budget;
  for (int n = 1; !stale_summaries_.empty(); ++n) {
    const JobId id = *stale_summaries_.begin();
    stale_summaries_.erase(stale_summaries_.begin());
    JobState* js = find_job(id);
    // A dirty job changes again before it is stored: warmed after that.
    if (js && js->summary.empty() && !changed_this_round(id)) js->summary = summary_of(*js);
    if (n % 16 == 0 && clock_.steady() >= until) break;
  }
  return !stale_summaries_.empty();
}

// ---------------------------------------------------------------- steering

StepOutcome Farm::steer(SteerVerb verb, const Steering& request) {
  switch (verb) {
    case SteerVerb::kill: return kill(request);
    case SteerVerb::block: return block(request, true);
    case SteerVerb::unblock: return block(request, false);
    case SteerVerb::suspend: return suspend(request, true);
    case SteerVerb::resume: return suspend(request, false);
    case SteerVerb::interrupt: return interrupt(request);
    case SteerVerb::top: return reorder(request, true);
    case SteerVerb::bottom: return reorder(request, false);
    case SteerVerb::complete: return complete_items(request);
    case SteerVerb::retry: return retry(request);
    case SteerVerb::requeue: return requeue(request);
    case SteerVerb::remove: return remove(request);
    case SteerVerb::satisfy: return satisfy(request);
    case SteerVerb::modify:
    case SteerVerb::append:
    case SteerVerb::fail: break;
  }
  throw std::logic_error("steer: modify, append and fail take more than a request (Farm::modify, append, fail)");
}

std::vector<JobId> Farm::select_jobs(const Steering& request) const {
  if (request.ids.empty() && !request.filter.any()) throw std::runtime_error("no job ids or filters given");
  if (!request.filter.any()) return request.ids;
  // With ids, the filter narrows them; alone, it picks from every job.
  std::vector<JobId> picked;
  if (request.ids.empty()) {
    for (const auto& [id, js] : jobs_)
      if (request.filter(js.job)) picked.push_back(id);
  } else {
    for (JobId id : request.ids) {
      const JobState* js = job(id);
      if (!js || request.filter(js->job)) picked.push_back(id);  // a missing id is reported later
    }
  }
  return picked;
}

bool Farm::may_steer(const JobState& js, const std::string& who) const {
  return who == js.job.spec.user || policy_.admins.count(who) > 0;
}

StepOutcome Farm::for_each_job(const Steering& request, SteerVerb verb, const JobAction& act) {
  const VerbWords& w = words(verb);
  StepOutcome outcome;
  outcome.verb = verb;
  for (JobId id : select_jobs(request)) {
    JobState* js = find_job(id);
    if (!js) {
      outcome.errors.push_back("no job " + std::to_string(id));
      continue;
    }
    if (!may_steer(*js, request.who)) {
      outcome.errors.push_back(job_text(*js) + " belongs to " + js->job.spec.user + ": only " + js->job.spec.user +
                               " or an admin may " + w.action + " it");
      continue;
    }
    if (!w.ended_too && is_terminal(js->job.status)) {
      outcome.errors.push_back(job_text(*js) + " is already " + std::string(to_string(js->job.status)));
      continue;
    }
    StepResult result = act(*js, request.who);
    if (!result.error.empty()) {
      outcome.errors.push_back(std::move(result.error));
      continue;
    }
    if (find_job(id)) {  // `remove` erases it
      fx_.dirty_jobs.insert(id);
      scheduler_.requeue(*js);
    }
    outcome.done.push_back(StepOutcome::Done{id, result.items});
  }
  scheduler_.need();
  return outcome;
}

StepOutcome Farm::kill(const Steering& request) {
  if (request.on_items()) return kill_items(request);
  return for_each_job(request, SteerVerb::kill, [&](JobState& js, const std::string& who) {
    stop_running(js, WorkStatus::killed, "killed by " + who);
    end_pending_items(js, WorkStatus::killed, "killed by " + who);
    js.job.reason = "killed by " + who;
    set_status(js, JobStatus::killed, who);
    return StepResult::done();
  });
}

// Only a callback fails a job on purpose ("fail-self"); an ended job is left as it is.
StepOutcome Farm::fail(const Steering& request, const std::string& reason) {
  if (request.on_items()) return fail_items(request, reason);
  return for_each_job(request, SteerVerb::fail, [&](JobState& js, const std::string&) {
    if (is_terminal(js.job.status)) return StepResult::done();
    stop_running(js, WorkStatus::failed, reason);
    fail_job(js, reason);
    return StepResult::done();
  });
}

StepOutcome Farm::block(const Steering& request, bool block) {
  if (request.on_items()) return block ? block_items(request) : unblock_items(request);
  return for_each_job(request, block ? SteerVerb::block : SteerVerb::unblock,
                      [&](JobState& js, const std::string& who) {
                        const bool blocked = js.job.status == JobStatus::blocked;
                        if (block && !blocked) {
                          block_job(js, "by " + who, who);
                        } else if (!block && blocked) {
                          js.job.reason.clear();
                          emit(js, "unblocked", "job", "job unblocked by " + who, who);
                          js.job.status = JobStatus::pending;  // re-derived from its items and instances
                          update_status(js);
                        }
                        return StepResult::done();
                      });
}

void Farm::block_job(JobState& js, const std::string& why, const std::string& who) {
  stop_running(js, WorkStatus::pending, "requeued: job blocked " + why);
  js.job.reason = "blocked " + why;
  set_status(js, JobStatus::blocked, who);
  scheduler_.requeue(js);
}

StepOutcome Farm::suspend(const Steering& request, bool suspend) {
  return for_each_job(request, suspend ? SteerVerb::suspend : SteerVerb::resume,
                      [&](JobState& js, const std::string& who) {
    const bool suspended = js.job.status == JobStatus::suspended;
    if (suspend == suspended) return StepResult::done();
    if (suspend && js.job.status == JobStatus::blocked)
      return StepResult::failed(job_text(js) + " is blocked; there is nothing running to suspend");
    // The processes stop where they are and keep their slots; nothing new starts.
    for (const auto& [subid, run] : js.running) {
      auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
      inst.status = suspend ? JobStatus::suspended : JobStatus::running;
      mark_instance(js.job.id, subid);
      if (auto h = hosts_.find(inst.host); h != hosts_.end())
        send_worker(h->second.routing_id,
                    proto::make_message(proto::SuspendInstance{{js.job.id, subid}, suspend}));
    }
    if (suspend) {
      js.job.reason = "suspended by " + who;
      set_status(js, JobStatus::suspended, who);
    } else {
      js.job.reason.clear();
      emit(js, "resumed", "job", "job resumed by " + who, who);
      js.job.status = JobStatus::pending;
      update_status(js);
    }
    return StepResult::done();
  });
}

StepOutcome Farm::interrupt(const Steering& request) {
  return for_each_job(request, SteerVerb::interrupt, [&](JobState& js, const std::string& who) {
    stop_running(js, WorkStatus::pending, "requeued: interrupted by " + who);
    emit(js, "interrupted", "job", "running work interrupted by " + who + "; items back to pending", who);
    return StepResult::done();
  });
}

StepOutcome Farm::modify(const Steering& request, const Json& set) {
  if (set.contains(kClearBadHosts)) return modify_clearing_bad_hosts(request, set);
  if (set.empty()) throw std::runtime_error("nothing to modify (give e.g. --priority 10)");
  for (const auto& [key, value] : set.items())
    if (!modifiable_fields().count(key)) throw std::runtime_error("'" + key + "' cannot be modified");
  // New dependencies or callbacks are compiled and watched afresh.
  const bool repipes = set.contains("dependency") || set.contains("callbacks");
  return for_each_job(request, SteerVerb::modify, [&](JobState& js, const std::string& who) {
    Json merged = to_json(js.job.spec);
    std::string changes;
    for (const auto& [key, value] : set.items()) {
      if (merged[key] == value) continue;
      changes += (changes.empty() ? "" : ", ") + key + " " + merged[key].dump() + " -> " + value.dump();
      merged[key] = value;
    }
    JobState changed;
    try {
      changed.job.spec = spec_from_json(merged);
      if (auto errors = validate(changed.job.spec); !errors.empty()) throw std::runtime_error(errors[0]);
      if (changes.empty()) return StepResult::done();
      changed.job.id = js.job.id;
      changed.job.pgrp = js.job.pgrp;
      changed.job.pid = js.job.pid;
      scheduler_.compile(changed);
      if (repipes) recompile_pipeline(js, changed);
    } catch (const std::exception& e) {
      return StepResult::failed(job_text(js) + ": " + e.what());
    }
    // Its priority may change: the queue re-keys it.
    scheduler_.reorder(js, [&] {
      js.job.spec = std::move(changed.job.spec);
      js.placement = std::move(changed.placement);
    });
    if (repipes) apply_pipeline(js, std::move(changed));
    emit(js, "modified", "job", "modified by " + who + ": " + changes, who);
    update_status(js);
    return StepResult::done();
  });
}

StepOutcome Farm::reorder(const Steering& request, bool top) {
  return for_each_job(request, top ? SteerVerb::top : SteerVerb::bottom, [&](JobState& js, const std::string& who) {
    // First (or last) among the jobs of its priority, waiting or not.
    std::int64_t rank = 0;
    for (const auto& [id, other] : jobs_)
      if (id != js.job.id && other.job.spec.priority == js.job.spec.priority)
        rank = top ? std::min(rank, other.job.rank - 1) : std::max(rank, other.job.rank + 1);
    scheduler_.reorder(js, [&] { js.job.rank = rank; });
    emit(js, "modified", "job", std::string("moved to the ") + (top ? "top" : "bottom") + " of priority " +
                                    std::to_string(js.job.spec.priority) + " by " + who, who);
    return StepResult::done();
  });
}

StepOutcome Farm::remove(const Steering& request) {
  return for_each_job(request, SteerVerb::remove, [&](JobState& js, const std::string&) {
    if (!is_terminal(js.job.status))
      return StepResult::failed(job_text(js) + " is " + std::string(to_string(js.job.status)) +
                                "; only ended jobs can be removed (kill it first)");
    drop_job(js);
    return StepResult::done();
  });
}

StepOutcome Farm::satisfy(const Steering& request) {
  return for_each_job(request, SteerVerb::satisfy, [&](JobState& js, const std::string& who) {
    if (js.deps.empty()) return StepResult::failed(job_text(js) + " has no dependencies");
    js.deps.clear();
    js.job.spec.dependency.clear();
    release_dependencies(js);
    emit(js, "modified", "job", "dependencies satisfied by hand by " + who, who);
    update_status(js);
    return StepResult::done();
  });
}

// ---------------------------------------------------------------- items

StepOutcome Farm::act_on_items(const Steering& request, SteerVerb verb, const char* what,
                               const std::function<bool(const AgendaItem&)>& eligible, const ItemAction& act) {
  const WorkSelector selected(request.work, request.subid);
  return for_each_job(request, verb, [&](JobState& js, const std::string& who) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < js.job.agenda.size(); ++i) {
      if (!eligible(js.job.agenda[i]) || !selected(js.job.agenda[i])) continue;
      act(js, i, who);
      ++n;
    }
    if (n == 0)
      return StepResult::failed(job_text(js) + " has no " + what + (request.work.empty() ? "" : " in " + request.work));
    if (is_terminal(js.job.status)) {
      js.job.status = JobStatus::pending;  // re-derived below from its items
      js.job.timecomplete.reset();
      js.job.reason.clear();
    }
    update_status(js);
    spdlog::info("job {}: {} item(s) {} by {}", js.job.id, n, words(verb).done, who);
    return StepResult::done_items(n);
  });
}

StepOutcome Farm::complete_items(const Steering& request) {
  return act_on_items(
      request, SteerVerb::complete, "items to complete",
      [](const AgendaItem& item) {
        return item.status != WorkStatus::running && item.status != WorkStatus::complete &&
               item.status != WorkStatus::skipped;
      },
      [&](JobState& js, std::size_t i, const std::string& who) {
        set_item_status(js, i, WorkStatus::skipped);
        auto& item = js.job.agenda[i];
        // Nothing ran: what an earlier attempt left (host, exit code, times) stays
        // in its history, not on the item.
        item.host.clear();
        item.subid = -1;
        item.exitcode.reset();
        item.signal.reset();
        item.timestart.reset();
        item.walltime = item.cputime = 0;
        item.peak_rss_kb = 0;
        item.reason = "completed by " + who + " without running";
        item.timecomplete = now();
        emit_work(js, i, "complete", "item " + item.name + " marked done without running by " + who, true);
      });
}

StepOutcome Farm::retry(const Steering& request) {
  return act_on_items(request, SteerVerb::retry, "failed or killed items", failed_or_killed,
                      [&](JobState& js, std::size_t i, const std::string& who) {
                        js.job.agenda[i].reason = "retried by " + who;
                        js.job.agenda[i].failures = 0;
                        js.refused_by.clear();  // every host gets another chance (the user may exist by now)
                        emit_work(js, i, "retried", "item " + js.job.agenda[i].name + " retried by " + who, true);
                        requeue_item(js, i);
                      });
}

StepOutcome Farm::requeue(const Steering& request) {
  StepOutcome outcome =
      act_on_items(request, SteerVerb::requeue, "failed or killed items", failed_or_killed,
                   [&](JobState& js, std::size_t i, const std::string& who) {
                     js.job.agenda[i].reason = "requeued by " + who;
                     js.job.agenda[i].failures = 0;
                     emit_work(js, i, "retried", "item " + js.job.agenda[i].name + " requeued by " + who, true);
                     requeue_item(js, i);
                   });
  // Held so that it can be modified before it runs again.
  for (const auto& done : outcome.done) {
    JobState* js = find_job(done.id);
    if (!js || js->job.status == JobStatus::blocked) continue;
    stop_running(*js, WorkStatus::pending, "requeued: job blocked by " + request.who);
    js->job.reason = "requeued by " + request.who + ": unblock it to run";
    set_status(*js, JobStatus::blocked, request.who);
    scheduler_.requeue(*js);
  }
  return outcome;
}

// A running item stops where it is: its instance is killed (the item's process
// may be wedged in it, as for the item time limit) and takes no further item
// before it ends; the item becomes `to`.
// An item held ahead is taken back the same way: its worker would hand it over
// the moment the current item ends, so the instance is stopped, and the item it
// was running goes back to pending (not its fault).
void Farm::stop_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason) {
  for (auto& [subid, run] : js.running) {
    if (run.item != index && run.next != index) continue;
    kill_instance(js, subid);
    run.yielding = true;
    if (run.next == index) {
      run.next.reset();
      if (run.item) release_item(js, *run.item, WorkStatus::pending, "requeued: its instance was stopped to take back its next item");
    } else {
      return_held(js, run);
    }
    release_item(js, index, to, reason);
    run.item.reset();
    return;
  }
}

// Killed or failed on purpose: the item ends without (further) running, and no
// retry follows. The job ends as it does when an attempt fails for good.
void Farm::end_item(JobState& js, std::size_t index, WorkStatus to, const std::string& reason) {
  AgendaItem& item = js.job.agenda[index];
  if (item.status == WorkStatus::running) {
    stop_item(js, index, to, reason);
  } else {
    set_item_status(js, index, to);
    item.reason = reason;
    item.timecomplete = now();
  }
  emit_work(js, index, std::string(to_string(to)), "item " + item.name + " " + reason, true);
}

StepOutcome Farm::kill_items(const Steering& request) {
  return act_on_items(request, SteerVerb::kill, "items to kill", unfinished,
                      [&](JobState& js, std::size_t i, const std::string& who) {
                        end_item(js, i, WorkStatus::killed, "killed by " + who);
                      });
}

StepOutcome Farm::fail_items(const Steering& request, const std::string& reason) {
  return act_on_items(request, SteerVerb::fail, "items to fail", unfinished,
                      [&](JobState& js, std::size_t i, const std::string&) {
                        end_item(js, i, WorkStatus::failed, reason);
                      });
}

StepOutcome Farm::block_items(const Steering& request) {
  return act_on_items(
      request, SteerVerb::block, "items to block", may_hold, [&](JobState& js, std::size_t i, const std::string& who) {
        AgendaItem& item = js.job.agenda[i];
        const std::string reason = "blocked by " + who;
        if (item.status == WorkStatus::running) {
          stop_item(js, i, WorkStatus::blocked, reason);
          item.timecomplete.reset();  // held, not ended
        } else {
          set_item_status(js, i, WorkStatus::blocked);
          item.reason = reason;
        }
        emit_work(js, i, "blocked", "item " + item.name + " " + reason, true);
      });
}

StepOutcome Farm::unblock_items(const Steering& request) {
  StepOutcome outcome =
      act_on_items(request, SteerVerb::unblock, "blocked items", held, [&](JobState& js, std::size_t i, const std::string& who) {
        js.job.agenda[i].reason.clear();
        emit_work(js, i, "unblocked", "item " + js.job.agenda[i].name + " unblocked by " + who, true);
        requeue_item(js, i);
      });
  for (const auto& done : outcome.done) {
    JobState* js = find_job(done.id);
    if (!js) continue;
    // An item that waits for other jobs' frames waits again.
    refresh_dependencies(*js);
  }
  return outcome;
}

}  // namespace qube::supervisor
