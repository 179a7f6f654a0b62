// The placement core, table-driven: clusters and restrictions, reservations,
// job compilation, the matcher and its explanations, the order policy, fair
// share and caps, the pending index, and whole passes of the Placer over small
// farms (hosts, jobs, expected placement). Worker facts at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "placement/cluster.hpp"
#include "placement/error.hpp"
#include "placement/global_resources.hpp"
#include "placement/limits.hpp"
#include "placement/load.hpp"
#include "placement/matcher.hpp"
#include "placement/order.hpp"
#include "placement/pending_index.hpp"
#include "placement/placer.hpp"
#include "placement/reservations.hpp"
#include "placement_fixtures.hpp"
#include "worker/facts.hpp"

namespace {

using namespace qube::placement;
using namespace qube::placement::testing;
using qube::Job;
using qube::JobId;
using qube::JobSpec;
using qube::Json;

// The message of the PlacementError `f` throws, or "(no error)".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const PlacementError& e) {
    return e.what();
  }
  return "(no error)";
}

// ===================================================================== clusters

struct TierCase {
  const char* host;
  const char* job;
  int tier;
};
class PlacementClusterTier : public ::testing::TestWithParam<TierCase> {};
TEST_P(PlacementClusterTier, OwnThenBelowThenUpTheTree) {
  EXPECT_EQ(cluster_tier(GetParam().host, GetParam().job), GetParam().tier) << GetParam().host << " " << GetParam().job;
}
INSTANTIATE_TEST_SUITE_P(Placement, PlacementClusterTier, ::testing::Values(
    TierCase{"/a/b", "/a/b", 0}, TierCase{"/a/b", "/a/b/c", 1}, TierCase{"/a/b", "/a/b/c/d", 1},
    TierCase{"/a/b", "/a", 2}, TierCase{"/a/b", "/a/x", 3}, TierCase{"/a/b", "/a/bc", 3},
    TierCase{"/a/b", "/", 4}, TierCase{"/a/b", "/y", 5}, TierCase{"/", "/", 0}, TierCase{"/", "/a", 1},
    TierCase{"/a", "/", 2}));

struct RestrictionCase {
  const char* restriction;
  const char* cluster;
  bool allows;
};
class PlacementRestriction : public ::testing::TestWithParam<RestrictionCase> {};
TEST_P(PlacementRestriction, Allows) {
  const auto& c = GetParam();
  EXPECT_EQ(ClusterRestriction::parse(c.restriction).allows(c.cluster), c.allows) << c.restriction << " " << c.cluster;
}
INSTANTIATE_TEST_SUITE_P(Placement, PlacementRestriction, ::testing::Values(
    RestrictionCase{"", "/anything", true}, RestrictionCase{"/hello/world", "/hello/world", true},
    RestrictionCase{"/hello/world", "/hello/world/x", false}, RestrictionCase{"/hello/world/+", "/hello/world", true},
    RestrictionCase{"/hello/world/+", "/hello/world/x/y", true}, RestrictionCase{"/hello/world/+", "/hello/worlds", false},
    RestrictionCase{"/hello/world/*", "/hello/world", false}, RestrictionCase{"/hello/world/*", "/hello/world/x", true},
    RestrictionCase{"/hello/world/*", "/hello/world/x/y", false}, RestrictionCase{"/hello || /goodbye", "/goodbye", true},
    RestrictionCase{"/hello or /goodbye", "/hello", true}, RestrictionCase{"/hello, /goodbye", "/other", false},
    RestrictionCase{"/+", "/any/thing", true}, RestrictionCase{"/hello/", "/hello", true}));

TEST(PlacementRestriction, ErrorsNameTheColumn) {
  const std::map<std::string, std::string> cases{
      {"hello", "restrictions: expected a cluster path starting with '/' at column 1"},
      {"/a || ", "restrictions: expected a cluster path after the last separator at column 7"},
      {"|| /a", "restrictions: expected a cluster path before '||' at column 1"},
      {"/a /b", "restrictions: expected '||' between clusters at column 4"},
      {"/a/+/b", "restrictions: '+' and '*' may only end a cluster path at column 4"},
      {"/a//b", "restrictions: empty segment in cluster path at column 1"},
  };
  for (const auto& [text, message] : cases)
    EXPECT_EQ(error_of([&] { (void)ClusterRestriction::parse(text); }), message) << text;
}

TEST(PlacementCluster, Normalizes) {
  EXPECT_EQ(normalize_cluster(""), "/");
  EXPECT_EQ(normalize_cluster("/a/b/"), "/a/b");
  EXPECT_EQ(error_of([] { (void)normalize_cluster("a/b"); }), "cluster: a cluster is a path starting with '/', not 'a/b'");
}

// ================================================================= reservations

struct ReservationCase {
  const char* text;
  const char* canonical;
  SlotRequest slots;
};
class ReservationParse : public ::testing::TestWithParam<ReservationCase> {};
TEST_P(ReservationParse, ReadsQubeSyntax) {
  const Reservations r = Reservations::parse(GetParam().text);
  EXPECT_EQ(r.canonical(), GetParam().canonical);
  EXPECT_EQ(r.slots, GetParam().slots) << GetParam().text;
}
constexpr int kAll = SlotRequest::kAllFree;
INSTANTIATE_TEST_SUITE_P(Placement, ReservationParse, ::testing::Values(
    ReservationCase{"", "", {1, 1, false}},
    ReservationCase{"host.processors=4", "host.processors=4", {4, 4, false}},
    ReservationCase{"host.processors=2+", "host.processors=2+", {2, kAll, false}},
    ReservationCase{"host.processors=all", "host.processors=1*", {1, kAll, true}},
    ReservationCase{"host.processors=4*", "host.processors=4*", {4, kAll, true}},
    ReservationCase{"host.processors=2-8", "host.processors=2-8", {2, 8, false}},
    ReservationCase{"host.processors=0", "host.processors=0", {0, 0, false}},
    ReservationCase{"host.processors=1", "", {1, 1, false}},
    ReservationCase{"host.memory=8000", "host.memory=8000", {1, 1, false}},
    ReservationCase{" license.nuke=1 , host.gpu=1,host.processors=2", "host.processors=2,host.gpu=1,license.nuke=1", {2, 2, false}},
    ReservationCase{"global.maya=1,license.nuke=2", "global.maya=1,license.nuke=2", {1, 1, false}},
    ReservationCase{"scoped.nuke=1,host.scratch=10", "host.scratch=10,scoped.nuke=1", {1, 1, false}}));

TEST(ReservationParse, SortsResourcesByScope) {
  const Reservations r = Reservations::parse("license.nuke=1,host.memory=500,host.gpu=2,scoped.x=3,global.maya=4");
  EXPECT_EQ(r.memory_mb, 500u);
  EXPECT_EQ(r.gpus, 2);
  EXPECT_EQ(r.host_resources, (std::vector<CountedRequest>{{"scoped.x", 3}}));
  EXPECT_EQ(r.global_resources, (std::vector<CountedRequest>{{"global.maya", 4}, {"license.nuke", 1}}));
}

