#include "placement/placer.hpp"

#include "placement/load.hpp"

namespace qube::placement {

Placer::Placer(PlacerConfig config) : fair_share_(config.fair_share), limits_(std::move(config.limits)) {
  hooks_.shape_fits = [this](const JobPlacement& p) { return matcher_.can_run(p, *host_, globals_, Scope::shape).ok; };
  hooks_.user_fits = [this](std::string_view user) { return limits_.user_may_start(user); };
  hooks_.share = [this](std::string_view user) { return fair_share_.key(user, now_); };
}

std::optional<Pick> Placer::pick(const HostFacts& host, double now,
                                 const std::function<bool(const PendingJob&)>& accept) {
  if (host.locked) return std::nullopt;
  host_ = &host;
  now_ = now;
  pending_.candidates_for(host, hooks_, walk_);
  while (const PendingJob* job = walk_.next()) {
    const JobPlacement& p = *job->placement;
    if (!limits_.pgrp_may_start(p.facts.pgrp)) continue;
    if (!matcher_.can_run(p, host, globals_, Scope::job).ok) continue;
    if (accept && !accept(*job)) continue;
    return Pick{job, allocate(p.reservations, host)};
  }
  return std::nullopt;
}

void Placer::started(const JobPlacement& job, const Allocation& a, HostFacts& host, double now) {
  occupy(host, job, a);
  globals_.acquire(a.global_resources);
  fair_share_.started(job.facts.user, a.slots, now);
  limits_.started(job.facts.user, job.facts.pgrp);
}

void Placer::ended(const JobPlacement& job, const Allocation& a, HostFacts& host, double now) {
  vacate(host, job, a);
  globals_.release(a.global_resources);
  fair_share_.ended(job.facts.user, a.slots, now);
  limits_.ended(job.facts.user, job.facts.pgrp);
}

std::string Placer::explain(const JobPlacement& job, HostList hosts) const {
  if (std::string caps = limits_.describe(job.facts.user, job.facts.pgrp); !caps.empty()) return "waiting: " + caps;
  return matcher_.explain(job, hosts, globals_);
}

}  // namespace qube::placement
