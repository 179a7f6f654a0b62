// The farm counted for GET /metrics: jobs, items and workers by status, slots
// and resources. O(jobs + hosts) with each job's item counts kept as it goes, so a
// scrape of a farm with a million-item job costs no walk of its agenda.
#include "farm.hpp"
#include "metrics.hpp"

namespace qube::supervisor {

FarmCensus Farm::census() const {
  FarmCensus c;
  for (JobStatus s : {JobStatus::pending, JobStatus::blocked, JobStatus::waiting, JobStatus::running,
                      JobStatus::suspended, JobStatus::complete, JobStatus::failed, JobStatus::killed, JobStatus::dying})
    c.jobs_by_status[std::string(to_string(s))] = 0;
  std::array<std::uint64_t, kWorkStatuses> items{};
  for (const auto& [id, js] : jobs_) {
    ++c.jobs_by_status[std::string(to_string(js.job.status))];
    for (std::size_t s = 0; s < kWorkStatuses; ++s) items[s] += js.items_by_status[s];
  }
  for (std::size_t s = 0; s < kWorkStatuses; ++s)
    c.items_by_status[std::string(to_string(static_cast<WorkStatus>(s)))] = items[s];
  for (HostState s : {HostState::active, HostState::down, HostState::locked, HostState::panic})
    c.hosts_by_state[std::string(to_string(s))] = 0;
  for (const auto& [name, record] : hosts_) {
    const Host& h = record.host;
    ++c.hosts_by_state[std::string(to_string(h.state))];
    if (h.state == HostState::down) continue;
    c.slots_total += static_cast<std::uint64_t>(std::max(0, h.slots));
    c.slots_used += static_cast<std::uint64_t>(std::max(0, h.slots_used));
  }
  const Json resources = list_resources();  // named: a range-for over a temporary's member reads freed memory
  for (const auto& r : resources.at("resources"))
    c.resources.push_back(FarmCensus::Resource{r.at("name").get<std::string>(), r.at("total").get<std::int64_t>(),
                                               r.at("used").get<std::int64_t>()});
  return c;
}

}  // namespace qube::supervisor
