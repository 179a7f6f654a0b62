#pragma once
// What a worker counts for its own GET /metrics (docs/operations.md "Metrics"):
// the loop keeps a WorkerCounters as it goes and publishes a copy into a
// MetricsBoard once a round; the metrics server's thread reads the board, so a
// scrape never waits on the loop nor touches its state.
#include <cstdint>
#include <mutex>
#include <string>

#include "qube/clock.hpp"

namespace qube::worker {

struct WorkerCounters {
  std::uint64_t instances_running = 0;
  std::uint64_t slots_used = 0;  // what the running instances were granted (QB_JOBSLOTS)
  std::uint64_t slots_total = 0;
  std::uint64_t items_run = 0;     // results reported, complete or failed
  std::uint64_t items_failed = 0;
  std::uint64_t instances_started = 0;
  std::uint64_t instances_failed = 0;  // could not start, or ended failed
  bool connected = false;            // registered with the supervisor, its handshake accepted
  SteadyTime last_heartbeat;         // the latest heartbeat (or registration) sent
};

class MetricsBoard {
 public:
  void publish(const WorkerCounters& counters) {
    const std::lock_guard lock(mutex_);
    counters_ = counters;
  }
  WorkerCounters read() const {
    const std::lock_guard lock(mutex_);
    return counters_;
  }

 private:
  mutable std::mutex mutex_;
  WorkerCounters counters_;
};

// The exposition (text format 0.0.4) of `counters` as of `now`.
std::string render_worker_metrics(const WorkerCounters& counters, SteadyTime now);

}  // namespace qube::worker