TEST(ReservationParse, EveryErrorMessage) {
  const std::map<std::string, std::string> cases{
      {"host.processors", "reservations: expected name=quantity, not 'host.processors' at column 1"},
      {"host.memory=8000,,host.gpu=1", "reservations: empty reservation (two commas, or one at an end) at column 18"},
      {"host.memory=8000,", "reservations: empty reservation (two commas, or one at an end) at column 18"},
      {"memory=8000", "reservations: 'memory' is not scope.name (host.memory, license.nuke) at column 1"},
      {"host.=1", "reservations: 'host.' is not scope.name (host.memory, license.nuke) at column 1"},
      {"host.memory=8000, host.memory=1", "reservations: 'host.memory' reserved twice at column 19"},
      {"host.memory=8GB", "reservations: quantity of host.memory must be a positive whole number, not '8GB' at column 13"},
      {"host.memory=0", "reservations: quantity of host.memory must be a positive whole number, not '0' at column 13"},
      {"license.nuke=-1", "reservations: '+', '*', 'all' and ranges apply to host.processors only, not license.nuke at column 14"},
      {"host.gpu=2+", "reservations: '+', '*', 'all' and ranges apply to host.processors only, not host.gpu at column 10"},
      {"host.processors=many", "reservations: host.processors must be N, N+, N*, N-M or all, not 'many' at column 17"},
      {"host.processors=0+", "reservations: host.processors must be N, N+, N*, N-M or all, not '0+' at column 17"},
      {"host.processors=8-2", "reservations: host.processors range 8-2 is empty at column 17"},
      {"host.processors=0-2", "reservations: host.processors range must be N-M with 1 <= N <= M, not '0-2' at column 17"},
      {"host.processors=", "reservations: host.processors must be N, N+, N*, N-M or all, not '' at column 17"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(error_of([&] { (void)Reservations::parse(text); }), message) << text;
}

struct FitCase {
  const char* reservations;
  int slots_free;
  Shortfall shortfall;
  int granted;  // slots granted when it fits
};
class ReservationFit : public ::testing::TestWithParam<FitCase> {};
TEST_P(ReservationFit, OnAnEightSlotHost) {
  HostFacts h = make_host("h", 8, 32000, [](HostFacts& f) {
    f.gpus_total = 1;
    f.resources["scoped.nuke"] = {1, 0};
  });
  h.slots_free = GetParam().slots_free;
  const Reservations r = Reservations::parse(GetParam().reservations);
  EXPECT_EQ(host_shortfall(r, h), GetParam().shortfall) << GetParam().reservations;
  if (GetParam().shortfall == Shortfall::none) {
    EXPECT_EQ(allocate(r, h).slots, GetParam().granted);
  }
}
INSTANTIATE_TEST_SUITE_P(Placement, ReservationFit, ::testing::Values(
    FitCase{"", 8, Shortfall::none, 1}, FitCase{"", 0, Shortfall::slots, 0},
    FitCase{"host.processors=4", 4, Shortfall::none, 4}, FitCase{"host.processors=4", 3, Shortfall::slots, 0},
    FitCase{"host.processors=2+", 5, Shortfall::none, 5}, FitCase{"host.processors=2+", 1, Shortfall::slots, 0},
    FitCase{"host.processors=2-4", 8, Shortfall::none, 4}, FitCase{"host.processors=2-4", 3, Shortfall::none, 3},
    FitCase{"host.processors=all", 8, Shortfall::none, 8}, FitCase{"host.processors=all", 7, Shortfall::idle, 0},
    FitCase{"host.processors=0", 0, Shortfall::none, 0}, FitCase{"host.memory=32000", 8, Shortfall::none, 1},
    FitCase{"host.memory=32001", 8, Shortfall::memory, 0}, FitCase{"host.gpu=1", 8, Shortfall::none, 1},
    FitCase{"host.gpu=2", 8, Shortfall::gpus, 0}, FitCase{"scoped.nuke=1", 8, Shortfall::none, 1},
    FitCase{"scoped.nuke=2", 8, Shortfall::host_resource, 0}, FitCase{"scoped.maya=1", 8, Shortfall::host_resource, 0}));

TEST(ReservationFit, AllocationPrintsForQbAllocations) {
  const HostFacts h = make_host("h", 8);
  EXPECT_EQ(allocate(Reservations::parse("host.processors=2+,host.memory=100,license.nuke=1"), h).to_string(),
            "host.processors=8,host.memory=100,license.nuke=1");
}

TEST(PlacementGlobalResources, CountsUseAndDescribesWaits) {
  GlobalResources g;
  g.set_total("license.nuke", 2);
  const std::vector<CountedRequest> one{{"license.nuke", 1}};
  EXPECT_FALSE(g.shortfall(one));
  g.acquire(one);
  g.acquire(one);
  EXPECT_EQ(g.shortfall(one), std::optional<std::string_view>("license.nuke"));
  EXPECT_EQ(g.describe_wait("license.nuke"), "waiting for license.nuke (2/2 in use)");
  EXPECT_EQ(g.describe_wait("license.maya"), "waiting for license.maya (not defined: see qb resources)");
  EXPECT_FALSE(g.remove("license.nuke"));  // in use
  g.set_total("license.nuke", 1);            // lowered below use: nothing taken back
  g.release(one);
  EXPECT_EQ(g.shortfall(one), std::optional<std::string_view>("license.nuke"));
  g.release(one);
  g.release(one);  // never below zero
  EXPECT_EQ(g.find("license.nuke")->used, 0);
  ASSERT_EQ(g.list().size(), 1u);
  EXPECT_EQ(error_of([&] { g.set_total("nuke", 1); }),
            "global resources: 'nuke' must be named global.<name> or license.<name>");
  EXPECT_EQ(error_of([&] { g.set_total("global.maya", -1); }), "global resources: total of global.maya must not be negative");
}

// ================================================================ compiling jobs

TEST(PlacementJob, CompileErrorsNameTheField) {
  const std::vector<std::pair<SpecEdit, std::string>> cases{
      {[](JobSpec& s) { s.requirements = "host.os =="; }, "requirements: unexpected end of expression at column 11"},
      {[](JobSpec& s) { s.reservations = "cpus=2"; }, "reservations: 'cpus' is not scope.name (host.memory, license.nuke) at column 1"},
      {[](JobSpec& s) { s.restrictions = "show"; }, "restrictions: expected a cluster path starting with '/' at column 1"},
      {[](JobSpec& s) { s.conditions = Json::object(); }, "conditions: expected a list"},
      {[](JobSpec& s) { s.conditions = Json::array({1}); }, "conditions[0]: expected an object {name, op, value}"},
      {[](JobSpec& s) { s.conditions = Json::array({{{"name", "cpu"}, {"value", "a"}}}); },
       "conditions[0]: name must be hostname or group, not 'cpu'"},
      {[](JobSpec& s) { s.conditions = Json::array({{{"name", "group"}, {"op", "~"}, {"value", "a"}}}); },
       "conditions[0]: op must be one of == != in not_in, not '~'"},
      {[](JobSpec& s) { s.conditions = Json::array({{{"name", "group"}, {"value", 3}}}); },
       "conditions[0]: value must be a string or a list of strings"},
      {[](JobSpec& s) { s.conditions = Json::array({{{"name", "group"}, {"value", ""}}}); }, "conditions[0]: value is empty"},
      {[](JobSpec& s) { s.conditions = Json::array({{{"name", "group"}, {"op", "=="}, {"value", "a,b"}}}); },
       "conditions[0]: '==' takes one value; use in / not_in for a list"},
      {[](JobSpec& s) { s.tags = {"single:"}; }, "tags: 'single:' needs a class name (single:<class>)"},
      {[](JobSpec& s) { s.max_cpus = -1; }, "max_cpus: must not be negative"},
  };
  for (const auto& [edit, message] : cases) {
    JobSpec spec = make_job(1, edit).spec;
    EXPECT_EQ(error_of([&] { validate_placement(spec); }), message);
  }
}

TEST(PlacementJob, ShapeIgnoresIdentityButNotWishes) {
  const auto a = make_placement(1, [](JobSpec& s) { s.requirements = "host.gpu >= 1"; });
  const auto b = make_placement(2, [](JobSpec& s) {
    s.requirements = "host.gpu >= 1";
    s.user = "bob";
    s.priority = 1;
  }, "/show");
  const auto c = make_placement(3, [](JobSpec& s) { s.requirements = "host.gpu >= 2"; });
  const auto d = make_placement(4, [](JobSpec& s) {
    s.requirements = "host.gpu >= 1";
    s.groups = {"fx"};
  });
  EXPECT_EQ(a->shape, b->shape);
  EXPECT_NE(a->shape, c->shape);
  EXPECT_NE(a->shape, d->shape);
}

// ===================================================================== matcher

// The farm every matcher and explain case runs against.
std::vector<HostFacts> sample_farm() {
  std::vector<HostFacts> farm;
  farm.push_back(make_host("r1", 8, 32000, [](HostFacts& h) {
    h.groups = {"fx"};
    h.jobtypes = {"cmdline", "maya"};
  }));
  farm.push_back(make_host("r2", 16, 64000, [](HostFacts& h) {
    h.groups = {"fx", "lighting"};
    h.gpus_total = 2;
    h.properties["maya2024"] = "1";
  }));
  farm.push_back(make_host("r3", 8, 16000, [](HostFacts& h) {
    h.os = "winnt";
    h.groups = {"comp"};
    h.jobtypes = {"cmdline", "nuke"};
  }));
  farm.push_back(make_host("r4", 64, 256000, [](HostFacts& h) {
    h.groups = {"gpu"};
    h.gpus_total = 4;
    h.cluster = "/show/a";
  }));
  farm.push_back(make_host("r5", 8, 32000, [](HostFacts& h) { h.locked = true; }));
  farm.push_back(make_host("r6", 8, 32000, [](HostFacts& h) {
    h.cluster = "/other";
    h.restrictions = ClusterRestriction::parse("/other/+");
  }));
  return farm;
}

struct MatchCase {
  const char* name;
  SpecEdit edit;
  const char* cluster;
  const char* hosts;  // where it may run, comma separated
};
class PlacementMatcher : public ::testing::TestWithParam<MatchCase> {};

TEST_P(PlacementMatcher, RunsWhereExpected) {
  const auto& c = GetParam();
  GlobalResources globals;
  globals.set_total("license.nuke", 0);
  const Matcher matcher;
  const auto job = make_placement(1, c.edit, c.cluster);
  std::string where;
  for (const HostFacts& h : sample_farm()) {
    const Verdict v = matcher.can_run(*job, h, globals);
    const Verdict w = matcher.why_not(*job, h, globals);
    EXPECT_EQ(v.ok, w.ok);
    EXPECT_EQ(v.rule, w.rule);
    EXPECT_EQ(w.ok, w.reason.empty()) << w.reason;
    // The split used by the pending index agrees with asking everything.
    EXPECT_EQ(v.ok, matcher.can_run(*job, h, globals, Scope::shape).ok && matcher.can_run(*job, h, globals, Scope::job).ok);
    if (v.ok) where += (where.empty() ? "" : ",") + h.name;
  }
  EXPECT_EQ(where, c.hosts) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Placement, PlacementMatcher, ::testing::Values(
    MatchCase{"plain", {}, "/", "r1,r2,r3,r4"},
    MatchCase{"type", [](JobSpec& s) { s.type = "maya"; }, "/", "r1,r2,r4"},
    MatchCase{"hosts", [](JobSpec& s) { s.hosts = {"r3", "r1", "r5"}; }, "/", "r1,r3"},
    MatchCase{"omithosts", [](JobSpec& s) { s.omithosts = {"r1"}; }, "/", "r2,r3,r4"},
    MatchCase{"groups", [](JobSpec& s) { s.groups = {"fx"}; }, "/", "r1,r2"},
    MatchCase{"groups any of", [](JobSpec& s) { s.groups = {"comp", "gpu"}; }, "/", "r3,r4"},
    MatchCase{"omitgroups", [](JobSpec& s) { s.omitgroups = {"fx"}; }, "/", "r3,r4"},
    MatchCase{"services", [](JobSpec& s) { s.services = {"gpu"}; }, "/", "r2,r4"},
    MatchCase{"services all", [](JobSpec& s) { s.services = {"maya2024", "gpu"}; }, "/", "r2"},
    MatchCase{"requirements", [](JobSpec& s) { s.requirements = "host.os == linux && host.memory.avail >= 64000"; }, "/", "r2,r4"},
    MatchCase{"requirements gpu", [](JobSpec& s) { s.requirements = "host.gpu >= 1"; }, "/", "r2,r4"},
    MatchCase{"requirements job", [](JobSpec& s) { s.requirements = "job.id == 1 && host.name =~ '^r[13]$'"; }, "/", "r1,r3"},
    MatchCase{"slots", [](JobSpec& s) { s.reservations = "host.processors=16"; }, "/", "r2,r4"},
    MatchCase{"memory", [](JobSpec& s) { s.reservations = "host.memory=100000"; }, "/", "r4"},
    MatchCase{"gpus", [](JobSpec& s) { s.reservations = "host.gpu=3"; }, "/", "r4"},
    MatchCase{"restrictions", [](JobSpec& s) { s.restrictions = "/show/+"; }, "/", "r4"},
    MatchCase{"host restrictions admit", {}, "/other/x", "r1,r2,r3,r4,r6"},
    MatchCase{"conditions in", [](JobSpec& s) { s.conditions = Json::array({{{"name", "hostname"}, {"op", "in"}, {"value", "r1, r2"}}}); }, "/", "r1,r2"},
    MatchCase{"conditions not_in", [](JobSpec& s) { s.conditions = Json::array({{{"name", "group"}, {"op", "not_in"}, {"value", Json::array({"fx"})}}}); }, "/", "r3,r4"},
    MatchCase{"conditions eq", [](JobSpec& s) { s.conditions = Json::array({{{"type", "client"}, {"name", "group"}, {"op", "=="}, {"value", "comp"}}}); }, "/", "r3"},
    MatchCase{"conditions ne", [](JobSpec& s) { s.conditions = Json::array({{{"name", "hostname"}, {"op", "!="}, {"value", "r1"}}}); }, "/", "r2,r3,r4"},
    MatchCase{"single on idle hosts", [](JobSpec& s) { s.tags = {"single"}; }, "/", "r1,r2,r3,r4"},
    MatchCase{"all on idle hosts", [](JobSpec& s) { s.reservations = "host.processors=all"; }, "/", "r1,r2,r3,r4"},
    MatchCase{"license exhausted", [](JobSpec& s) { s.reservations = "license.nuke=1"; }, "/", ""},
    MatchCase{"license undefined", [](JobSpec& s) { s.reservations = "global.maya=1"; }, "/", ""}),
    [](const auto& info) {
      std::string n = info.param.name;
      std::replace_if(n.begin(), n.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '_');
      return n;
    });

TEST(PlacementMatcher, LoadDecidesExclusivity) {
  GlobalResources g;
  const Matcher m;
  HostFacts h = make_host("h", 8);
  const auto plain = make_placement(1);
  const auto single = make_placement(2, [](JobSpec& s) { s.tags = {"single"}; });
  const auto nuke_a = make_placement(3, [](JobSpec& s) { s.tags = {"single:nuke"}; });
  const auto nuke_b = make_placement(4, [](JobSpec& s) { s.tags = {"single:nuke"}; });
  const auto zero = make_placement(5, [](JobSpec& s) { s.reservations = "host.processors=0"; });

  const Allocation a = allocate(plain->reservations, h);
  occupy(h, *plain, a);
  EXPECT_EQ(m.why_not(*single, h, g).reason, "h is running other work and the job is 'single'");
  EXPECT_TRUE(m.can_run(*nuke_a, h, g).ok);
  const Allocation n = allocate(nuke_a->reservations, h);
  occupy(h, *nuke_a, n);
  EXPECT_EQ(m.why_not(*nuke_b, h, g).reason, "h already runs a job of class single:nuke");
  vacate(h, *nuke_a, n);
  EXPECT_TRUE(m.can_run(*nuke_b, h, g).ok);
  vacate(h, *plain, a);
  EXPECT_TRUE(h.idle());

  // A single job keeps the host to itself, zero-slot jobs included.
  const Allocation s = allocate(single->reservations, h);
  occupy(h, *single, s);
  EXPECT_EQ(m.why_not(*plain, h, g).reason, "h runs a 'single' job");
  EXPECT_EQ(m.why_not(*zero, h, g).rule, "exclusivity");
  vacate(h, *single, s);

  // A zero-slot job runs on a full host.
  h.slots_free = 0;
  EXPECT_FALSE(m.can_run(*plain, h, g).ok);
  EXPECT_TRUE(m.can_run(*zero, h, g).ok);
  EXPECT_EQ(allocate(zero->reservations, h).slots, 0);
}

TEST(PlacementMatcher, OccupyAndVacateKeepTheBooks) {
  HostFacts h = make_host("h", 8, 1000, [](HostFacts& f) {
    f.gpus_total = 2;
    f.resources["scoped.nuke"] = {1, 0};
  });
  const auto job = make_placement(9, [](JobSpec& s) { s.reservations = "host.processors=3,host.memory=400,host.gpu=1,scoped.nuke=1"; });
  const Allocation a = allocate(job->reservations, h);
  occupy(h, *job, a);
  EXPECT_EQ(h.slots_free, 5);
  EXPECT_EQ(h.memory_free_mb, 600u);
  EXPECT_EQ(h.gpus_free, 1);
  EXPECT_EQ(h.resources["scoped.nuke"].used, 1);
  EXPECT_TRUE(h.runs_job(9));
  vacate(h, *job, a);
  vacate(h, *job, a);  // twice: nothing goes past its total
  EXPECT_EQ(h.slots_free, 8);
  EXPECT_EQ(h.memory_free_mb, 1000u);
  EXPECT_EQ(h.gpus_free, 2);
  EXPECT_EQ(h.resources["scoped.nuke"].used, 0);
  EXPECT_FALSE(h.runs_job(9));
}

// ===================================================================== explain

struct ExplainCase {
  const char* name;
  SpecEdit edit;
  std::function<void(std::vector<HostFacts>&, GlobalResources&)> setup;
  const char* expected;
};
class PlacementExplain : public ::testing::TestWithParam<ExplainCase> {};

TEST_P(PlacementExplain, SaysWhyItCannotStart) {
  std::vector<HostFacts> farm = sample_farm();
  GlobalResources globals;
  if (GetParam().setup) GetParam().setup(farm, globals);
  const auto job = make_placement(1, GetParam().edit);
  EXPECT_EQ(Matcher().explain(*job, pointers(farm), globals), GetParam().expected);
}

void fill_all(std::vector<HostFacts>& farm, GlobalResources&) {
  for (auto& h : farm) h.slots_free = 0;
}

INSTANTIATE_TEST_SUITE_P(Placement, PlacementExplain, ::testing::Values(
    ExplainCase{"can start", {}, {}, ""},
    ExplainCase{"type", [](JobSpec& s) { s.type = "houdini"; }, {}, "no host offers job type 'houdini' (0 of 5 hosts)"},
    ExplainCase{"hosts", [](JobSpec& s) { s.hosts = {"gone"}; }, {}, "none of its hosts (gone) is up and not omitted"},
    ExplainCase{"groups", [](JobSpec& s) { s.groups = {"nothere"}; }, {},
                "no host is in groups nothere and outside the omitted ones (0 of 5 hosts)"},
    ExplainCase{"services", [](JobSpec& s) { s.services = {"gpu", "houdini"}; }, {}, "no host offers service 'houdini' (0 of 5 hosts)"},
    ExplainCase{"conditions", [](JobSpec& s) { s.conditions = Json::array({{{"name", "hostname"}, {"value", "r9"}}}); }, {},
                "no host satisfies condition hostname == r9 (0 of 5 hosts)"},
    ExplainCase{"restrictions", [](JobSpec& s) { s.restrictions = "/nowhere"; }, {},
                "no host is in a cluster allowed by restrictions '/nowhere' (0 of 5 hosts)"},
    ExplainCase{"requirements part", [](JobSpec& s) { s.requirements = "host.os == linux && host.gpu >= 8"; }, {},
                "no host matches requirements: 0 of 4 hosts have host.gpu >= 8"},
    ExplainCase{"requirements whole", [](JobSpec& s) { s.requirements = "host.os == winnt && host.gpu >= 1"; }, {},
                "no host matches requirements: 0 of 4 hosts have host.os == winnt && host.gpu >= 1"},
    ExplainCase{"too big", [](JobSpec& s) { s.reservations = "host.processors=128"; }, {}, "no host has 128 slots (the most is 64)"},
    ExplainCase{"too much memory", [](JobSpec& s) { s.reservations = "host.memory=512000"; }, {},
                "no host has 512000 MB of memory (the most is 256000)"},
    ExplainCase{"too many gpus", [](JobSpec& s) { s.reservations = "host.gpu=8"; }, {}, "no host has 8 GPUs (the most is 4)"},
    ExplainCase{"license busy", [](JobSpec& s) { s.reservations = "license.nuke=1"; },
                [](std::vector<HostFacts>&, GlobalResources& g) {
                  g.set_total("license.nuke", 20);
                  g.acquire({{"license.nuke", 20}});
                },
                "waiting for license.nuke (20/20 in use)"},
    ExplainCase{"license undefined", [](JobSpec& s) { s.reservations = "license.nuke=1"; }, {},
                "waiting for license.nuke (not defined: see qb resources)"},
    ExplainCase{"all busy", {}, fill_all, "waiting for a free slot (4 hosts can run it, all busy)"},
    ExplainCase{"four slots", [](JobSpec& s) { s.reservations = "host.processors=4"; },
                [](std::vector<HostFacts>& farm, GlobalResources&) { for (auto& h : farm) h.slots_free = 2; },
                "waiting for 4 free slots on one host (4 hosts can run it)"},
    ExplainCase{"idle", [](JobSpec& s) { s.reservations = "host.processors=all"; },
                [](std::vector<HostFacts>& farm, GlobalResources&) { for (auto& h : farm) h.slots_free -= 1; },
                "waiting for an idle host (4 hosts can run it, none is idle)"},
    ExplainCase{"single", [](JobSpec& s) { s.tags = {"single"}; },
                [](std::vector<HostFacts>& farm, GlobalResources&) { for (auto& h : farm) h.duty = {99}; },
                "waiting for a host with nothing else running (4 hosts can run it)"},
    ExplainCase{"locked", {}, [](std::vector<HostFacts>& farm, GlobalResources&) { for (auto& h : farm) h.locked = true; },
                "every host is locked (6)"},
    ExplainCase{"no hosts", {}, [](std::vector<HostFacts>& farm, GlobalResources&) { farm.clear(); },
                "waiting for a worker to register"}),
    [](const auto& info) {
      std::string n = info.param.name;
      std::replace(n.begin(), n.end(), ' ', '_');
      return n;
    });

TEST(PlacementExplain, TheIssueExample) {
  std::vector<HostFacts> farm;
  for (int i = 0; i < 12; ++i) farm.push_back(make_host("node" + std::to_string(i)));
  const auto job = make_placement(1, [](JobSpec& s) { s.requirements = "host.gpu>=1"; });
  EXPECT_EQ(Matcher().explain(*job, pointers(farm), GlobalResources{}),
            "no host matches requirements: 0 of 12 hosts have host.gpu>=1");
}

// ================================================================ order policy

TEST(OrderPolicy, ComparatorsDecideInTheirOrder) {
  const OrderKey base{false, 0, 100, 0, 0, 10};
  auto with = [&](auto edit) {
    OrderKey k = base;
    edit(k);
    return k;
  };
  struct Case {
    const char* why;
    OrderKey first, second;
  };
  const std::vector<Case> cases{
      {"growth last", base, with([](OrderKey& k) { k.growth = true; k.cluster_tier = -5; k.priority = 1; })},
      {"own cluster beats priority", base, with([](OrderKey& k) { k.cluster_tier = 1; k.priority = 1; })},
      {"priority 1 is most urgent", with([](OrderKey& k) { k.priority = 1; }), with([](OrderKey& k) { k.rank = -9; k.id = 1; })},
      {"rank beats fair share", with([](OrderKey& k) { k.rank = -1; k.share = 1e9; }), base},
      {"less usage first", base, with([](OrderKey& k) { k.share = 5; k.id = 1; })},
      {"then job id", base, with([](OrderKey& k) { k.id = 11; })},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(before(c.first, c.second)) << c.why;
    EXPECT_FALSE(before(c.second, c.first)) << c.why;
  }
  EXPECT_FALSE(before(base, base));
  static_assert(order::Policy::size == 6);
  static_assert(order::Chain<order::by_id>::before(OrderKey{false, 0, 0, 0, 0, 1}, OrderKey{false, 0, 0, 0, 0, 2}));
}

TEST(OrderPolicy, FairShareDecaysWithItsHalfLife) {
  FairShare fs(FairShareConfig{true, 100, 60});
  fs.started("alice", 2, 0);
  // Two cores for 100 s: the integral of 2*2^(-(100-s)/100) over [0,100].
  const double expected = 2 * (100 / std::log(2.0)) * 0.5;
  EXPECT_NEAR(fs.usage("alice", 100), expected, 1e-9);
  fs.ended("alice", 2, 100);
  EXPECT_NEAR(fs.usage("alice", 200), expected / 2, 1e-9);
  EXPECT_NEAR(fs.usage("alice", 300), expected / 4, 1e-9);
  EXPECT_EQ(fs.usage("bob", 300), 0);
  // The key charges running cores `lookahead` seconds each.
  fs.started("bob", 1, 300);
  EXPECT_NEAR(fs.key("bob", 300), 60, 1e-9);
  EXPECT_EQ(fs.running("bob"), 1);
  fs.configure(FairShareConfig{false, 100, 60});
  EXPECT_EQ(fs.key("alice", 300), 0);
}

TEST(OrderPolicy, RunningLimitsCapUsersAndGroups) {
  RunningLimits limits(LimitConfig{2, 3, {{"vip", 0}, {"intern", 1}}});
  EXPECT_TRUE(limits.user_may_start("alice"));
  limits.started("alice", 7);
  limits.started("alice", 7);
  EXPECT_FALSE(limits.user_may_start("alice"));
  EXPECT_EQ(limits.describe("alice", 7), "user alice is at the limit of 2 running instances");
  limits.started("bob", 7);
  EXPECT_FALSE(limits.pgrp_may_start(7));
  EXPECT_EQ(limits.describe("bob", 7), "process group 7 is at the limit of 3 running instances");
  limits.ended("alice", 7);
  EXPECT_TRUE(limits.user_may_start("alice"));
  EXPECT_TRUE(limits.pgrp_may_start(7));
  for (int i = 0; i < 10; ++i) limits.started("vip", 100 + i);
  EXPECT_TRUE(limits.user_may_start("vip"));  // 0: no cap of their own
  limits.started("intern", 200);
  EXPECT_FALSE(limits.user_may_start("intern"));
  EXPECT_EQ(limits.describe("carol", 1), "");
}

// ================================================================ pending index

// The ids a walk yields for `host`.
std::vector<JobId> walk_ids(const PendingIndex& index, const HostFacts& host, const CandidateHooks& hooks = {}) {
  PendingIndex::Walk walk;
  index.candidates_for(host, hooks, walk);
  std::vector<JobId> ids;
  while (const PendingJob* j = walk.next()) ids.push_back(j->id());
  return ids;
}

TEST(PlacementIndex, YieldsOnlyTheJobsFiledForTheHostInOrder) {
  PendingIndex index;
  index.add({make_placement(1), 0, false});
  index.add({make_placement(2, [](JobSpec& s) { s.type = "houdini"; }), 0, false});
  index.add({make_placement(3, [](JobSpec& s) { s.hosts = {"other"}; }), 0, false});
  index.add({make_placement(4, [](JobSpec& s) { s.hosts = {"h1"}; s.priority = 5; }), 0, false});
  index.add({make_placement(5, [](JobSpec& s) { s.groups = {"fx", "lighting"}; }), 0, false});
  index.add({make_placement(6, [](JobSpec& s) { s.groups = {"comp"}; }), 0, false});
  index.add({make_placement(7, [](JobSpec& s) { s.priority = 5; s.type = "maya"; }), 0, false});
  index.add({make_placement(8), -1, false});  // qb top
  const HostFacts h1 = make_host("h1", 8, 1000, [](HostFacts& h) { h.groups = {"fx", "lighting"}; });
  // Priority 5 first (4 before 7 by id), then rank -1, then ids; job 5 once
  // although it is filed under both of h1's groups.
  EXPECT_EQ(walk_ids(index, h1), (std::vector<JobId>{4, 7, 8, 1, 5}));
  EXPECT_EQ(index.size(), 8u);

  // A priority change is a replace.
  index.add({make_placement(1, [](JobSpec& s) { s.priority = 1; }), 0, false});
  EXPECT_EQ(walk_ids(index, h1), (std::vector<JobId>{1, 4, 7, 8, 5}));
  index.remove(4);
  index.remove(4);  // twice: harmless
  index.remove(5);
  EXPECT_EQ(walk_ids(index, h1), (std::vector<JobId>{1, 7, 8}));
  EXPECT_EQ(index.find(5), nullptr);
  ASSERT_NE(index.find(7), nullptr);
}

TEST(PlacementIndex, AsksEachShapeOnceAndSkipsItWhole) {
  PendingIndex index;
  for (JobId id = 1; id <= 100; ++id)
    index.add({make_placement(id, [&](JobSpec& s) { s.requirements = id % 2 ? "host.gpu >= 1" : ""; }), 0, false});
  EXPECT_EQ(index.shapes(), 2u);
  const HostFacts h = make_host("h");
  int asked = 0;
  CandidateHooks hooks;
  hooks.shape_fits = [&](const JobPlacement& p) {
    ++asked;
    return p.requirements.empty();
  };
  PendingIndex::Walk walk;
  index.candidates_for(h, hooks, walk);
  EXPECT_EQ(asked, 0);  // shapes are asked when the walk reaches them
  const PendingJob* first = walk.next();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->id(), 2u);
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(walk.shapes_seen, 2u);
  EXPECT_EQ(walk.shapes_fit, 1u);
  std::size_t more = 1;
  while (walk.next()) ++more;
  EXPECT_EQ(more, 50u);
  EXPECT_EQ(asked, 2);
}

TEST(PlacementIndex, ClusterPreferenceAndHostRestrictions) {
  PendingIndex index;
  index.add({make_placement(1, [](JobSpec& s) { s.priority = 1; }, "/"), 0, false});
  index.add({make_placement(2, [](JobSpec& s) { s.priority = 9; }, "/show/seq"), 0, false});
  index.add({make_placement(3, [](JobSpec& s) { s.priority = 5; }, "/show"), 0, false});
  index.add({make_placement(4, [](JobSpec& s) { s.priority = 1; }, "/elsewhere"), 0, false});
  const HostFacts h = make_host("h", 8, 1000, [](HostFacts& f) { f.cluster = "/show"; });
  EXPECT_EQ(walk_ids(index, h), (std::vector<JobId>{3, 2, 1, 4}));  // own, below, up, across
  const HostFacts picky = make_host("p", 8, 1000, [](HostFacts& f) {
    f.cluster = "/show";
    f.restrictions = ClusterRestriction::parse("/show/+");
  });
  EXPECT_EQ(walk_ids(index, picky), (std::vector<JobId>{3, 2}));
}

TEST(PlacementIndex, FairShareAndUserCapsAmongEqualPriority) {
  PendingIndex index;
  index.add({make_placement(1), 0, false});
  index.add({make_placement(2), 0, false});
  index.add({make_placement(3, [](JobSpec& s) { s.user = "bob"; }), 0, false});
  index.add({make_placement(4, [](JobSpec& s) { s.user = "carol"; }), 0, true});  // growth: last
  const HostFacts h = make_host("h");
  CandidateHooks hooks;
  hooks.share = [](std::string_view user) { return user == "alice" ? 100.0 : 1.0; };
  EXPECT_EQ(walk_ids(index, h, hooks), (std::vector<JobId>{3, 1, 2, 4}));
  hooks.user_fits = [](std::string_view user) { return user != "bob"; };
  EXPECT_EQ(walk_ids(index, h, hooks), (std::vector<JobId>{1, 2, 4}));
}

// ============================================================ whole passes

// One job of a scenario: wants `cpus` instances, up to `max_cpus` growing.
struct SimJob {
  JobId id;
  SpecEdit edit;
  const char* cluster = "/";
};

struct PassCase {
  const char* name;
  std::vector<HostFacts> hosts;
  std::vector<SimJob> jobs;
  std::function<void(Placer&)> setup;
  const char* expected;  // "job:host,host job:host" in job order; jobs with nothing left out
};

// Fills every host, one pick at a time, keeping the index as the farm would:
// a job leaves it once it has its instances, and turns to growth once it has
// --cpus but wants up to --max_cpus.
std::string run_pass(const PassCase& c) {
  Placer placer;
  if (c.setup) c.setup(placer);
  std::vector<HostFacts> hosts = c.hosts;
  std::map<JobId, std::shared_ptr<const JobPlacement>> placements;
  std::map<JobId, std::vector<std::string>> placed;
  for (const auto& j : c.jobs) {
    placements[j.id] = make_placement(j.id, j.edit, j.cluster);
    placer.pending().add({placements[j.id], 0, false});
  }
  for (auto& h : hosts) {
    for (int guard = 0; guard < 1000; ++guard) {
      auto pick = placer.pick(h, 1000);
      if (!pick) break;
      const JobPlacement& p = *pick->job->placement;
      placer.started(p, pick->allocation, h, 1000);
      auto& where = placed[p.facts.id];
      where.push_back(h.name);
      if (pick->allocation.slots != 1) where.back().append("*").append(std::to_string(pick->allocation.slots));
      const int running = static_cast<int>(where.size());
      const int cpus = p.facts.cpus, most = std::max(p.max_cpus, cpus);
      if (running >= most) placer.pending().remove(p.facts.id);
      else if (running >= cpus) placer.pending().add({placements[p.facts.id], 0, true});
    }
  }
  std::string out;
  for (const auto& [id, where] : placed) {
    out += (out.empty() ? "" : " ") + std::to_string(id) + ":";
    for (std::size_t i = 0; i < where.size(); ++i) out += (i ? "," : "") + where[i];
  }
  return out;
}

class PlacementPlacer : public ::testing::TestWithParam<PassCase> {};
TEST_P(PlacementPlacer, PlacesAsExpected) { EXPECT_EQ(run_pass(GetParam()), GetParam().expected) << GetParam().name; }

SpecEdit cpus(int n, int priority = qube::kDefaultPriority) {
  return [=](JobSpec& s) {
    s.cpus = n;
    s.priority = priority;
  };
}
SpecEdit edits(std::vector<SpecEdit> all) {
  return [=](JobSpec& s) {
    for (const auto& e : all) e(s);
  };
}
SpecEdit user(const char* u) {
  return [=](JobSpec& s) { s.user = u; };
}
SpecEdit reserve(const char* r) {
  return [=](JobSpec& s) { s.reservations = r; };
}
SpecEdit tag(const char* t) {
  return [=](JobSpec& s) { s.tags = {t}; };
}
HostFacts in_cluster(const char* name, int slots, const char* cluster) {
  return make_host(name, slots, 32000, [=](HostFacts& h) { h.cluster = cluster; });
}

INSTANTIATE_TEST_SUITE_P(Placement, PlacementPlacer, ::testing::Values(
    PassCase{"priority then id", {make_host("a", 2)}, {{1, cpus(1, 100)}, {2, cpus(1, 50)}, {3, cpus(1, 50)}}, {}, "2:a 3:a"},
    PassCase{"own cluster beats priority", {in_cluster("a", 1, "/show/seq"), in_cluster("b", 1, "/other")},
             {{1, cpus(1, 1), "/other"}, {2, cpus(1, 9999), "/show/seq"}}, {}, "1:b 2:a"},
    PassCase{"below before up the tree", {in_cluster("a", 1, "/show")},
             {{1, cpus(1, 1), "/"}, {2, cpus(1, 500), "/show/seq"}}, {}, "2:a"},
    PassCase{"fair share splits a pass", {make_host("a", 4)},
             {{1, edits({cpus(4), user("alice")})}, {2, edits({cpus(4), user("bob")})}}, {}, "1:a,a 2:a,a"},
    PassCase{"fair share remembers usage", {make_host("a", 4)},
             {{1, edits({cpus(4), user("alice")})}, {2, edits({cpus(4), user("bob")})}},
             [](Placer& p) {
               p.fair_share().started("alice", 1, 0);
               p.fair_share().ended("alice", 1, 999);
             },
             "2:a,a,a,a"},
    PassCase{"fair share off", {make_host("a", 4)},
             {{1, edits({cpus(4), user("alice")})}, {2, edits({cpus(4), user("bob")})}},
             [](Placer& p) { p.fair_share().configure(FairShareConfig{false, 3600, 60}); }, "1:a,a,a,a"},
    PassCase{"user cap", {make_host("a", 4)},
             {{1, edits({cpus(4), user("alice")})}, {2, edits({cpus(4), user("alice")})}, {3, edits({cpus(4), user("bob")})}},
             [](Placer& p) { p.limits().configure(LimitConfig{1, 0, {}}); }, "1:a 3:a"},
    PassCase{"pgrp cap", {make_host("a", 4)}, {{1, cpus(4)}, {2, cpus(4)}},
             [](Placer& p) { p.limits().configure(LimitConfig{0, 2, {}}); }, "1:a,a 2:a,a"},
    PassCase{"single keeps the host", {make_host("a", 4)}, {{1, edits({cpus(1), tag("single")})}, {2, cpus(3)}}, {}, "1:a"},
    PassCase{"single waits for idle", {make_host("a", 4), make_host("b", 4)},
             {{1, cpus(5, 1)}, {2, edits({cpus(1), tag("single")})}}, {}, "1:a,a,a,a,b"},
    PassCase{"single class", {make_host("a", 4)},
             {{1, edits({cpus(2), tag("single:nuke")})}, {2, edits({cpus(2), tag("single:nuke")})}, {3, cpus(1)}}, {}, "1:a 3:a"},
    PassCase{"zero slots beside a full host", {make_host("a", 2)},
             {{1, cpus(2, 1)}, {2, edits({cpus(1), reserve("host.processors=0")})}}, {}, "1:a,a 2:a*0"},
    PassCase{"takes all free", {make_host("a", 8)}, {{1, edits({cpus(1), reserve("host.processors=2+")})}}, {}, "1:a*8"},
    PassCase{"all wants idle", {make_host("a", 4), make_host("b", 4)},
             {{1, cpus(1, 1)}, {2, edits({cpus(1), reserve("host.processors=all")})}}, {}, "1:a 2:b*4"},
    PassCase{"license pool", {make_host("a", 2), make_host("b", 2)},
             {{1, edits({cpus(4), reserve("license.nuke=1")})}, {2, cpus(1)}},
             [](Placer& p) { p.globals().set_total("license.nuke", 3); }, "1:a,a,b 2:b"},
    PassCase{"memory fills first", {make_host("a", 8, 16000)}, {{1, edits({cpus(8), reserve("host.memory=6000")})}, {2, cpus(1)}},
             {}, "1:a,a 2:a"},
    PassCase{"grows into idle slots", {make_host("a", 3)},
             {{1, [](JobSpec& s) { s.cpus = 1; s.max_cpus = 4; }}, {2, cpus(1)}}, {}, "1:a,a 2:a"},
    PassCase{"one per host", {make_host("a", 4), make_host("b", 4)},
             {{1, [](JobSpec& s) { s.cpus = 3; s.requirements = "not (job.id in host.duty.id)"; }}}, {}, "1:a,b"},
    PassCase{"gpu jobs go where gpus are", {make_host("a", 4), make_host("g", 4, 32000, [](HostFacts& h) { h.gpus_total = 1; })},
             {{1, edits({cpus(2, 1), reserve("host.gpu=1")})}, {2, cpus(8)}}, {}, "1:g 2:a,a,a,a,g,g,g"}),
    [](const auto& info) {
      std::string n = info.param.name;
      std::replace(n.begin(), n.end(), ' ', '_');
      return n;
    });

TEST(PlacementPlacer, ExplainsCapsFirst) {
  Placer placer;
  placer.limits().configure(LimitConfig{1, 0, {}});
  placer.limits().started("alice", 99);
  const std::vector<HostFacts> farm{make_host("a")};
  EXPECT_EQ(placer.explain(*make_placement(1), pointers(farm)), "waiting: user alice is at the limit of 1 running instances");
  placer.limits().ended("alice", 99);
  EXPECT_EQ(placer.explain(*make_placement(1), pointers(farm)), "");
}

TEST(PlacementPlacer, TheFarmHasTheLastWord) {
  Placer placer;
  placer.pending().add({make_placement(1, cpus(1, 1)), 0, false});
  placer.pending().add({make_placement(2), 0, false});
  const HostFacts h = make_host("a");
  auto pick = placer.pick(h, 0, [](const PendingJob& j) { return j.id() != 1; });
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->job->id(), 2u);
  EXPECT_EQ(placer.last_walk().yielded, 2u);
}

