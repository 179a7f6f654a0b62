#pragma once
// Hosts and jobs for the placement tests, built in one line each.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "placement/host_facts.hpp"
#include "placement/job_placement.hpp"

namespace qube::placement::testing {

using SpecEdit = std::function<void(JobSpec&)>;

// A linux host offering cmdline, maya and nuke, with `slots` slots and `mem` MB.
inline HostFacts make_host(const std::string& name, int slots = 8, std::uint64_t mem = 32000,
                           const std::function<void(HostFacts&)>& edit = {}) {
  HostFacts h;
  h.name = name;
  h.slots_total = h.slots_free = slots;
  h.memory_total_mb = h.memory_free_mb = mem;
  h.jobtypes = {"cmdline", "maya", "nuke"};
  if (edit) edit(h);
  h.gpus_free = h.gpus_total;
  h.normalize();
  return h;
}

// A cmdline job of alice's at the default priority, edited by `edit`.
inline Job make_job(JobId id, const SpecEdit& edit = {}) {
  Job j;
  j.id = id;
  j.pgrp = id;
  j.spec.name = "job" + std::to_string(id);
  j.spec.user = "alice";
  if (edit) edit(j.spec);
  return j;
}

inline std::shared_ptr<const JobPlacement> make_placement(JobId id, const SpecEdit& edit = {},
                                                          const std::string& cluster = "/") {
  return std::make_shared<const JobPlacement>(compile_placement(make_job(id, edit), cluster));
}

inline std::vector<const HostFacts*> pointers(const std::vector<HostFacts>& hosts) {
  std::vector<const HostFacts*> out;
  for (const auto& h : hosts) out.push_back(&h);
  return out;
}

}  // namespace qube::placement::testing
