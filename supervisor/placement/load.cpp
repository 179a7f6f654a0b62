#include "placement/load.hpp"

#include <algorithm>

namespace qube::placement {

void occupy(HostFacts& h, const JobPlacement& job, const Allocation& a) {
  h.slots_free -= a.slots;
  h.memory_free_mb -= std::min(h.memory_free_mb, a.memory_mb);
  h.gpus_free -= a.gpus;
  for (const auto& [name, n] : a.host_resources) h.resources[name].used += n;
  h.duty.insert(std::upper_bound(h.duty.begin(), h.duty.end(), job.facts.id), job.facts.id);
  if (job.exclusivity.single) ++h.single_running;
  for (const auto& c : job.exclusivity.classes) ++h.classes_running[c];
}

void vacate(HostFacts& h, const JobPlacement& job, const Allocation& a) {
  h.slots_free = std::min(h.slots_total, h.slots_free + a.slots);
  h.memory_free_mb = std::min(h.memory_total_mb, h.memory_free_mb + a.memory_mb);
  h.gpus_free = std::min(h.gpus_total, h.gpus_free + a.gpus);
  for (const auto& [name, n] : a.host_resources)
    if (auto it = h.resources.find(name); it != h.resources.end()) it->second.used = std::max<std::int64_t>(0, it->second.used - n);
  if (auto it = std::lower_bound(h.duty.begin(), h.duty.end(), job.facts.id); it != h.duty.end() && *it == job.facts.id)
    h.duty.erase(it);
  if (job.exclusivity.single) h.single_running = std::max(0, h.single_running - 1);
  for (const auto& c : job.exclusivity.classes)
    if (auto it = h.classes_running.find(c); it != h.classes_running.end() && --it->second <= 0) h.classes_running.erase(it);
}

}  // namespace qube::placement
