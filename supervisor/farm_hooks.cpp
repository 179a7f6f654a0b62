// The supervisor-side hooks (docs/usage.md "Hooks"): a job's --preexec runs
// before its first instance starts, and the job starts only once it exited 0;
// its --postexec runs each time the job ends. Both run on the callback runner,
// off the event loop, as the job's owner when callbacks run as owners.
#include <spdlog/spdlog.h>

#include "farm.hpp"

namespace qube::supervisor {

namespace {

bool is_job_end(const FarmEvent& e) {
  return e.type == "job" && (e.name == "complete" || e.name == "failed" || e.name == "killed");
}

}  // namespace

void Farm::arm_preexec(JobState& js) {
  // Once an instance started, the preexec has passed: a restarted supervisor
  // runs it again only for a job that never started.
  if (js.job.spec.preexec.empty() || js.job.timestart || is_terminal(js.job.status)) return;
  js.preexec = JobState::Preexec::due;
  preexec_due_.insert(js.job.id);
}

void Farm::start_preexecs() {
  for (auto it = preexec_due_.begin(); it != preexec_due_.end();) {
    JobState* js = find_job(*it);
    if (!js) {
      it = preexec_due_.erase(it);
      continue;
    }
    // Blocked, waiting for other jobs or ended (a retry makes it pending again): not yet.
    if (js->job.status != JobStatus::pending) {
      ++it;
      continue;
    }
    js->preexec = JobState::Preexec::running;
    js->job.reason = "waiting for its preexec to finish";
    fx_.dirty_jobs.insert(js->job.id);
    ScriptRun run = script_run(*js, emit(*js, "preexec", "job", "preexec started"));
    run.language = "shell";
    run.code = js->job.spec.preexec;
    run.hook = "preexec";
    fx_.script_runs.push_back(std::move(run));
    it = preexec_due_.erase(it);
  }
}

void Farm::preexec_finished(const ScriptOutcome& outcome) {
  JobState* js = find_job(outcome.job);
  if (!js || js->preexec != JobState::Preexec::running) return;
  emit(*js, "preexec", "job", outcome.text);
  if (outcome.succeeded) {
    js->preexec = JobState::Preexec::none;
    if (js->job.reason.rfind("waiting for its preexec", 0) == 0) js->job.reason.clear();
    fx_.dirty_jobs.insert(js->job.id);
    scheduler_.requeue(*js);
    return;
  }
  // Owed again if the job is retried; failed now, unless it already ended (killed meanwhile).
  js->preexec = JobState::Preexec::due;
  preexec_due_.insert(js->job.id);
  if (!is_terminal(js->job.status)) fail_job(*js, "preexec failed: " + outcome.text);
}

void Farm::run_postexec(const FarmEvent& e) {
  if (!is_job_end(e)) return;
  const JobState* js = job(e.job);
  if (!js || js->job.spec.postexec.empty()) return;
  ScriptRun run = script_run(*js, e);
  run.language = "shell";
  run.code = js->job.spec.postexec;
  run.hook = "postexec";
  fx_.script_runs.push_back(std::move(run));
  spdlog::info("job {}: postexec started ({})", e.job, e.name);
}

}  // namespace qube::supervisor
