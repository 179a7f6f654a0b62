// The client verbs of the Farm: listing, and every way a user steers jobs and
// their items (kill, block, retry, modify ...). State transitions they share with
// the worker side live in farm.cpp.
#include <chrono>
#include <fnmatch.h>

#include <spdlog/spdlog.h>

#include "farm.hpp"
#include "qube/codec.hpp"
#include "qube/range.hpp"
#include "qube/validate.hpp"

namespace qube::supervisor {

namespace {

// Which agenda items a `--work RANGE` names: those holding any of its frames.
// Without a range, every item. Items not named as frames are never named.
class WorkSelector {
 public:
  explicit WorkSelector(const std::string& work) {
    if (work.empty()) return;
    const auto list = expand_range(work);  // throws RangeError: a clear message
    frames_.insert(list.begin(), list.end());
  }
  bool operator()(const AgendaItem& item) const {
    if (frames_.empty()) return true;
    try {
      for (const auto& run : parse_range(item.name))
        for (std::size_t i = 0; i < run.count(); ++i)
          if (frames_.count(run.at(i))) return true;
    } catch (const RangeError&) {
    }
    return false;
  }

 private:
  std::set<Frame> frames_;
};

std::vector<JobId> id_list(const Json& body) {
  std::vector<JobId> ids;
  for (const auto& v : get_array(body, "ids")) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1) throw FormatError("ids must be positive integers");
    ids.push_back(v.get<JobId>());
  }
  return ids;
}

// Qube's job filters for listing and bulk operations: {user, name (a glob),
// status, pgrp}; an absent key matches everything.
class JobFilter {
 public:
  explicit JobFilter(const Json& filter) {
    user_ = get_string(filter, "user");
    name_ = get_string(filter, "name");
    status_ = get_string(filter, "status");
    pgrp_ = static_cast<JobId>(get_int(filter, "pgrp"));
    any_ = !user_.empty() || !name_.empty() || !status_.empty() || pgrp_ != 0;
    if (!status_.empty() && !parse_job_status(status_))
      throw std::runtime_error("unknown status '" + status_ + "'");
  }
  bool any() const { return any_; }
  bool operator()(const Job& job) const {
    if (!user_.empty() && job.spec.user != user_) return false;
    if (!name_.empty() && fnmatch(name_.c_str(), job.spec.name.c_str(), 0) != 0) return false;
    if (!status_.empty() && to_string(job.status) != status_) return false;
    if (pgrp_ != 0 && job.pgrp != pgrp_) return false;
    return true;
  }

 private:
  std::string user_, name_, status_;
  JobId pgrp_ = 0;
  bool any_ = false;
};

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

}  // namespace

std::string Farm::summary_of(const JobState& js) { return encode(to_json(js.job, false, js.progress())); }

std::string Farm::list_jobs(const Json& body) {
  const auto ids = id_list(body);
  // The filter's keys may also come at the top level (qb jobs --user ...).
  Json filter = get_object(body, "filter");
  for (const char* key : {"user", "name", "status", "pgrp"})
    if (body.contains(key) && !filter.contains(key)) filter[key] = body[key];
  const JobFilter matches(filter);
  std::vector<std::string_view> out;
  auto add = [&](JobState& js) {
    if (!matches(js.job)) return;
    // A dirty job has changed since its summary was kept (or is about to be
    // stored and forgotten): encode it afresh.
    if (js.summary.empty() || dirty_jobs.count(js.job.id)) js.summary = summary_of(js);
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
  return encode_array_of(out);
}

void Farm::jobs_stored() {
  for (JobId id : dirty_jobs)
    if (JobState* js = find_job(id)) {
      js->summary.clear();
      stale_summaries_.insert(id);
    }
  dirty_jobs.clear();
}

bool Farm::warm_summaries(double budget) {
  using clock = std::chrono::steady_clock;
  const auto until = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(budget));
  for (int n = 1; !stale_summaries_.empty(); ++n) {
    const JobId id = *stale_summaries_.begin();
    stale_summaries_.erase(stale_summaries_.begin());
    JobState* js = find_job(id);
    // A dirty job changes again before it is stored: warmed after that.
    if (js && js->summary.empty() && !dirty_jobs.count(id)) js->summary = summary_of(*js);
    if (n % 16 == 0 && clock::now() >= until) break;
  }
  return !stale_summaries_.empty();
}