TEST(PlacementPlacer, LockedHostTakesNothing) {
  Placer placer;
  placer.pending().add({make_placement(1), 0, false});
  HostFacts h = make_host("a");
  h.locked = true;
  EXPECT_FALSE(placer.pick(h, 0));
  h.locked = false;
  EXPECT_TRUE(placer.pick(h, 0));
}

// ============================================================== facts on the wire

TEST(PlacementHostFacts, FromTheRegisterMessage) {
  const Json body{{"os", "linux"},
                  {"slots", 16},
                  {"memory_mb", 64000},
                  {"gpus", 2},
                  {"groups", {"fx", "gpu", "fx"}},
                  {"jobtypes", {"maya", "cmdline"}},
                  {"cluster", "/show/seq/"},
                  {"restrictions", "/show/+"},
                  {"properties", {{"host.maya2024", 1}, {"arch", "x86_64"}}},
                  {"resources", {{"scoped.nuke", 1}, {"scratch", 100}}}};
  const HostFacts h = host_facts_from_json("render07", body);
  EXPECT_EQ(h.name, "render07");
  EXPECT_EQ(h.slots_free, 16);
  EXPECT_EQ(h.memory_free_mb, 64000u);
  EXPECT_EQ(h.gpus_free, 2);
  EXPECT_EQ(h.groups, (std::vector<std::string>{"fx", "gpu"}));
  EXPECT_TRUE(h.offers_type("maya"));
  EXPECT_EQ(h.cluster, "/show/seq");
  EXPECT_TRUE(h.restrictions.allows("/show/x"));
  EXPECT_FALSE(h.restrictions.allows("/other"));
  EXPECT_EQ(h.properties.at("maya2024"), "1");
  EXPECT_EQ(h.resources.at("host.scratch").total, 100);
  EXPECT_EQ(h.resources.at("scoped.nuke").total, 1);
  EXPECT_TRUE(h.offers_service("nuke"));
  EXPECT_TRUE(h.offers_service("maya2024"));
  EXPECT_TRUE(h.offers_service("gpu"));
  EXPECT_FALSE(h.offers_service("houdini"));
}

