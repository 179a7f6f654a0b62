// --hostorder: its syntax (sdk, so that qbsub refuses a bad one) and the host
// preference the supervisor reads from it; --processors folded into reservations.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "placement/error.hpp"
#include "placement/host_order.hpp"
#include "placement/job_placement.hpp"
#include "placement_fixtures.hpp"
#include "qube/hostorder.hpp"
#include "qube/validate.hpp"

namespace {

using qube::HostOrderKey;
using qube::parse_hostorder;
using qube::placement::HostFacts;
using qube::placement::HostOrder;
using qube::placement::PlacementError;
using namespace qube::placement::testing;

TEST(HostOrderSyntax, SignsDefaultToLargestFirst) {
  EXPECT_TRUE(parse_hostorder("").empty());
  EXPECT_TRUE(parse_hostorder("  ").empty());
  EXPECT_EQ(parse_hostorder("+host.memory.avail, -host.processors.used ,host.processor_speed"),
            (std::vector<HostOrderKey>{{true, "host.memory.avail"},
                                       {false, "host.processors.used"},
                                       {true, "host.processor_speed"}}));
}

TEST(HostOrderSyntax, BadKeysAreNamed) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"memory", "hostorder: 'memory' must name a host fact: host.<name>"},
      {"job.priority", "hostorder: 'job.priority' must name a host fact: host.<name>"},
      {"host.", "hostorder: 'host.' has an empty name part"},
      {"host..memory", "hostorder: 'host..memory' has an empty name part"},
      {"+host.memory,", "hostorder: an empty key (two commas, or one at an end)"},
      {"host.memory > 4", "hostorder: 'host.memory > 4' has ' ' in its name"},
      {"+-host.memory", "hostorder: '+-host.memory' must name a host fact: host.<name>"},
  };
  for (const auto& c : cases) {
    try {
      parse_hostorder(c.text);
      ADD_FAILURE() << c.text << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).substr(0, std::string(c.message).size()), c.message) << e.what();
    }
  }
  std::string many;
  for (int i = 0; i < 17; ++i) many += "host.memory,";
  many += "host.gpu";
  EXPECT_THROW(parse_hostorder(many), std::invalid_argument);
}

TEST(HostOrderPreference, FirstKeyThatTellsHostsApartDecides) {
  const HostFacts small = make_host("small", 2, 16000);
  const HostFacts big = make_host("big", 8, 16000);
  const HostFacts roomy = make_host("roomy", 2, 64000);
  const auto job = sample_job();
  const HostOrder most_memory = HostOrder::parse("+host.memory.avail,-host.processors");
  EXPECT_TRUE(most_memory.prefers(roomy, small, job));
  EXPECT_FALSE(most_memory.prefers(small, roomy, job));
  EXPECT_TRUE(most_memory.prefers(small, big, job)) << "same memory: fewer processors first";
  EXPECT_FALSE(most_memory.prefers(small, small, job)) << "no host is preferred to itself";
  HostFacts busy = make_host("busy", 8, 16000);
  busy.slots_free = 1;
  EXPECT_TRUE(HostOrder::parse("-host.processors.used").prefers(big, busy, job));
  EXPECT_TRUE(HostOrder::parse("host.processors.avail").prefers(big, busy, job));
}

TEST(HostOrderPreference, AHostWithoutTheFactComesLast) {
  const HostFacts fast = make_host("fast", 2, 1000, [](HostFacts& h) { h.properties["processor_speed"] = "3200"; });
  const HostFacts slow = make_host("slow", 2, 1000, [](HostFacts& h) { h.properties["processor_speed"] = "2000"; });
  const HostFacts unknown = make_host("unknown");
  const auto job = sample_job();
  for (const char* sign : {"+", "-"}) {
    const HostOrder order = HostOrder::parse(std::string(sign) + "host.processor_speed");
    EXPECT_TRUE(order.prefers(fast, unknown, job)) << sign;
    EXPECT_TRUE(order.prefers(slow, unknown, job)) << sign;
    EXPECT_FALSE(order.prefers(unknown, slow, job)) << sign;
  }
  EXPECT_TRUE(HostOrder::parse("host.processor_speed").prefers(fast, slow, job));
  EXPECT_TRUE(HostOrder::parse("-host.processor_speed").prefers(slow, fast, job));
}

TEST(HostOrderPreference, ABadCountedSuffixIsAPlacementError) {
  EXPECT_THROW(HostOrder::parse("host.memory.bogus"), PlacementError);
  EXPECT_THROW(HostOrder::parse("memory"), PlacementError);
  const auto compiled = make_placement(1, [](qube::JobSpec& s) { s.hostorder = "-host.memory"; });
  EXPECT_FALSE(compiled->hostorder.empty());
}

TEST(Processors, AreHostProcessorsInTheReservations) {
  qube::JobSpec spec;
  spec.package["cmdline"] = "true";
  EXPECT_EQ(qube::effective_reservations(spec), "");
  spec.processors = 4;
  EXPECT_EQ(qube::effective_reservations(spec), "host.processors=4");
  spec.reservations = "license.nuke=1";
  EXPECT_EQ(qube::effective_reservations(spec), "host.processors=4,license.nuke=1");
  EXPECT_EQ(make_placement(1, [](qube::JobSpec& s) { s.processors = 4; })->reservations.slots.max, 4);
  spec.reservations = " host.processors = 4 ,license.nuke=1";
  EXPECT_EQ(qube::effective_reservations(spec), spec.reservations) << "named already";
  EXPECT_TRUE(qube::validate(spec).empty());
  spec.reservations = "host.processors=2";
  const auto errors = qube::validate(spec);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "processors: 4 conflicts with reservations host.processors=2 (give one of them)");
}

}  // namespace