Json Farm::show_job(const Json& body) const {
  const auto id = static_cast<JobId>(get_int(body, "id"));
  const JobState* js = job(id);
  if (!js) throw std::runtime_error("no job " + std::to_string(id));
  Json out = to_json(js->job, true);
  // Why it waits, as of now: hosts and resources change between passes.
  if (js->indexed && js->running.empty()) out["reason"] = placement_reason(*js);
  return Json{{"job", out}};
}

std::vector<JobId> Farm::select_jobs(const Json& body) const {
  std::vector<JobId> ids = id_list(body);
  const JobFilter matches(get_object(body, "filter"));
  if (ids.empty() && !matches.any()) throw std::runtime_error("no job ids or filters given");
  if (matches.any()) {
    // With ids, the filter narrows them; alone, it picks from every job.
    std::vector<JobId> picked;
    if (ids.empty()) {
      for (const auto& [id, js] : jobs_)
        if (matches(js.job)) picked.push_back(id);
    } else {
      for (JobId id : ids) {
        const JobState* js = job(id);
        if (!js || matches(js->job)) picked.push_back(id);  // a missing id is reported later
      }
    }
    ids = std::move(picked);
  }
  return ids;
}

bool Farm::may_steer(const JobState& js, const std::string& who) const {
  return who == js.job.spec.user || policy_.admins.count(who) > 0;
}

Json Farm::for_each_job(const Json& body, Verb verb,
                        const std::function<Json(JobState&, const std::string& who)>& act) {
  const auto ids = select_jobs(body);
  const std::string who = get_string(body, "user", "unknown");
  Json done = Json::array(), errors = Json::array();
  for (JobId id : ids) {
    JobState* js = find_job(id);
    if (!js) {
      errors.push_back("no job " + std::to_string(id));
      continue;
    }
    if (!may_steer(*js, who)) {
      errors.push_back("job " + std::to_string(id) + " belongs to " + js->job.spec.user + ": only " +
                       js->job.spec.user + " or an admin may " + verb.action + " it");
      continue;
    }
    if (!verb.ended_too && is_terminal(js->job.status)) {
      errors.push_back("job " + std::to_string(id) + " is already " + std::string(to_string(js->job.status)));
      continue;
    }
    Json outcome = act(*js, who);
    if (outcome.is_string()) {
      errors.push_back(outcome);
      continue;
    }
    if (find_job(id)) {  // `remove` erases it
      dirty_jobs.insert(id);
      requeue_queue_entry(*js);
    }
    done.push_back(outcome.is_null() ? Json(id) : outcome);
  }
  schedule_needed = true;
  return Json{{verb.done, done}, {"errors", errors}};
}

Json Farm::kill_jobs(const Json& body) {
  return for_each_job(body, {"killed", "kill", false}, [&](JobState& js, const std::string& who) -> Json {
    stop_running(js, WorkStatus::killed, "killed by " + who);
    const std::vector<std::size_t> pending(js.pending.begin(), js.pending.end());
    for (std::size_t i : pending) {
      set_item_status(js, i, WorkStatus::killed);
      js.job.agenda[i].reason = "killed by " + who;
    }
    js.job.reason = "killed by " + who;
    set_status(js, JobStatus::killed, who);
    return nullptr;
  });
}

void Farm::stop_running(JobState& js, WorkStatus to, const std::string& reason) {
  for (auto& [subid, run] : js.running) {
    const auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
    auto h = hosts_.find(inst.host);
    if (h != hosts_.end())
      send_worker(h->second.routing_id,
                  proto::Message{proto::kKillInstance, 0, Json{{"job", js.job.id}, {"subid", subid}}});
    if (run.item) release_item(js, *run.item, to, reason);
    run.item.reset();
  }
}

Json Farm::block_jobs(const Json& body, bool block) {
  const Verb verb = block ? Verb{"blocked", "block", false} : Verb{"unblocked", "unblock", false};
  return for_each_job(body, verb, [&](JobState& js, const std::string& who) -> Json {
    const bool blocked = js.job.status == JobStatus::blocked;
    if (block && !blocked) {
      stop_running(js, WorkStatus::pending, "requeued: job blocked by " + who);
      js.job.reason = "blocked by " + who;
      set_status(js, JobStatus::blocked, who);
    } else if (!block && blocked) {
      js.job.reason.clear();
      emit(js, "unblocked", "job", "job unblocked by " + who, who);
      js.job.status = JobStatus::pending;  // re-derived from its items and instances
      update_status(js);
    }
    return nullptr;
  });
}

