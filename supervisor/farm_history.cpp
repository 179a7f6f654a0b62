// What the Farm remembers of what happened: events (a job's history, and what
// callbacks react to), status changes, and each agenda item's attempts.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "farm.hpp"

namespace qube::supervisor {

namespace {

// An item keeps its most recent attempts; older ones are dropped so that a frame
// retried without end cannot grow without bound.
constexpr std::size_t kMaxAttemptsKept = 50;

}  // namespace

std::string outcome_text(const AgendaItem& item) {
  std::string text;
  if (item.signal) text = "killed by signal " + std::to_string(*item.signal);
  else if (item.exitcode) text = "exit " + std::to_string(*item.exitcode);
  if (!item.reason.empty()) text += (text.empty() ? "" : ", ") + item.reason;
  return text.empty() ? "failed" : text;
}

Json to_json(const FarmEvent& e) {
  Json j{{"job", e.job}, {"time", e.time}, {"event", e.name}, {"type", e.type}, {"text", e.text}};
  if (!e.work.empty()) j["work"] = e.work;
  if (e.subid >= 0) j["subid"] = e.subid;
  if (!e.host.empty()) j["host"] = e.host;
  if (!e.who.empty()) j["who"] = e.who;
  return j;
}

FarmEvent& Farm::emit(const JobState& js, std::string name, std::string type, std::string text, std::string who) {
  FarmEvent& e = fx_.events.emplace_back();
  e.job = js.job.id;
  e.time = now();
  e.name = std::move(name);
  e.type = std::move(type);
  e.text = std::move(text);
  e.who = std::move(who);
  return e;
}

void Farm::emit_work(const JobState& js, std::size_t index, std::string name, std::string text, bool history) {
  const AgendaItem& item = js.job.agenda[index];
  FarmEvent& e = emit(js, std::move(name), "work", std::move(text));
  e.work = item.name;
  e.subid = item.subid;
  e.host = item.host;
  e.history = history;
}

void Farm::emit_instance(const JobState& js, std::int32_t subid, std::string name, std::string text) {
  FarmEvent& e = emit(js, std::move(name), "subjob", std::move(text));
  e.subid = subid;
  e.host = js.job.instances[static_cast<std::size_t>(subid)].host;
}

void Farm::set_status(JobState& js, JobStatus status, const std::string& who) {
  Job& job = js.job;
  if (job.status == status) return;
  job.status = status;
  fx_.dirty_jobs.insert(job.id);
  if (is_terminal(status)) job.timecomplete = now();
  std::string text = "job " + std::string(to_string(status));
  if (!who.empty()) text += " by " + who;
  else if (is_terminal(status) && !job.reason.empty()) text += ": " + job.reason;
  // Blocked by the farm itself (auto-wrangling): its reason says why.
  else if (status == JobStatus::blocked && !job.reason.empty()) text = "job " + job.reason;
  emit(js, std::string(to_string(status)), "job", std::move(text), who);
  spdlog::info("job {} {}", job.id, to_string(status));
}

Attempt Farm::attempt_of(const JobState& js, const AgendaItem& item) const {
  Attempt a;
  a.attempt_id = item.attempt_id;
  a.host = item.host;
  a.subid = item.subid;
  a.status = item.status;
  a.exitcode = item.exitcode;
  a.signal = item.signal;
  a.timestart = item.timestart;
  a.timecomplete = item.timecomplete ? item.timecomplete : Time(now());
  a.walltime = item.walltime > 0 || !item.timestart ? item.walltime : *a.timecomplete - *item.timestart;
  a.cputime = item.cputime;
  a.peak_rss_kb = item.peak_rss_kb;
  a.reason = item.reason;
  if (auto run = js.running.find(item.subid); log_size_ && run != js.running.end()) {
    a.out_begin = run->second.out_at;
    a.err_begin = run->second.err_at;
    a.out_end = std::max(a.out_begin, log_size_(js.job.id, item.subid, false));
    a.err_end = std::max(a.err_begin, log_size_(js.job.id, item.subid, true));
  }
  return a;
}

void Farm::close_attempt(const JobState& js, AgendaItem& item) {
  Attempt a = attempt_of(js, item);
  if (item.history.size() >= kMaxAttemptsKept) item.history.erase(item.history.begin());
  item.history.push_back(std::move(a));
}

void Farm::script_finished(const ScriptOutcome& outcome) {
  if (outcome.hook == "preexec") return preexec_finished(outcome);
  if (const JobState* js = job(outcome.job)) emit(*js, outcome.hook.empty() ? "callback" : outcome.hook, "job", outcome.text);
}

}  // namespace qube::supervisor
