#pragma once
// Keeping a host's load in its facts: what an instance holds while it runs
// (slots, memory, GPUs, host resources) and the marks it leaves (the job in
// the host's duty, `single` and `single:<x>` exclusivity). Farm-wide
// resources are GlobalResources' (global_resources.hpp).
#include "placement/host_facts.hpp"
#include "placement/job_placement.hpp"
#include "placement/reservations.hpp"

namespace qube::placement {

// An instance of `job` holding `a` starts on `h`.
void occupy(HostFacts& h, const JobPlacement& job, const Allocation& a);
// It ended: gives back what occupy took. Never drives a count below zero.
void vacate(HostFacts& h, const JobPlacement& job, const Allocation& a);

}  // namespace qube::placement
