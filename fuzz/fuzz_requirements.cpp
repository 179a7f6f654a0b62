// The requirements language (supervisor/placement/expression.hpp, qbsub
// --requirements): parse, then evaluate on a host and a job with every kind
// of fact, whole and conjunct by conjunct.
#include "fuzz_input.hpp"
#include "placement/error.hpp"
#include "placement/expression.hpp"
#include "placement_fixtures.hpp"  // tests/unit: the host and job test_expression.cpp uses

using qube::placement::testing::sample_host;
using qube::placement::testing::sample_job;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const qube::placement::HostFacts host = sample_host();
  static const qube::placement::JobFacts job = sample_job();
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
