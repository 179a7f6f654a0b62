#pragma once
// A job's placement wishes, compiled once at submission from its JobSpec: the
// lists sorted, requirements parsed, reservations parsed, conditions and
// exclusivity tags read. Everything the matcher needs, nothing it must parse
// again at each scheduling pass.
#include <string>
#include <vector>

#include "placement/cluster.hpp"
#include "placement/expression.hpp"
#include "placement/host_order.hpp"
#include "placement/job_facts.hpp"
#include "placement/reservations.hpp"
#include "qube/model.hpp"

namespace qube::placement {

// One HQueue condition: {"name": "hostname"|"group", "op": "=="|"!="|"in"|"not_in",
// "value": "a" | "a,b" | ["a", "b"]} ("type" and "host" as the name are accepted too).
struct Condition {
  enum class Subject : unsigned char { hostname, group };
  enum class Test : unsigned char { eq, ne, in, not_in };
  Subject subject = Subject::hostname;
  Test test = Test::eq;
  std::vector<std::string> values;
  bool holds(const HostFacts& h) const;
  std::string text() const;  // "hostname in a,b"
};

// HQueue's exclusivity tags: `single` (nothing else on the host meanwhile) and
// `single:<x>` (no two jobs of class x on one host).
struct Exclusivity {
  bool single = false;
  std::vector<std::string> classes;  // sorted
  bool empty() const { return !single && classes.empty(); }
};

struct JobPlacement {
  JobFacts facts;
  std::vector<std::string> hosts, omithosts, groups, omitgroups, services;  // sorted
  Expression requirements;
  Reservations reservations;
  ClusterRestriction restrictions;  // clusters of hosts it may run on
  std::vector<Condition> conditions;
  Exclusivity exclusivity;
  std::vector<std::string> flags;   // e.g. uninterruptible
  int max_cpus = 0;
  HostOrder hostorder;              // which eligible hosts it prefers (not part of the shape)
  // Everything above but `facts`, in one canonical string: jobs with the same
  // shape fit the same hosts (save requirements that read job.*), so the
  // pending index groups them and the matcher checks a group once per host.
  std::string shape;
};

// Throws PlacementError naming the field and column of the first problem.
// `cluster` is the job's Qube cluster (default "/").
JobPlacement compile_placement(const Job& job, std::string_view cluster = "/");

// Submission-time check of a spec's placement fields: throws PlacementError.
void validate_placement(const JobSpec& spec);

}  // namespace qube::placement
