#pragma once
// Hosts and jobs for the placement tests, built in one line each.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "placement/host_facts.hpp"
#include "placement/job_facts.hpp"
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

// A host and a job with every kind of fact a requirements expression reads
// (test_expression.cpp, fuzz/fuzz_requirements.cpp).
inline HostFacts sample_host() {
  return make_host("render07", 16, 64000, [](HostFacts& h) {
    h.slots_free = 12;
    h.memory_free_mb = 32000;
    h.gpus_total = 2;
    h.cluster = "/show/seq";
    h.groups = {"gpu", "fx"};
    h.properties = {{"maya2024", "1"}, {"arch", "x86_64"}, {"version", "2.5"}};
    h.resources["host.scratch"] = {100, 40};
    h.duty = {42, 7};
  });
}

inline JobFacts sample_job() {
  JobFacts j;
  j.id = 42;
  j.name = "shot010";
  j.user = "alice";
  j.type = "maya";
  j.label = "lighting";
  j.cluster = "/show/seq";
  j.priority = 100;
  j.cpus = 4;
  j.pgrp = 40;
  j.pid = 0;
  return j;
}

}  // namespace qube::placement::testing
