// Pipelines on one mechanism: every state change is an event (farm_history.cpp);
// after each round, settle() lets dependencies and callbacks react to them.
// Dependencies hold jobs (`waiting`) or single items (frame by frame) until what
// they wait on has happened; callbacks run internal actions at once and hand
// shell, python and mail to the runner off the event loop.
#include <functional>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "farm.hpp"

namespace qube::supervisor {

namespace {

// Answers trigger questions from the Farm's jobs as they are now.
class FarmStateQuery final : public StateQuery {
 public:
  explicit FarmStateQuery(const std::map<JobId, JobState>& jobs) : jobs_(jobs) {}
  bool job(JobId id, EventName name) const override {
    const JobState* js = find(id);
    return js && status_matches(name, js->job.status);
  }
  bool work(JobId id, std::string_view item, EventName name) const override {
    const JobState* js = find(id);
    if (!js) return false;
    for (const auto& i : js->job.agenda)
      if (items_overlap(item, i.name) && status_matches(name, i.status)) return true;
    return false;
  }
  bool subjob(JobId id, std::int32_t subid, EventName name) const override {
    const JobState* js = find(id);
    if (!js) return false;
    for (const auto& inst : js->job.instances)
      if ((subid < 0 || inst.subid == subid) && status_matches(name, inst.status)) return true;
    return false;
  }

