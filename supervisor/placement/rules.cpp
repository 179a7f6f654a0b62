#include "placement/rules.hpp"

#include <algorithm>
#include <array>

namespace qube::placement {

namespace {

bool contains(const std::vector<std::string>& sorted, std::string_view s) {
  return std::binary_search(sorted.begin(), sorted.end(), s, std::less<>{});
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// "0 of 12 hosts"
std::string of_hosts(std::size_t n, std::size_t total) {
  return std::to_string(n) + " of " + std::to_string(total) + (total == 1 ? " host" : " hosts");
}

template <typename Pred>
std::size_t count_hosts(HostList hosts, Pred&& pred) {
  return static_cast<std::size_t>(std::count_if(hosts.begin(), hosts.end(), [&](const HostFacts* h) { return pred(*h); }));
}

// "(3 hosts can run it)": the candidates the load-dependent rules are told about.
std::string can_run_it(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " host can" : " hosts can") + " run it";
}

}  // namespace

std::string Rule::none(const JobPlacement&, HostList hosts, const GlobalResources&) const {
  return "no host passes " + std::string(name()) + " (" + of_hosts(0, hosts.size()) + ")";
}

// ---------------------------------------------------------------- locked
bool LockedRule::ok(const JobPlacement&, const HostFacts& h, const GlobalResources&) const { return !h.locked; }
std::string LockedRule::why(const JobPlacement&, const HostFacts& h, const GlobalResources&) const {
  return h.name + " is locked";
}
std::string LockedRule::none(const JobPlacement&, HostList hosts, const GlobalResources&) const {
  return "every host is locked (" + std::to_string(hosts.size()) + ")";
}

// ---------------------------------------------------------------- job type
bool JobTypeRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return h.offers_type(j.facts.type);
}
std::string JobTypeRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return h.name + " does not offer job type '" + j.facts.type + "'";
}
std::string JobTypeRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  return "no host offers job type '" + j.facts.type + "' (" + of_hosts(0, hosts.size()) + ")";
}

// ---------------------------------------------------------------- hosts
bool HostsRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return (j.hosts.empty() || contains(j.hosts, h.name)) && !contains(j.omithosts, h.name);
}
std::string HostsRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return contains(j.omithosts, h.name) ? h.name + " is in --omithosts" : h.name + " is not in --hosts";
}
std::string HostsRule::none(const JobPlacement& j, HostList, const GlobalResources&) const {
  if (!j.hosts.empty()) return "none of its hosts (" + joined(j.hosts) + ") is up and not omitted";
  return "every host is in --omithosts";
}

// ---------------------------------------------------------------- groups
bool GroupsRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  if (!j.groups.empty() && std::none_of(j.groups.begin(), j.groups.end(), [&](const auto& g) { return h.in_group(g); }))
    return false;
  return std::none_of(j.omitgroups.begin(), j.omitgroups.end(), [&](const auto& g) { return h.in_group(g); });
}
std::string GroupsRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  for (const auto& g : j.omitgroups)
    if (h.in_group(g)) return h.name + " is in omitted group " + g;
  return h.name + " is in none of groups " + joined(j.groups);
}
std::string GroupsRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  if (!j.groups.empty())
    return "no host is in groups " + joined(j.groups) + " and outside the omitted ones (" + of_hosts(0, hosts.size()) + ")";
  return "every host is in an omitted group (" + joined(j.omitgroups) + ")";
}

// ---------------------------------------------------------------- services
bool ServicesRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return std::all_of(j.services.begin(), j.services.end(), [&](const auto& s) { return h.offers_service(s); });
}
std::string ServicesRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  for (const auto& s : j.services)
    if (!h.offers_service(s)) return h.name + " does not offer service '" + s + "'";
  return {};
}
std::string ServicesRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  for (const auto& s : j.services)
    if (count_hosts(hosts, [&](const HostFacts& h) { return h.offers_service(s); }) == 0)
      return "no host offers service '" + s + "' (" + of_hosts(0, hosts.size()) + ")";
  return "no host offers all of services " + joined(j.services) + " (" + of_hosts(0, hosts.size()) + ")";
}

// ---------------------------------------------------------------- conditions
bool ConditionsRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return std::all_of(j.conditions.begin(), j.conditions.end(), [&](const auto& c) { return c.holds(h); });
}
std::string ConditionsRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  for (const auto& c : j.conditions)
    if (!c.holds(h)) return h.name + " fails condition " + c.text();
  return {};
}
std::string ConditionsRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  for (const auto& c : j.conditions)
    if (count_hosts(hosts, [&](const HostFacts& h) { return c.holds(h); }) == 0)
      return "no host satisfies condition " + c.text() + " (" + of_hosts(0, hosts.size()) + ")";
  return "no host satisfies all its conditions together (" + of_hosts(0, hosts.size()) + ")";
}