TEST(PlacementHostFacts, HostGpuResourceIsTheGpuCount) {
  const HostFacts h = host_facts_from_json("g", Json{{"resources", {{"host.gpu", 2}}}});
  EXPECT_EQ(h.gpus_total, 2);
  EXPECT_FALSE(h.resources.contains("host.gpu"));
}

TEST(PlacementHostFacts, RejectsBadInput) {
  const std::vector<std::pair<Json, std::string>> cases{
      {Json::array(), "worker facts: expected an object"},
      {Json{{"os", 1}}, "worker facts: 'os' must be a string"},
      {Json{{"slots", -1}}, "worker facts: 'slots' must be a non-negative integer"},
      {Json{{"groups", "fx"}}, "worker facts: 'groups' must be a list of strings"},
      {Json{{"groups", {1}}}, "worker facts: 'groups' must be a list of strings"},
      {Json{{"cluster", "show"}}, "worker facts: cluster: a cluster is a path starting with '/', not 'show'"},
      {Json{{"restrictions", "show"}}, "worker restrictions: expected a cluster path starting with '/' at column 1"},
      {Json{{"properties", {1, 2}}}, "worker facts: 'properties' must be a map"},
      {Json{{"resources", {{"x", "many"}}}}, "worker facts: resource 'x' must be a non-negative integer"},
  };
  for (const auto& [body, message] : cases) EXPECT_EQ(error_of([&] { (void)host_facts_from_json("h", body); }), message) << body;
}

