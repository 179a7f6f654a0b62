// Retention (docs/operations.md, "Log retention"): ended jobs and their logs are
// removed `retention_days` after they ended, so that a farm running for years
// keeps a bounded store and log directory without a wrangler's qb remove.
#include <thread>
#include <vector>
#include <spdlog/spdlog.h>

#include "farm.hpp"

namespace qube::supervisor {

namespace {
// Jobs end at a human pace and retention counts in days: a minute late is fine,
// and the farm is not walked every tick.
constexpr double kExpiryInterval = 60;

// Frees a big agenda on a thread of its own: a million items take 50 to 100 ms
// to free, which the loop must not spend. The freed pages are given back to the
// system once the agenda's rows are deleted too (Server::write_rows): glibc keeps
// a freed heap for reuse, so a removed million-item job left the supervisor at
// its peak size.
void free_apart(std::vector<AgendaItem> agenda) {
  std::thread([agenda = std::move(agenda)]() mutable { std::vector<AgendaItem>().swap(agenda); }).detach();
}
}  // namespace

void Farm::drop_job(JobState& js) {
  const JobId id = js.job.id;
  scheduler_.unqueue(js);
  fx_.removed_jobs.insert(id);
  fx_.whole_agendas.erase(id);
  fx_.fresh_agendas.erase(id);
  // A big agenda's rows are deleted a slice per round (AgendaWriter), its memory apart.
  if (js.job.agenda.size() > kRowsPerRound) {
    fx_.removed_agendas[id] = js.job.agenda.size();
    free_apart(std::move(js.job.agenda));
  }
  jobs_.erase(id);
}

std::size_t Farm::expire_ended_jobs(double days) {
  if (days <= 0 || clock_.steady() < next_expiry_) return 0;
  next_expiry_ = clock_.steady() + kExpiryInterval;
  const double cutoff = now() - days * 86400;
  std::vector<JobId> expired;
  for (const auto& [id, js] : jobs_)
    if (is_terminal(js.job.status) && js.job.timecomplete && *js.job.timecomplete < cutoff) expired.push_back(id);
  for (JobId id : expired) drop_job(jobs_.at(id));
  if (!expired.empty())
    spdlog::info("retention: removed {} job(s) that ended more than {} day(s) ago", expired.size(), days);
  return expired.size();
}

}  // namespace qube::supervisor