// ---------------------------------------------------------------- restrictions
bool JobRestrictionsRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return j.restrictions.allows(h.cluster);
}
std::string JobRestrictionsRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return h.name + "'s cluster " + h.cluster + " is outside restrictions '" + j.restrictions.text() + "'";
}
std::string JobRestrictionsRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  return "no host is in a cluster allowed by restrictions '" + j.restrictions.text() + "' (" + of_hosts(0, hosts.size()) + ")";
}

bool HostRestrictionsRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return h.restrictions.allows(j.facts.cluster);
}
std::string HostRestrictionsRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return h.name + " accepts only jobs of clusters '" + h.restrictions.text() + "', not " + j.facts.cluster;
}
std::string HostRestrictionsRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  return "no host accepts jobs of cluster " + j.facts.cluster + " (" + of_hosts(0, hosts.size()) + ")";
}

// ---------------------------------------------------------------- requirements
bool RequirementsRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return j.requirements.evaluate(h, j.facts);
}
std::string RequirementsRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  for (std::size_t i = 0; i < j.requirements.conjuncts(); ++i)
    if (!j.requirements.evaluate_conjunct(i, h, j.facts))
      return h.name + " does not have " + std::string(j.requirements.conjunct_text(i));
  return {};
}
std::string RequirementsRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  // Name the part of the expression no host satisfies, when one is to blame.
  const Expression& e = j.requirements;
  for (std::size_t i = 0; i < e.conjuncts(); ++i)
    if (count_hosts(hosts, [&](const HostFacts& h) { return e.evaluate_conjunct(i, h, j.facts); }) == 0)
      return "no host matches requirements: " + of_hosts(0, hosts.size()) + " have " + std::string(e.conjunct_text(i));
  return "no host matches requirements: " + of_hosts(0, hosts.size()) + " have " + e.text();
}

// ---------------------------------------------------------------- capacity
namespace {
// The first reservation no amount of waiting gives on `h`, or none.
Shortfall capacity_short(const Reservations& r, const HostFacts& h) {
  HostFacts idle;  // the host as if nothing ran there
  idle.slots_total = idle.slots_free = h.slots_total;
  idle.memory_total_mb = idle.memory_free_mb = h.memory_total_mb;
  idle.gpus_total = idle.gpus_free = h.gpus_total;
  for (const auto& [name, n] : r.host_resources)
    if (auto it = h.resources.find(name); it != h.resources.end()) idle.resources.emplace(name, Counted{it->second.total, 0});
  return host_shortfall(r, idle);
}
}  // namespace

bool CapacityRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return capacity_short(j.reservations, h) == Shortfall::none;
}
std::string CapacityRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return h.name + " is too small for reservations '" + j.reservations.canonical() + "'";
}
std::string CapacityRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  const Reservations& r = j.reservations;
  auto most = [&](auto field) {
    std::int64_t m = 0;
    for (const HostFacts* h : hosts) m = std::max<std::int64_t>(m, static_cast<std::int64_t>(field(*h)));
    return std::to_string(m);
  };
  switch (capacity_short(r, *hosts.front())) {
    case Shortfall::slots:
    case Shortfall::idle:
      return "no host has " + std::to_string(r.slots.min) + " slots (the most is " +
             most([](const HostFacts& h) { return h.slots_total; }) + ")";
    case Shortfall::memory:
      return "no host has " + std::to_string(r.memory_mb) + " MB of memory (the most is " +
             most([](const HostFacts& h) { return h.memory_total_mb; }) + ")";
    case Shortfall::gpus:
      return "no host has " + std::to_string(r.gpus) + " GPUs (the most is " +
             most([](const HostFacts& h) { return h.gpus_total; }) + ")";
    default:
      return "no host can hold reservations '" + r.canonical() + "' (" + of_hosts(0, hosts.size()) + ")";
  }
}

// ---------------------------------------------------------------- exclusivity
namespace {
enum class Clash : unsigned char { none, single_running, not_idle, class_running };
Clash clash(const JobPlacement& j, const HostFacts& h, std::string_view* cls = nullptr) {
  if (h.single_running > 0) return Clash::single_running;
  if (j.exclusivity.single && !h.idle()) return Clash::not_idle;
  for (const auto& c : j.exclusivity.classes)
    if (auto it = h.classes_running.find(c); it != h.classes_running.end() && it->second > 0) {
      if (cls) *cls = c;
      return Clash::class_running;
    }
  return Clash::none;
}
}  // namespace

