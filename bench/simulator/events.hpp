#pragma once
// What the simulated workers observed, shared between their shard threads and
// the driver thread: how many are registered, when each job's first instance
// reached a worker, how many results went out. Times are steady-clock seconds,
// comparable with the driver's own clock because both live in this process.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace qube::sim {

double steady_now();

class Events {
 public:
  void worker_registered() { registered_.fetch_add(1, std::memory_order_relaxed); }
  void worker_unregistered() { registered_.fetch_sub(1, std::memory_order_relaxed); }
  int registered() const { return registered_.load(std::memory_order_relaxed); }

  // A start_instance for `job` arrived; only the first per job is kept.
  void instance_started(std::uint64_t job, double at);
  // Waits up to `timeout` seconds for the first start of `job`.
  std::optional<double> wait_first_start(std::uint64_t job, double timeout);

  void result_sent() { results_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t results() const { return results_.load(std::memory_order_relaxed); }
  void malformed() { malformed_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t malformed_count() const { return malformed_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> registered_{0};
  std::atomic<std::uint64_t> results_{0};
  std::atomic<std::uint64_t> malformed_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::uint64_t, double> first_start_;
};

}  // namespace qube::sim
