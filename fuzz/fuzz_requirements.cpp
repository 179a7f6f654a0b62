// The requirements language (supervisor/placement/expression.hpp, qbsub
// --requirements): parse, then evaluate on a host and a job with every kind
// of fact, whole and conjunct by conjunct.
#include "fuzz_input.hpp"
#include "placement/error.hpp"
#include "placement/expression.hpp"

namespace {

using qube::placement::HostFacts;
using qube::placement::JobFacts;

HostFacts sample_host() {
  HostFacts h;
  h.name = "render07";
  h.slots_total = 16;
  h.slots_free = 12;
  h.memory_total_mb = 64000;
  h.memory_free_mb = 32000;
  h.gpus_total = h.gpus_free = 2;
  h.cluster = "/show/seq";
  h.jobtypes = {"cmdline", "maya", "nuke"};
  h.groups = {"gpu", "fx"};
  h.properties = {{"maya2024", "1"}, {"arch", "x86_64"}, {"version", "2.5"}};
  h.resources["host.scratch"] = {100, 40};
  h.duty = {42, 7};
  h.normalize();
  return h;
}

JobFacts sample_job() {
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
  return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const HostFacts host = sample_host();
  static const JobFacts job = sample_job();
  try {
    const auto e = qube::placement::Expression::parse(qube::fuzz::text(data, size));
    (void)e.evaluate(host, job);
    for (std::size_t i = 0; i < e.conjuncts(); ++i) {
      (void)e.conjunct_text(i);
      (void)e.evaluate_conjunct(i, host, job);
    }
  } catch (const qube::placement::PlacementError&) {
  }
  return 0;
}