bool ExclusivityRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return clash(j, h) == Clash::none;
}
std::string ExclusivityRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  std::string_view cls;
  switch (clash(j, h, &cls)) {
    case Clash::single_running: return h.name + " runs a 'single' job";
    case Clash::not_idle: return h.name + " is running other work and the job is 'single'";
    case Clash::class_running: return h.name + " already runs a job of class single:" + std::string(cls);
    case Clash::none: break;
  }
  return {};
}
std::string ExclusivityRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  if (j.exclusivity.single) return "waiting for a host with nothing else running (" + can_run_it(hosts.size()) + ")";
  if (!j.exclusivity.classes.empty())
    return "waiting for a host without a job of class single:" + joined(j.exclusivity.classes) + " (" +
           can_run_it(hosts.size()) + ")";
  return "waiting for hosts running 'single' jobs (" + can_run_it(hosts.size()) + ")";
}

// ---------------------------------------------------------------- reservations
bool ReservationsRule::ok(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  return host_shortfall(j.reservations, h) == Shortfall::none;
}
std::string ReservationsRule::why(const JobPlacement& j, const HostFacts& h, const GlobalResources&) const {
  const Reservations& r = j.reservations;
  std::string_view missing;
  switch (host_shortfall(r, h, &missing)) {
    case Shortfall::idle: return h.name + " is not idle (host.processors=" + (r.slots.min == 1 ? "all" : std::to_string(r.slots.min) + "*") + ")";
    case Shortfall::slots:
      return h.name + " has " + std::to_string(h.slots_free) + " free slots, needs " + std::to_string(r.slots.min);
    case Shortfall::memory:
      return h.name + " has " + std::to_string(h.memory_free_mb) + " MB free, needs " + std::to_string(r.memory_mb);
    case Shortfall::gpus:
      return h.name + " has " + std::to_string(h.gpus_free) + " free GPUs, needs " + std::to_string(r.gpus);
    case Shortfall::host_resource: return h.name + " has not enough " + std::string(missing) + " free";
    case Shortfall::none: break;
  }
  return {};
}
std::string ReservationsRule::none(const JobPlacement& j, HostList hosts, const GlobalResources&) const {
  // Name the shortfall most hosts share.
  std::array<std::size_t, 6> counts{};
  for (const HostFacts* h : hosts) ++counts[static_cast<std::size_t>(host_shortfall(j.reservations, *h))];
  const auto kind = static_cast<Shortfall>(std::max_element(counts.begin(), counts.end()) - counts.begin());
  const Reservations& r = j.reservations;
  const std::string n = can_run_it(hosts.size());
  switch (kind) {
    case Shortfall::idle: return "waiting for an idle host (" + n + ", none is idle)";
    case Shortfall::memory: return "waiting for " + std::to_string(r.memory_mb) + " MB of free memory (" + n + ")";
    case Shortfall::gpus: return "waiting for " + std::to_string(r.gpus) + " free GPUs (" + n + ")";
    case Shortfall::host_resource: return "waiting for host resources '" + r.canonical() + "' (" + n + ")";
    default:
      if (r.slots.min <= 1) return "waiting for a free slot (" + n + ", all busy)";
      return "waiting for " + std::to_string(r.slots.min) + " free slots on one host (" + n + ")";
  }
}

// ---------------------------------------------------------------- global resources
bool GlobalResourcesRule::ok(const JobPlacement& j, const HostFacts&, const GlobalResources& g) const {
  return j.reservations.global_resources.empty() || !g.shortfall(j.reservations.global_resources);
}
std::string GlobalResourcesRule::why(const JobPlacement& j, const HostFacts&, const GlobalResources& g) const {
  return g.describe_wait(*g.shortfall(j.reservations.global_resources));
}
std::string GlobalResourcesRule::none(const JobPlacement& j, HostList, const GlobalResources& g) const {
  return g.describe_wait(*g.shortfall(j.reservations.global_resources));
}

std::vector<std::unique_ptr<Rule>> default_rules() {
  std::vector<std::unique_ptr<Rule>> rules;
  rules.push_back(std::make_unique<LockedRule>());
  rules.push_back(std::make_unique<JobTypeRule>());
  rules.push_back(std::make_unique<HostsRule>());
  rules.push_back(std::make_unique<GroupsRule>());
  rules.push_back(std::make_unique<ServicesRule>());
  rules.push_back(std::make_unique<ConditionsRule>());
  rules.push_back(std::make_unique<JobRestrictionsRule>());
  rules.push_back(std::make_unique<HostRestrictionsRule>());
  rules.push_back(std::make_unique<RequirementsRule>());
  rules.push_back(std::make_unique<CapacityRule>());
  rules.push_back(std::make_unique<GlobalResourcesRule>());
  rules.push_back(std::make_unique<ExclusivityRule>());
  rules.push_back(std::make_unique<ReservationsRule>());
  return rules;
}

}  // namespace qube::placement