Json Farm::suspend_jobs(const Json& body, bool suspend) {
  const Verb verb = suspend ? Verb{"suspended", "suspend", false} : Verb{"resumed", "resume", false};
  return for_each_job(body, verb, [&](JobState& js, const std::string& who) -> Json {
    const bool suspended = js.job.status == JobStatus::suspended;
    if (suspend == suspended) return nullptr;
    if (suspend && js.job.status == JobStatus::blocked)
      return "job " + std::to_string(js.job.id) + " is blocked; there is nothing running to suspend";
    // The processes stop where they are and keep their slots; nothing new starts.
    for (const auto& [subid, run] : js.running) {
      auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
      inst.status = suspend ? JobStatus::suspended : JobStatus::running;
      mark_instance(js.job.id, subid);
      if (auto h = hosts_.find(inst.host); h != hosts_.end())
        send_worker(h->second.routing_id,
                    proto::Message{proto::kSuspendInstance, 0,
                                   Json{{"job", js.job.id}, {"subid", subid}, {"suspend", suspend}}});
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
    return nullptr;
  });
}

Json Farm::interrupt_jobs(const Json& body) {
  return for_each_job(body, {"interrupted", "interrupt", false}, [&](JobState& js, const std::string& who) -> Json {
    // A job without agenda owes the interrupted runs again.
    for (const auto& [subid, run] : js.running) js.job.instances[static_cast<std::size_t>(subid)].lost = true;
    stop_running(js, WorkStatus::pending, "requeued: interrupted by " + who);
    emit(js, "interrupted", "job", "running work interrupted by " + who + "; items back to pending", who);
    return nullptr;
  });
}

Json Farm::modify_jobs(const Json& body) {
  const Json& set = get_object(body, "set");
  if (set.empty()) throw std::runtime_error("nothing to modify (give e.g. --priority 10)");
  for (const auto& [key, value] : set.items())
    if (!modifiable_fields().count(key)) throw std::runtime_error("'" + key + "' cannot be modified");
  return for_each_job(body, {"modified", "modify", false}, [&](JobState& js, const std::string& who) -> Json {
    Json merged = to_json(js.job.spec);
    std::string changes;
    for (const auto& [key, value] : set.items()) {
      if (merged[key] == value) continue;
      changes += (changes.empty() ? "" : ", ") + key + " " + merged[key].dump() + " -> " + value.dump();
      merged[key] = value;
    }
    JobSpec spec;
    try {
      spec = spec_from_json(merged);
    } catch (const std::exception& e) {
      return "job " + std::to_string(js.job.id) + ": " + e.what();
    }
    if (auto errors = validate(spec); !errors.empty())
      return "job " + std::to_string(js.job.id) + ": " + errors[0];
    if (changes.empty()) return nullptr;
    JobState changed;
    changed.job.id = js.job.id;
    changed.job.pgrp = js.job.pgrp;
    changed.job.pid = js.job.pid;
    changed.job.spec = spec;
    try {
      compile_placement(changed);
    } catch (const std::exception& e) {
      return "job " + std::to_string(js.job.id) + ": " + e.what();
    }
    // The queue and the pending index are ordered by priority: re-key the job
    // before it changes.
    unqueue(js);
    js.job.spec = std::move(spec);
    js.placement = std::move(changed.placement);
    emit(js, "modified", "job", "modified by " + who + ": " + changes, who);
    update_status(js);
    return nullptr;
  });
}

Json Farm::reorder_jobs(const Json& body, bool top) {
  const Verb verb = top ? Verb{"moved", "move", false} : Verb{"moved", "move", false};
  return for_each_job(body, verb, [&](JobState& js, const std::string& who) -> Json {
    // First (or last) among the jobs of its priority, waiting or not.
    std::int64_t rank = 0;
    for (const auto& [id, other] : jobs_)
      if (id != js.job.id && other.job.spec.priority == js.job.spec.priority)
        rank = top ? std::min(rank, other.job.rank - 1) : std::max(rank, other.job.rank + 1);
    unqueue(js);
    js.job.rank = rank;
    emit(js, "modified", "job", std::string("moved to the ") + (top ? "top" : "bottom") + " of priority " +
                                    std::to_string(js.job.spec.priority) + " by " + who, who);
    return nullptr;
  });
}

Json Farm::complete_work(const Json& body) {
  return act_on_items(
      body, {"completed", "complete items of", true}, "items to complete",
      [](const AgendaItem& item) {
        return item.status != WorkStatus::running && item.status != WorkStatus::complete &&
               item.status != WorkStatus::skipped;
      },
      [&](JobState& js, std::size_t i, const std::string& who) {
        set_item_status(js, i, WorkStatus::skipped);
        auto& item = js.job.agenda[i];
        item.reason = "completed by " + who + " without running";
        item.timecomplete = now_seconds();
        emit_work(js, i, "complete", "item " + item.name + " marked done without running by " + who, true);
      });
}

Json Farm::act_on_items(const Json& body, Verb verb, const char* what,
                        const std::function<bool(const AgendaItem&)>& eligible,
                        const std::function<void(JobState&, std::size_t, const std::string&)>& act) {
  const std::string work = get_string(body, "work");
  const WorkSelector selected(work);
  return for_each_job(body, verb, [&](JobState& js, const std::string& who) -> Json {
    std::size_t n = 0;
    for (std::size_t i = 0; i < js.job.agenda.size(); ++i) {
      if (!eligible(js.job.agenda[i]) || !selected(js.job.agenda[i])) continue;
      act(js, i, who);
      ++n;
    }
    if (n == 0) return "job " + std::to_string(js.job.id) + " has no " + what + (work.empty() ? "" : " in " + work);
    if (is_terminal(js.job.status)) {
      js.job.status = JobStatus::pending;  // re-derived below from its items
      js.job.timecomplete.reset();
      js.job.reason.clear();
    }
    update_status(js);
    spdlog::info("job {}: {} item(s) {} by {}", js.job.id, n, verb.done, who);
    return Json{{"id", js.job.id}, {"items", n}};
  });
}

Json Farm::remove_jobs(const Json& body) {
  return for_each_job(body, {"removed", "remove", true}, [&](JobState& js, const std::string&) -> Json {
    if (!is_terminal(js.job.status))
      return "job " + std::to_string(js.job.id) + " is " + std::string(to_string(js.job.status)) +
             "; only ended jobs can be removed (kill it first)";
    const JobId id = js.job.id;
    unqueue(js);
    jobs_.erase(id);
    removed_jobs.insert(id);
    return nullptr;
  });
}

namespace {

bool failed_or_killed(const AgendaItem& item) {
  return item.status == WorkStatus::failed || item.status == WorkStatus::killed;
}

}  // namespace

Json Farm::retry_jobs(const Json& body) {
  return act_on_items(body, {"retried", "retry", true}, "failed or killed items", failed_or_killed,
                      [&](JobState& js, std::size_t i, const std::string& who) {
                        js.job.agenda[i].reason = "retried by " + who;
                        js.job.agenda[i].failures = 0;
                        emit_work(js, i, "retried", "item " + js.job.agenda[i].name + " retried by " + who, true);
                        requeue_item(js, i);
                      });
}

Json Farm::requeue_jobs(const Json& body) {
  Json reply = act_on_items(body, {"requeued", "requeue", true}, "failed or killed items", failed_or_killed,
                            [&](JobState& js, std::size_t i, const std::string& who) {
                              js.job.agenda[i].reason = "requeued by " + who;
                              js.job.agenda[i].failures = 0;
                              emit_work(js, i, "retried", "item " + js.job.agenda[i].name + " requeued by " + who, true);
                              requeue_item(js, i);
                            });
  // Held so that it can be modified before it runs again.
  const std::string who = get_string(body, "user", "unknown");
  for (const auto& r : get_array(reply, "requeued")) {
    JobState* js = find_job(get_int(r, "id"));
    if (!js || js->job.status == JobStatus::blocked) continue;
    stop_running(*js, WorkStatus::pending, "requeued: job blocked by " + who);
    js->job.reason = "requeued by " + who + ": unblock it to run";
    set_status(*js, JobStatus::blocked, who);
    requeue_queue_entry(*js);
  }
  return reply;
}

}  // namespace qube::supervisor
