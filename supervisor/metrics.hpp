#pragma once
// The supervisor's Prometheus metrics (GET /metrics, docs/operations.md
// "Metrics"): what the loop counts and times as it goes, and a census of the farm
// taken when scraped. Written in the text exposition format directly (Debian has
// no prometheus-cpp). Everything here lives on the loop thread.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qube::supervisor {

// Cumulative buckets with fixed upper bounds (seconds), as Prometheus wants them.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}
  void observe(double value);
  void render(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not yet cumulative
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// What the loop measures as it runs.
struct LoopMetrics {
  // How long one round of the loop held it (receive, apply, schedule, commit, send).
  Histogram round_seconds{{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};
  Histogram commit_seconds{{0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
  // From the start of the round that received a work request to the item's send.
  Histogram dispatch_seconds{{0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
  std::uint64_t items_dispatched = 0;
  std::map<std::string, std::uint64_t> work_events;  // complete, failed, killed ... of items
  std::uint64_t callbacks_run = 0, callbacks_failed = 0;
};

// The farm as it is at the scrape (Farm::census).
struct FarmCensus {
  std::map<std::string, std::uint64_t> jobs_by_status, items_by_status, hosts_by_state;
  std::uint64_t slots_total = 0, slots_used = 0;
  struct Resource {
    std::string name;
    std::int64_t total = 0, used = 0;
  };
  std::vector<Resource> resources;
};

// The whole exposition: one HELP and TYPE line per metric, then its samples.
std::string render_metrics(const LoopMetrics& loop, const FarmCensus& farm);

}  // namespace qube::supervisor
