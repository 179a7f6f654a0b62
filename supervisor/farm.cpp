// The Farm's core: lookups, the effects it leaves, and the scheduler's
// decisions carried out. The rest lives in rooms (farm.hpp lists them).
#include "farm.hpp"

#include <spdlog/spdlog.h>

namespace qube::supervisor {

Effects Farm::take_effects() {
  // A changed job has changed since its summary was kept: forget the summary
  // (every change marks its job, so this is the one place it is forgotten).
  for (const auto* changed : {&fx_.dirty_jobs, &fx_.progressed_jobs})
    for (JobId id : *changed)
      if (JobState* js = find_job(id)) {
        js->summary.clear();
        stale_summaries_.insert(id);
      }
  Effects taken = std::move(fx_);
  fx_ = Effects{};
  settled_ = 0;
  return taken;
}

void Farm::schedule() { scheduler_.pass(*this, clock_.wall(), clock_.steady()); }

void Farm::explain_wait(JobState& js, std::string reason) {
  if (js.job.reason == reason) return;
  js.job.reason = std::move(reason);
  fx_.dirty_jobs.insert(js.job.id);
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
  return it == rid_to_host_.end() ? nullptr : it->second;
}

const HostRecord* Farm::host_by_rid(const std::string& rid) const {
  return const_cast<Farm*>(this)->find_host_rid(rid);
}

void Farm::send_worker(const std::string& rid, proto::Message msg) {
  fx_.outbox.push_back(Outgoing{rid, std::move(msg)});
}

}  // namespace qube::supervisor
