#pragma once
// The placement core in one object for the scheduler: the pending index, the
// matcher, farm-wide resources, fair share and running caps, kept consistent
// with each other. The farm owns the jobs, the hosts and their HostFacts; it
// tells the placer what changes and asks it what to start.
#include <functional>
#include <optional>
#include <string>

#include "placement/global_resources.hpp"
#include "placement/limits.hpp"
#include "placement/matcher.hpp"
#include "placement/order.hpp"
#include "placement/pending_index.hpp"

namespace qube::placement {

struct PlacerConfig {
  FairShareConfig fair_share;
  LimitConfig limits;
};

struct Pick {
  const PendingJob* job = nullptr;  // valid until the index changes
  Allocation allocation;            // what its instance holds on the host
};

class Placer {
 public:
  explicit Placer(PlacerConfig config = {});
  Placer(const Placer&) = delete;  // its hooks point at itself
  Placer& operator=(const Placer&) = delete;

  PendingIndex& pending() { return pending_; }
  const PendingIndex& pending() const { return pending_; }
  GlobalResources& globals() { return globals_; }
  const GlobalResources& globals() const { return globals_; }
  FairShare& fair_share() { return fair_share_; }
  const FairShare& fair_share() const { return fair_share_; }
  RunningLimits& limits() { return limits_; }
  const Matcher& matcher() const { return matcher_; }

  // The best pending job that can start an instance on `host` now (Unix
  // seconds `now` for fair share), or nothing. `accept`, if given, is the
  // farm's last word on a candidate that fits (e.g. --retrydifferenthost:
  // does it have an item that has not failed on this host?).
  std::optional<Pick> pick(const HostFacts& host, double now,
                           const std::function<bool(const PendingJob&)>& accept = {});

  // An instance of `job` holding `a` started on / left `host`: updates the
  // host's load, farm-wide resources, fair share and caps. (The pending index
  // is the caller's to update: only it knows whether the job wants more.)
  void started(const JobPlacement& job, const Allocation& a, HostFacts& host, double now);
  void ended(const JobPlacement& job, const Allocation& a, HostFacts& host, double now);

  // Why the job cannot start: its caps, then Matcher::explain. Empty if it can.
  std::string explain(const JobPlacement& job, HostList hosts) const;

  // The walk of the last pick, for measurements.
  const PendingIndex::Walk& last_walk() const { return walk_; }

 private:
  PendingIndex pending_;
  Matcher matcher_;
  GlobalResources globals_;
  FairShare fair_share_;
  RunningLimits limits_;
  PendingIndex::Walk walk_;
  // The walk's questions, made once: they read the host and time of the pick.
  CandidateHooks hooks_;
  const HostFacts* host_ = nullptr;
  double now_ = 0;
};

}  // namespace qube::placement
