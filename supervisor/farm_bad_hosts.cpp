// Bad hosts and auto-wrangling: what the farm does on its own about failures a
// wrangler would otherwise notice by hand. A host that fails a job's items in
// a row is excluded from that job; a host that many jobs exclude is suspect; a
// job whose attempts mostly fail is blocked; an item killed for memory near
// its host's runs once more on a host with more. docs/usage.md, "Bad hosts and
// auto-wrangling", says it for users.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "farm.hpp"

namespace qube::supervisor {

namespace {

// An item killed by SIGKILL with its peak memory at or above this share of its
// host's memory was most likely killed for memory (the kernel's OOM killer or
// a cgroup limit): a host with more memory may run it.
constexpr double kNearHostMemory = 0.9;
constexpr int kSigKill = 9;

// Killed by SIGKILL, or a shell reporting a child killed so (exit 128+9): a
// command run through sh -c rarely dies itself, its renderer does.
bool killed_by_sigkill(const AgendaItem& item) {
  return item.signal == kSigKill || (!item.signal && item.exitcode == 128 + kSigKill);
}

std::string names_of(const std::vector<ExcludedHost>& hosts) {
  std::string names;
  for (const auto& e : hosts) names += (names.empty() ? "" : ", ") + e.host;
  return names;
}

}  // namespace

bool JobState::bad_host(const std::string& host) const {
  return std::any_of(job.excluded_hosts.begin(), job.excluded_hosts.end(),
                     [&](const ExcludedHost& e) { return e.host == host; });
}

void Farm::item_failed(JobState& js, std::size_t index) {
  const std::string host = js.job.agenda[index].host;
  if (!retry_on_bigger_host(js, index)) retry_if_allowed(js, index);
  ++js.attempts_failed;
  const int threshold = policy_.wrangling.bad_host_threshold;
  // --retrydifferenthost already keeps each item off the hosts it failed on;
  // excluding a host for the whole job as well could leave an item that failed
  // elsewhere (after the exclusion) no host at all (seen in CI under ASan).
  if (threshold > 0 && !js.job.spec.retrydifferenthost && ++js.failed_in_a_row[host] >= threshold && !js.bad_host(host) &&
      scheduler_.runnable_elsewhere(js, host))
    exclude_host(js, host, std::to_string(threshold) + " items failed in a row");
  block_if_failing(js);
}

void Farm::item_completed(JobState& js, std::size_t index) {
  js.failed_in_a_row.erase(js.job.agenda[index].host);
  ++js.attempts_complete;
}

bool Farm::retry_on_bigger_host(JobState& js, std::size_t index) {
  AgendaItem& item = js.job.agenda[index];
  // Once per item: a second kill on a bigger host is an ordinary failure.
  if (!killed_by_sigkill(item) || js.memory_floor_mb.count(index)) return false;
  const auto ran_on = hosts_.find(item.host);
  if (ran_on == hosts_.end()) return false;
  const std::uint64_t memory_mb = ran_on->second.host.memory_mb;
  if (memory_mb == 0 || static_cast<double>(item.peak_rss_kb) < kNearHostMemory * static_cast<double>(memory_mb) * 1024)
    return false;
  const bool bigger = std::any_of(hosts_.begin(), hosts_.end(), [&](const auto& entry) {
    const HostRecord& h = entry.second;
    return h.host.state != HostState::down && h.host.memory_mb > memory_mb && h.facts.offers_type(js.job.spec.type) &&
           !js.excludes(entry.first);
  });
  if (!bigger) return false;
  js.memory_floor_mb[index] = memory_mb;
  item.failures += 1;
  const std::string why = "killed by signal 9 with peak memory " + std::to_string(item.peak_rss_kb / 1024) +
                          " MB of " + item.host + "'s " + std::to_string(memory_mb) + " MB";
  item.reason += " (" + why + ": runs once more on a host with more memory)";
  emit_work(js, index, "retried",
            "item " + item.name + " " + why + "; it runs once more on a host with more than " +
                std::to_string(memory_mb) + " MB",
            true);
  requeue_item(js, index);
  return true;
}

void Farm::exclude_host(JobState& js, const std::string& host, const std::string& reason) {
  js.job.excluded_hosts.push_back(ExcludedHost{host, reason, now()});
  fx_.dirty_jobs.insert(js.job.id);
  emit(js, "excluded", "job", "host " + host + " excluded: " + reason).host = host;
  spdlog::warn("job {}: host {} excluded: {}", js.job.id, host, reason);
  // An item held ahead there was chosen before the host was known bad, and its
  // worker hands it over (or did, as the failure that excluded the host left)
  // without asking: it is taken back with its instance, not counted against it.
  std::vector<std::int32_t> ahead;
  for (const auto& [subid, run] : js.running)
    if ((run.next || run.began_held) && js.job.instances[static_cast<std::size_t>(subid)].host == host)
      ahead.push_back(subid);
  for (std::int32_t subid : ahead) evict(js, subid, "requeued: host " + host + " excluded: " + reason);
  scheduler_.requeue(js);
  scheduler_.need();
  suspect_if_repeated(js, host);
}

void Farm::suspect_if_repeated(const JobState& js, const std::string& host) {
  const auto& policy = policy_.wrangling;
  if (policy.suspect_host_jobs <= 0) return;
  auto& recent = exclusions_[host];
  const double at = now();
  std::erase_if(recent, [&](const auto& e) { return at - e.first > policy.suspect_host_window; });
  recent.emplace_back(at, js.job.id);
  std::set<JobId> jobs;
  for (const auto& e : recent) jobs.insert(e.second);
  if (static_cast<int>(jobs.size()) < policy.suspect_host_jobs) return;
  const std::string reason = std::to_string(jobs.size()) + " jobs excluded it as a bad host within " +
                             fmt::format("{:g}", policy.suspect_host_window) + " s";
  if (!admin_.mark_suspect(host, reason, policy.suspect_host_lock)) return;
  emit(js, "suspect", "job",
       "host " + host + " marked suspect" + (policy.suspect_host_lock ? " and locked" : "") + ": " + reason)
      .host = host;
}

void Farm::block_if_failing(JobState& js) {
  const auto& policy = policy_.wrangling;
  const std::size_t finished = js.attempts_failed + js.attempts_complete;
  if (policy.max_failure_rate <= 0 || finished < static_cast<std::size_t>(policy.failure_rate_min_items)) return;
  const double rate = static_cast<double>(js.attempts_failed) / static_cast<double>(finished);
  if (rate <= policy.max_failure_rate) return;
  // Nothing left to run: it ends as it would have.
  if (js.pending.empty() && js.items(WorkStatus::retrying) == 0 && js.items(WorkStatus::running) == 0) return;
  if (js.job.status != JobStatus::pending && js.job.status != JobStatus::running) return;
  const std::string why = fmt::format(
      "for its failure rate: {} of {} finished attempts failed ({:.0f}%, more than max_failure_rate {:.0f}%); "
      "qb unblock {} when it is fixed",
      js.attempts_failed, finished, rate * 100, policy.max_failure_rate * 100, js.job.id);
  // Unblocked, it gets a fresh sample.
  js.attempts_failed = js.attempts_complete = 0;
  block_job(js, why, "");
}

StepOutcome Farm::modify_clearing_bad_hosts(const Steering& request, const Json& set) {
  const Json& flag = set.at(kClearBadHosts);
  if (!flag.is_boolean()) throw std::runtime_error(std::string("'") + kClearBadHosts + "' must be true or false");
  Json rest = set;
  rest.erase(kClearBadHosts);
  const bool clear = flag.get<bool>();
  if (!rest.empty()) {
    // The other fields first: a job that refuses them keeps its bad hosts.
    StepOutcome outcome = modify(request, rest);
    if (clear)
      for (const auto& done : outcome.done)
        if (JobState* js = find_job(done.id)) clear_bad_hosts(*js, request.who);
    return outcome;
  }
  if (!clear) throw std::runtime_error("nothing to modify (give e.g. --priority 10)");
  return for_each_job(request, SteerVerb::modify, [&](JobState& js, const std::string& who) {
    clear_bad_hosts(js, who);
    return StepResult::done();
  });
}

void Farm::clear_bad_hosts(JobState& js, const std::string& who) {
  js.failed_in_a_row.clear();
  if (js.job.excluded_hosts.empty()) return;
  const std::string names = names_of(js.job.excluded_hosts);
  js.job.excluded_hosts.clear();
  emit(js, "modified", "job", "bad hosts cleared by " + who + ": " + names + " may run it again", who);
  fx_.dirty_jobs.insert(js.job.id);
  scheduler_.requeue(js);
  scheduler_.need();
}

}  // namespace qube::supervisor
