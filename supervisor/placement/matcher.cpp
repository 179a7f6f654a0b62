#include "placement/matcher.hpp"

#include "placement/rules.hpp"

namespace qube::placement {

Matcher::Matcher() : rules_(default_rules()) {}
Matcher::Matcher(std::vector<std::unique_ptr<Rule>> rules) : rules_(std::move(rules)) {}

bool Matcher::asked(const Rule& r, const JobPlacement& job, Scope scope) const {
  if (r.explain_only()) return false;
  switch (scope) {
    case Scope::shape: return !r.per_job(job);
    case Scope::job: return r.per_job(job);
    case Scope::all: return true;
  }
  return true;
}

Verdict Matcher::can_run(const JobPlacement& job, const HostFacts& host, const GlobalResources& globals,
                         Scope scope) const {
  for (const auto& r : rules_)
    if (asked(*r, job, scope) && !r->ok(job, host, globals)) return Verdict{false, r->name(), {}};
  return Verdict{};
}

Verdict Matcher::why_not(const JobPlacement& job, const HostFacts& host, const GlobalResources& globals) const {
  for (const auto& r : rules_)
    if (asked(*r, job, Scope::all) && !r->ok(job, host, globals))
      return Verdict{false, r->name(), r->why(job, host, globals)};
  return Verdict{};
}

std::string Matcher::explain(const JobPlacement& job, HostList hosts, const GlobalResources& globals) const {
  if (hosts.empty()) return "waiting for a worker to register";
  std::vector<const HostFacts*> passing(hosts.begin(), hosts.end()), next;
  // Static rules first: "no host could ever" beats "all are busy".
  for (const bool static_pass : {true, false}) {
    for (const auto& r : rules_) {
      if (r->is_static() != static_pass) continue;
      next.clear();
      for (const HostFacts* h : passing)
        if (r->ok(job, *h, globals)) next.push_back(h);
      if (next.empty()) return r->none(job, passing, globals);
      passing.swap(next);
    }
  }
  return {};
}

}  // namespace qube::placement
