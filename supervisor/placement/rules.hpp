#pragma once
// The placement rules, each a small class (rules.cpp), in the order the matcher
// asks them: cheap and selective first, the load-dependent ones last.
#include <memory>
#include <vector>

#include "placement/rule.hpp"

namespace qube::placement {

// The three answers every rule gives; the macro only spares repeating them.
#define QUBE_RULE_METHODS                                                                          \
  bool ok(const JobPlacement& job, const HostFacts& host, const GlobalResources& g) const override; \
  std::string why(const JobPlacement& job, const HostFacts& host, const GlobalResources& g) const override; \
  std::string none(const JobPlacement& job, HostList hosts, const GlobalResources& g) const override;

// A locked host (qb lock) takes no new work.
class LockedRule final : public Rule {
 public:
  std::string_view name() const override { return "locked"; }
  bool is_static() const override { return true; }
  QUBE_RULE_METHODS
};

// The host offers the job's type.
class JobTypeRule final : public Rule {
 public:
  std::string_view name() const override { return "jobtype"; }
  bool is_static() const override { return true; }
  QUBE_RULE_METHODS
};

// --hosts (only these) and --omithosts (never these).
class HostsRule final : public Rule {
 public:
  std::string_view name() const override { return "hosts"; }
  bool is_static() const override { return true; }
  QUBE_RULE_METHODS
};

// --groups (in one of them) and --omitgroups (in none of them).
class GroupsRule final : public Rule {
 public:
  std::string_view name() const override { return "groups"; }
  bool is_static() const override { return true; }
  QUBE_RULE_METHODS
};

// --services: the host offers every one (HostFacts::offers_service).
class ServicesRule final : public Rule {
 public:
  std::string_view name() const override { return "services"; }
  bool is_static() const override { return true; }
  QUBE_RULE_METHODS
};

// HQueue conditions: all must hold.
class ConditionsRule final : public Rule {
 public:
  std::string_view name() const override { return "conditions"; }
  bool is_static() const override { return true; }
  QUBE_RULE_METHODS
};

// The job's --restrictions admit the host's cluster.
class JobRestrictionsRule final : public Rule {
 public:
  std::string_view name() const override { return "restrictions"; }
  bool is_static() const override { return true; }
  QUBE_RULE_METHODS
};

// The host's restrictions admit the job's cluster (a per-job fact).
class HostRestrictionsRule final : public Rule {
 public:
  std::string_view name() const override { return "host restrictions"; }
  bool is_static() const override { return true; }
  bool per_job(const JobPlacement&) const override { return true; }
  QUBE_RULE_METHODS
};

// --requirements. Static in the sense of the explanation only when it reads
// no load (it usually reads none); treated as static since the explanation
// wants "no host matches requirements" for host.gpu>=1.
class RequirementsRule final : public Rule {
 public:
  std::string_view name() const override { return "requirements"; }
  bool is_static() const override { return true; }
  bool per_job(const JobPlacement& job) const override { return job.requirements.uses_job(); }
  QUBE_RULE_METHODS
};

// The host could hold the reservations were it idle: tells "never" from "not now".
class CapacityRule final : public Rule {
 public:
  std::string_view name() const override { return "capacity"; }
  bool is_static() const override { return true; }
  bool explain_only() const override { return true; }
  QUBE_RULE_METHODS
};

// `single` needs an empty host and keeps it so; `single:<x>` one job of class x
// per host; a zero-slot job (host.processors=0) runs beside anything but `single`.
class ExclusivityRule final : public Rule {
 public:
  std::string_view name() const override { return "exclusivity"; }
  bool is_static() const override { return false; }
  QUBE_RULE_METHODS
};

// Free slots, memory, GPUs and host resources now.
class ReservationsRule final : public Rule {
 public:
  std::string_view name() const override { return "reservations"; }
  bool is_static() const override { return false; }
  QUBE_RULE_METHODS
};

// Farm-wide resources (licenses) free now; the same answer on every host.
class GlobalResourcesRule final : public Rule {
 public:
  std::string_view name() const override { return "global resources"; }
  bool is_static() const override { return false; }
  QUBE_RULE_METHODS
};

#undef QUBE_RULE_METHODS

// All of them, in order.
std::vector<std::unique_ptr<Rule>> default_rules();

}  // namespace qube::placement