class PlacementWorkerFacts : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("qube-facts-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& text = "") {
    std::filesystem::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  std::filesystem::path root_;
};

TEST_F(PlacementWorkerFacts, DetectsMemoryAndGpusFromTheTree) {
  write("proc/meminfo", "MemTotal:       16318412 kB\nMemFree:         1000 kB\n");
  write("dev/nvidia0");
  write("dev/nvidia1");
  write("dev/nvidiactl");
  write("dev/nvidia-uvm");
  EXPECT_EQ(qube::worker::detect_memory_mb(root_), 15935u);
  EXPECT_EQ(qube::worker::detect_gpus(root_), 2);
  std::filesystem::create_directories(root_ / "proc/driver/nvidia/gpus/0000:01:00.0");
  EXPECT_EQ(qube::worker::detect_gpus(root_), 1);  // the driver's list wins
  EXPECT_EQ(qube::worker::detect_gpus(root_ / "nothing"), 0);
  EXPECT_FALSE(qube::worker::detect_os().empty());
}

TEST_F(PlacementWorkerFacts, ReadsTheConfigAndRoundTripsToHostFacts) {
  write("proc/meminfo", "MemTotal: 2048000 kB\n");
  write("worker.yaml",
        "groups: [fx, gpu]\ncluster: /show/seq\nrestrictions: /show/+\n"
        "properties: {maya2024: 1, arch: x86_64}\nresources: {scoped.nuke: 1, host.gpu: 2}\n");
  const auto facts = qube::worker::load_facts(root_ / "worker.yaml", root_);
  EXPECT_EQ(facts.memory_mb, 2000u);
  EXPECT_EQ(facts.groups, (std::vector<std::string>{"fx", "gpu"}));
  EXPECT_EQ(facts.properties.at("maya2024"), "1");
  Json body = qube::worker::to_json(facts);
  body["slots"] = 8;
  const HostFacts h = host_facts_from_json("w", body);
  EXPECT_EQ(h.cluster, "/show/seq");
  EXPECT_EQ(facts.gpus, 2);  // resources: {host.gpu: 2} is the GPU count, over detection
  EXPECT_FALSE(facts.resources.contains("host.gpu"));
  EXPECT_EQ(h.gpus_total, 2);
  EXPECT_TRUE(h.in_group("gpu"));
  EXPECT_EQ(h.resources.at("scoped.nuke").total, 1);
  EXPECT_EQ(h.memory_total_mb, 2000u);
}