 private:
  const JobState* find(JobId id) const {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : &it->second;
  }
  const std::map<JobId, JobState>& jobs_;
};

// One internal action of a `qube` callback: VERB-TARGET, VERB-work-TARGET or
// VERB-subjob-TARGET, where TARGET is self, a job id or a label: "unblock-self",
// "kill-12", "retry-work-self", "kill-subjob-self"; and "mail-status".
struct QubeAction {
  enum class Scope { job, work, subjob, mail };
  std::string verb;
  Scope scope = Scope::job;
  JobRef target;
  SteerVerb op = SteerVerb::kill;  // the farm operation it calls
};

// The actions on jobs, on work (VERB-work-TARGET) and on instances
// (VERB-subjob-TARGET), and the farm operation each calls. Preempting or
// migrating a job interrupts it: its items go back to pending and it runs again
// wherever the scheduler places it. Unblocking work releases held items, and
// frame-by-frame dependencies (satisfy).
const std::map<std::string, SteerVerb>& job_verbs() {
  static const std::map<std::string, SteerVerb> v{
      {"unblock", SteerVerb::unblock}, {"block", SteerVerb::block},       {"kill", SteerVerb::kill},
      {"fail", SteerVerb::fail},       {"retry", SteerVerb::retry},       {"complete", SteerVerb::complete},
      {"interrupt", SteerVerb::interrupt}, {"suspend", SteerVerb::suspend}, {"resume", SteerVerb::resume},
      {"preempt", SteerVerb::interrupt}, {"migrate", SteerVerb::interrupt}, {"satisfy", SteerVerb::satisfy}};
  return v;
}
const std::map<std::string, SteerVerb>& work_verbs() {
  static const std::map<std::string, SteerVerb> v{
      {"retry", SteerVerb::retry}, {"requeue", SteerVerb::requeue}, {"complete", SteerVerb::complete},
      {"fail", SteerVerb::fail},   {"block", SteerVerb::block},     {"unblock", SteerVerb::unblock},
      {"kill", SteerVerb::kill}};
  return v;
}
const std::map<std::string, SteerVerb>& subjob_verbs() {
  static const std::map<std::string, SteerVerb> v{
      {"kill", SteerVerb::kill},          {"interrupt", SteerVerb::interrupt}, {"preempt", SteerVerb::interrupt},
      {"migrate", SteerVerb::interrupt}, {"retry", SteerVerb::retry}};
  return v;
}

// Actions are separated by whitespace, ';' or newlines.
std::vector<QubeAction> parse_qube_actions(const std::string& code) {
  using Scope = QubeAction::Scope;
  std::vector<QubeAction> actions;
  std::string word;
  std::istringstream in(code);
  auto fail = [&](const std::string& why) -> std::runtime_error {
    return std::runtime_error("callback action '" + word + "': " + why +
                              " (e.g. unblock-self, kill-12, retry-work-self, kill-subjob-self, mail-status)");
  };
  while (in >> word) {
    while (!word.empty() && word.back() == ';') word.pop_back();
    if (word.empty()) continue;
    QubeAction a;
    if (word == "mail-status") {
      a.verb = "mail";
      a.scope = Scope::mail;
      a.target.kind = JobRef::Kind::self;
      actions.push_back(std::move(a));
      continue;
    }
    const auto dash = word.find('-');
    if (dash == std::string::npos) throw fail("needs a target");
    a.verb = word.substr(0, dash);
    std::string rest = word.substr(dash + 1);
    for (const auto& [prefix, scope] : {std::pair{"work-", Scope::work}, std::pair{"subjob-", Scope::subjob}})
      if (rest.rfind(prefix, 0) == 0) {
        a.scope = scope;
        rest = rest.substr(std::string_view(prefix).size());
      }
    const auto& verbs = a.scope == Scope::work ? work_verbs() : a.scope == Scope::subjob ? subjob_verbs() : job_verbs();
    const auto op = verbs.find(a.verb);
    if (op == verbs.end())
      throw fail(a.scope == Scope::job ? "unknown action '" + a.verb + "'"
                                       : "'" + a.verb + "' does not act on " +
                                             (a.scope == Scope::work ? "work" : "instances (subjobs)"));
    a.op = op->second;
    if (rest == "self") {
      a.target.kind = JobRef::Kind::self;
    } else if (!rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos && rest.size() < 19) {
      a.target.kind = JobRef::Kind::id;
      a.target.id = std::stoull(rest);
    } else if (is_valid_label(rest)) {
      a.target.kind = JobRef::Kind::label;
      a.target.label = rest;
    } else {
      throw fail("'" + rest + "' is not self, a job id or a label");
    }
    actions.push_back(std::move(a));
  }
  if (actions.empty()) throw std::runtime_error("callback: a qube callback needs an action, e.g. unblock-self");
  return actions;
}

const std::set<std::string>& languages() {
  static const std::set<std::string> l{"qube", "shell", "python", "mail"};
  return l;
}

std::string progress_text(const Job& job) {
  const Progress p = progress_of(job);
  std::string text(to_string(job.status));
  if (p.total > 0) text += ", " + std::to_string(p.complete) + "/" + std::to_string(p.total);
  return text;
}

// What a dependency waits for, as the end of "waiting for job 12 to ...":
// "link-done-job-12" waits for it to end, not "to done".
std::string to_happen(EventName condition) {
  switch (condition) {
    case EventName::complete: return "complete";
    case EventName::done: return "end";
    case EventName::failed: return "fail";
    case EventName::killed: return "be killed";
    default: return std::string(to_string(condition));
  }
}

}  // namespace

void Farm::set_policy(FarmPolicy policy) {
  std::vector<CompiledCallback> site;
  for (const auto& cb : policy.site_callbacks) {
    if (!languages().count(cb.language))
      throw std::runtime_error("site callback '" + cb.triggers + "': unknown language '" + cb.language + "'");
    if (cb.language == "qube") parse_qube_actions(cb.code);
    site.push_back(CompiledCallback{cb, parse_trigger(cb.triggers)});
  }
  site_callbacks_ = std::move(site);
  policy_ = std::move(policy);
  scheduler_.configure(policy_);
  admin_.configure(policy_);
}

void Farm::compile_pipeline(JobState& js, const std::map<std::string, JobId>& batch) {
  const auto known = [&](JobId id) { return jobs_.count(id) > 0 || id == js.job.id; };
  auto resolve = [&](const std::string& label) -> std::optional<JobId> {
    if (auto it = batch.find(label); it != batch.end()) return it->second;
    return label_in_pgrp(js.job.pgrp, label);
  };
  std::vector<Dependency> deps = parse_dependencies(js.job.spec.dependency);
  for (auto& d : deps) {
    if (d.target.kind == JobRef::Kind::label) {
      const auto id = resolve(d.target.label);
      if (!id) throw std::runtime_error("dependency '" + d.text() + "': no job labelled '" + d.target.label +
                                        "' in this submission");
      d.target = JobRef{JobRef::Kind::id, *id, {}};
    }
    if (d.target.id == js.job.id) throw std::runtime_error("dependency '" + d.text() + "': a job cannot wait for itself");
    if (!known(d.target.id) && !std::any_of(batch.begin(), batch.end(), [&](const auto& b) { return b.second == d.target.id; }))
      throw std::runtime_error("dependency '" + d.text() + "': there is no job " + std::to_string(d.target.id));
  }
  js.deps = std::move(deps);
  js.job.spec.dependency = dependency_text(js.deps);  // ids from now on: labels were resolved
  js.callbacks.clear();
  for (const auto& cb : js.job.spec.callbacks) {
    if (!languages().count(cb.language))
      throw std::runtime_error("callback '" + cb.triggers + "': unknown language '" + cb.language +
                               "' (qube, shell, python or mail)");
    Expr triggers = parse_trigger(cb.triggers);
    for (const auto& label : labels_of(triggers))
      if (!resolve(label)) throw std::runtime_error("callback '" + cb.triggers + "': no job labelled '" + label + "'");
    if (cb.language == "qube") parse_qube_actions(cb.code);
    js.callbacks.push_back(CompiledCallback{cb, std::move(triggers)});
  }
}

void Farm::recompile_pipeline(const JobState& js, JobState& changed) {
  changed.job.id = js.job.id;
  changed.job.pgrp = js.job.pgrp;
  compile_pipeline(changed, {});
  if (const std::string cycle = dependency_cycle(js.job.id, changed.deps); !cycle.empty())
    throw std::runtime_error("dependency cycle: " + cycle);
  for (const auto& d : changed.deps) {
    const JobState* t = job(d.target.id);
    if (t && d.kind == EventType::job && dependency_state(d.condition, t->job.status) == DependencyState::broken)
      throw std::runtime_error("dependency '" + d.text() + "' can never be met: job " + std::to_string(d.target.id) +
                               " is " + std::string(to_string(t->job.status)));
  }
}

void Farm::apply_pipeline(JobState& js, JobState&& changed) {
  release_dependencies(js);
  js.deps = std::move(changed.deps);
  js.callbacks = std::move(changed.callbacks);
  // Watchers of the old targets stay: a re-examination they cause finds nothing to do.
  watch(js);
  refresh_dependencies(js);
}

std::string Farm::dependency_cycle(JobId start, const std::vector<Dependency>& deps) const {
  // Depth-first over the jobs the new dependencies reach; `path` is the chain so
  // far. Jobs seen once need no second visit: the graph was acyclic before.
  std::vector<JobId> path{start};
  std::set<JobId> seen;
  std::function<bool(const std::vector<Dependency>&)> reaches_start = [&](const std::vector<Dependency>& ds) {
    for (const auto& d : ds) {
      path.push_back(d.target.id);
      if (d.target.id == start) return true;
      const JobState* t = job(d.target.id);
      if (t && seen.insert(d.target.id).second && reaches_start(t->deps)) return true;
      path.pop_back();
    }
    return false;
  };
  if (!reaches_start(deps)) return {};
  std::string text;
  for (JobId id : path) text += (text.empty() ? "" : " -> ") + std::to_string(id);
  return text;
}

void Farm::release_dependencies(JobState& js) {
  js.waits_on_jobs = false;
  if (js.job.reason.rfind("waiting for job", 0) == 0) js.job.reason.clear();
  for (std::size_t i = 0; i < js.job.agenda.size(); ++i)
    if (js.job.agenda[i].status == WorkStatus::waiting) {
      js.job.agenda[i].reason.clear();
      requeue_item(js, i);
    }
}

std::optional<JobId> Farm::label_in_pgrp(JobId pgrp, const std::string& label) const {
  auto g = labels_.find(pgrp);
  if (g == labels_.end()) return std::nullopt;
  auto it = g->second.find(label);
  return it == g->second.end() ? std::nullopt : std::optional<JobId>(it->second);
}

void Farm::watch(JobState& js) {
  if (!js.job.spec.label.empty()) labels_[js.job.pgrp][js.job.spec.label] = js.job.id;
  for (const auto& d : js.deps) watchers_[d.target.id].insert(js.job.id);
  TriggerContext ctx{js.job.id, [&](const std::string& label) { return label_in_pgrp(js.job.pgrp, label); }};
  for (const auto& cb : js.callbacks)
    for (const Atom* atom : atoms_of(cb.triggers))
      if (auto id = ctx.job_of(atom->job); id && *id != js.job.id) watchers_[*id].insert(js.job.id);
}

std::string Farm::waiting_reason(const JobState& js) const {
  std::string reason;
  for (const auto& d : js.deps) {
    const JobState* t = job(d.target.id);
    if (!t) continue;
    if (d.kind == EventType::work) continue;  // frame by frame: frames_waiting_reason
    if (dependency_state(d.condition, t->job.status) != DependencyState::waiting) continue;
    reason += (reason.empty() ? "waiting for " : "; ") + std::string("job ") + std::to_string(d.target.id) + " to " +
              to_happen(d.condition) + " (" + progress_text(t->job) + ")";
  }
  return reason;
}

// A job whose items all wait frame by frame says for which jobs' frames.
std::string Farm::frames_waiting_reason(const JobState& js) const {
  std::string jobs;
  for (const auto& d : js.deps) {
    const JobState* t = job(d.target.id);
    if (!t || d.kind != EventType::work) continue;
    jobs += (jobs.empty() ? "" : ", ") + std::string("job ") + std::to_string(d.target.id);
  }
  return jobs.empty() ? std::string() : std::string(kFramesWaiting) + jobs;
}

void Farm::refresh_dependencies(JobState& js, const std::string* work) {
  if (js.deps.empty() || is_terminal(js.job.status)) return;
  std::vector<DependencyState> states;
  std::string broken_by;
  bool frame_by_frame = false;
  for (const auto& d : js.deps) {
    const JobState* t = job(d.target.id);
    if (!t) continue;  // removed: nothing left to wait for
    if (d.kind == EventType::work) {
      frame_by_frame = true;
      continue;
    }
    const DependencyState s = dependency_state(d.condition, t->job.status);
    if (s == DependencyState::broken && broken_by.empty())
      broken_by = "job " + std::to_string(d.target.id) + " " + std::string(to_string(t->job.status)) +
                  " (this job waited for it to " + to_happen(d.condition) + ")";
    states.push_back(s);
  }
  const DependencyState whole = combine(states);
  if (whole == DependencyState::broken && !js.job.timestart) {
    // HQueue's parent semantics, and Qube's level-triggered links: what this job
    // waits for can no longer happen, so it fails without running.
    fail_job(js, "dependency broken: " + broken_by);
    return;
  }
  js.waits_on_jobs = whole == DependencyState::waiting;
  if (js.waits_on_jobs) {
    js.job.reason = waiting_reason(js);
  } else if (js.job.reason.rfind("waiting for job", 0) == 0) {
    js.job.reason.clear();
  }
  if (frame_by_frame) refresh_items_dependencies(js, work);
  update_status(js);
  scheduler_.requeue(js);
}

// Frame by frame: each pending or waiting item waits for the same frames of the
// jobs it depends on (only items overlapping `work`, if given).
void Farm::refresh_items_dependencies(JobState& js, const std::string* work) {
  for (std::size_t i = 0; i < js.job.agenda.size(); ++i) {
    AgendaItem& item = js.job.agenda[i];
    if (item.status != WorkStatus::pending && item.status != WorkStatus::waiting) continue;
    if (work && !items_overlap(item.name, *work)) continue;
    std::vector<DependencyState> frame;
    std::string failed_frame, awaited_frame;
    for (const auto& d : js.deps) {
      const JobState* t = d.kind == EventType::work ? job(d.target.id) : nullptr;
      if (!t) continue;
      for (const auto& other : t->job.agenda) {
        if (!items_overlap(item.name, other.name)) continue;
        const DependencyState s = dependency_state(d.condition, other.status);
        if (s == DependencyState::broken && failed_frame.empty())
          failed_frame = "item " + other.name + " of job " + std::to_string(d.target.id) + " " +
                         std::string(to_string(other.status));
        if (s == DependencyState::waiting && awaited_frame.empty())
          awaited_frame = "item " + other.name + " of job " + std::to_string(d.target.id) + " to " +
                          to_happen(d.condition);
        frame.push_back(s);
      }
    }
    const DependencyState s = combine(frame);
    if (s == DependencyState::waiting) {
      // Said afresh each time: the frame it waits for moves on (pending, running ...).
      if (item.status == WorkStatus::pending) set_item_status(js, i, WorkStatus::waiting);
      if (item.reason != "waiting for " + awaited_frame) mark_item(js.job.id, i);
      item.reason = "waiting for " + awaited_frame;
    } else if (s == DependencyState::satisfied && item.status == WorkStatus::waiting) {
      item.reason.clear();
      requeue_item(js, i);
    } else if (s == DependencyState::broken) {
      set_item_status(js, i, WorkStatus::failed);
      item.reason = "dependency broken: " + failed_frame;
      item.timecomplete = now();
      emit_work(js, i, "failed", "item " + item.name + " " + item.reason, true);
    }
  }
}

void Farm::settle() {
  // Reactions cause events of their own; they are settled in the same pass, a
  // wave at a time: first the callbacks of every event of the wave, then the
  // dependencies' reactions to them. So a callback sees the state the wave's
  // events left, not a reaction to them: a parent that fails because its child
  // did is an event of the next wave, and a trigger that needs both
  // ("failed-job-self && failed-job-child") fires once, on the parent's event,
  // not also on the child's (HQueue's onChildError).
  while (settled_ < fx_.events.size()) {
    const std::vector<FarmEvent> wave(fx_.events.begin() + static_cast<std::ptrdiff_t>(settled_), fx_.events.end());
    settled_ = fx_.events.size();
    for (const FarmEvent& e : wave) {
      run_callbacks(e);
      run_postexec(e);
    }
    for (const FarmEvent& e : wave) {
      auto w = watchers_.find(e.job);
      if (w == watchers_.end()) continue;
      const std::set<JobId> watching = w->second;
      for (JobId id : watching) {
        JobState* js = find_job(id);
        if (!js || js->deps.empty()) continue;
        if (e.type == "work") refresh_dependencies(*js, &e.work);
        else if (e.type == "job") refresh_dependencies(*js);
      }
    }
  }
  start_preexecs();
}

void Farm::run_callbacks(const FarmEvent& e) {
  const auto name = parse_event_name(e.name);
  const auto type = parse_event_type(e.type);
  if (!name || !type) return;  // history-only events (suspended, callback ...)
  const Event event{*name, *type, e.job, e.work, e.subid};
  const FarmStateQuery state(jobs_);

  // Candidates: the job's own callbacks, the site's (as the job's own), and those
  // of jobs whose triggers name this job.
  std::vector<std::pair<JobId, CompiledCallback>> firing;
  auto consider = [&](const JobState& owner, const CompiledCallback& cb) {
    TriggerContext ctx{owner.job.id,
                       [&](const std::string& label) { return label_in_pgrp(owner.job.pgrp, label); }};
    if (fires(cb.triggers, event, ctx, state)) firing.emplace_back(owner.job.id, cb);
  };
  if (const JobState* self = job(e.job)) {
    for (const auto& cb : self->callbacks) consider(*self, cb);
    for (const auto& cb : site_callbacks_) consider(*self, cb);
  }
  if (auto w = watchers_.find(e.job); w != watchers_.end())
    for (JobId id : w->second)
      if (const JobState* owner = job(id))
        for (const auto& cb : owner->callbacks) consider(*owner, cb);

  for (const auto& [owner_id, cb] : firing) {
    JobState* owner = find_job(owner_id);
    if (!owner) continue;
    const std::string& lang = cb.callback.language;
    emit(*owner, "callback", "job",
         "callback '" + cb.callback.triggers + "' (" + lang + ") fired on " + e.text);
    if (lang == "qube") {
      run_qube_action(*owner, cb, e);
      continue;
    }
    ScriptRun run = script_run(*owner, e);
    run.language = lang;
    run.code = cb.callback.code;
    run.triggers = cb.callback.triggers;
    fx_.script_runs.push_back(std::move(run));
  }
}

ScriptRun Farm::script_run(const JobState& owner, const FarmEvent& e) const {
  const JobState* subject = job(e.job);
  ScriptRun run;
  run.job = owner.job.id;
  run.owner = owner.job.spec.user;
  run.event = to_json(e);
  run.env = {{"QBJOBID", std::to_string(e.job)},
             {"QBCALLBACKJOBID", std::to_string(owner.job.id)},
             {"QBEVENT", e.name + "-" + e.type},
             {"QBSTATUS", subject ? std::string(to_string(subject->job.status)) : ""},
             {"QBJOBNAME", subject ? subject->job.spec.name : ""},
             {"QBUSER", subject ? subject->job.spec.user : ""},
             {"QBWORKNAME", e.work},
             {"QBSUBID", e.subid >= 0 ? std::to_string(e.subid) : ""},
             {"QBHOST", e.host}};
  return run;
}

void Farm::run_qube_action(JobState& owner, const CompiledCallback& cb, const FarmEvent& e) {
  using Scope = QubeAction::Scope;
  std::vector<QubeAction> actions;
  try {
    actions = parse_qube_actions(cb.callback.code);
  } catch (const std::exception& ex) {
    emit(owner, "callback", "job", std::string("callback failed: ") + ex.what());
    return;
  }
  const JobId owner_id = owner.job.id;
  for (const auto& a : actions) {
    JobState* self = find_job(owner_id);
    if (!self) return;
    if (a.scope == Scope::mail) {
      mail_status(*self, cb, e);
      continue;
    }
    std::optional<JobId> target;
    if (a.target.kind == JobRef::Kind::self) target = owner_id;
    else if (a.target.kind == JobRef::Kind::id) target = a.target.id;
    else target = label_in_pgrp(self->job.pgrp, a.target.label);
    if (!target || !find_job(*target)) {
      emit(*self, "callback", "job", "callback action " + a.verb + ": no job " + a.target.text());
      continue;
    }
    Steering request;
    request.ids = {*target};
    request.who = self->job.spec.user;  // a callback acts with its owner's rights
    const std::string by_callback = "by a callback of job " + std::to_string(owner_id);
    // Work actions act on the event's item when the event is about that job's
    // work, else on every item of it the verb applies to; instance actions on the
    // event's instance, else on every instance.
    const bool about_target = e.job == *target;
    if (a.scope == Scope::work) {
      if (about_target && e.type == "work") request.work = e.work;
      else request.all_items = true;
    }
    const std::int32_t subid = about_target ? e.subid : -1;
    StepOutcome outcome;
    try {
      if (a.scope == Scope::subjob) outcome = act_on_instances(request, a.op, subid, by_callback);
      else if (a.op == SteerVerb::fail) outcome = fail(request, "failed " + by_callback);
      else if (a.scope == Scope::work && a.op == SteerVerb::unblock) outcome = unblock_work(request);
      else outcome = steer(a.op, request);
    } catch (const std::exception& ex) {
      outcome.errors.push_back(ex.what());
    }
    for (const auto& err : outcome.errors)
      if (JobState* s = find_job(owner_id)) emit(*s, "callback", "job", "callback action " + a.verb + ": " + err);
  }
}

// unblock-work: held items are released, and frame-by-frame dependencies too
// (the meaning it had before items could be held).
StepOutcome Farm::unblock_work(const Steering& request) {
  StepOutcome outcome = unblock_items(request);
  const JobState* js = job(request.ids.front());
  if (!js || js->deps.empty()) return outcome;
  StepOutcome released = satisfy(request);
  if (!released.errors.empty()) return outcome;
  outcome.done.insert(outcome.done.end(), released.done.begin(), released.done.end());
  outcome.errors.clear();  // nothing was held, but it waited: released
  return outcome;
}

StepOutcome Farm::act_on_instances(const Steering& request, SteerVerb op, std::int32_t subid, const std::string& by) {
  return for_each_job(request, op, [&](JobState& js, const std::string&) {
    std::vector<std::int32_t> running;
    for (const auto& [id, run] : js.running)
      if (subid < 0 || id == subid) running.push_back(id);
    for (std::int32_t id : running) {
      auto run = js.running.find(id);
      if (run == js.running.end()) continue;
      if (op != SteerVerb::kill) {
        // Interrupted (or retried, preempted, migrated): its item runs again, not
        // counted as a failed attempt.
        evict(js, id, "instance interrupted " + by);
      } else if (run->second.item) {
        end_item(js, *run->second.item, WorkStatus::killed, "killed with its instance " + by);
      } else {
        kill_instance(js, id);
        run->second.yielding = true;  // no item before it ends
      }
    }
    bool retried = false;
    if (op == SteerVerb::retry) {
      // What the instance failed or had killed runs again, too.
      Steering items = request;
      items.subid = subid;
      items.all_items = true;
      retried = retry(items).errors.empty();
    }
    if (running.empty() && !retried)
      return StepResult::failed("job " + std::to_string(js.job.id) + " has no running instance" +
                                (subid < 0 ? "" : " " + std::to_string(js.job.id) + "." + std::to_string(subid)) +
                                (op == SteerVerb::retry ? " and no failed item to retry" : ""));
    return StepResult::done();
  });
}

// mail-status: the job's status to its mail addresses (qbsub --mail), by the
// mail runner like a mail callback.
void Farm::mail_status(const JobState& js, const CompiledCallback& cb, const FarmEvent& e) {
  if (js.job.spec.mail.empty()) {
    emit(js, "callback", "job", "callback action mail-status: job " + std::to_string(js.job.id) +
                                    " has no mail address (qbsub --mail); nothing sent");
    return;
  }
  ScriptRun run = script_run(js, e);
  run.language = "mail";
  for (const auto& to : js.job.spec.mail) run.code += (run.code.empty() ? "" : ",") + to;
  run.triggers = cb.callback.triggers;
  // The mail tells of this job, whichever job's event fired it.
  run.env["QBJOBID"] = std::to_string(js.job.id);
  run.env["QBSTATUS"] = std::string(to_string(js.job.status));
  run.env["QBJOBNAME"] = js.job.spec.name;
  run.env["QBUSER"] = js.job.spec.user;
  fx_.script_runs.push_back(std::move(run));
}

}  // namespace qube::supervisor