TEST_F(PlacementWorkerFacts, CommaGroupsAndOverrides) {
  write("worker.yaml", "groups: 'a, b'\nmemory_mb: 64000\ngpus: 4\n");
  const auto facts = qube::worker::load_facts(root_ / "worker.yaml", root_);
  EXPECT_EQ(facts.groups, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(facts.memory_mb, 64000u);
  EXPECT_EQ(facts.gpus, 4);
}

TEST_F(PlacementWorkerFacts, BadConfigNamesFileAndKey) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"groups: {a: 1}\n", "key 'groups' must be a list of names"},
      {"cluster: show\n", "key 'cluster' must be a path starting with '/'"},
      {"gpus: -1\n", "key 'gpus' must not be negative"},
      {"properties: [a]\n", "key 'properties' must be a map of name: value"},
      {"properties: {a: [1]}\n", "key 'properties' values must be plain values"},
      {"resources: {a: x}\n", "key 'resources' count of 'a' must be a non-negative whole number"},
      {"resources: [a]\n", "key 'resources' must be a map of name: count"},
  };
  for (const auto& [yaml, message] : cases) {
    write("worker.yaml", yaml);
    try {
      (void)qube::worker::load_facts(root_ / "worker.yaml", root_);
      ADD_FAILURE() << yaml;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), (root_ / "worker.yaml").string() + ": " + message) << yaml;
    }
  }
}

}  // namespace
