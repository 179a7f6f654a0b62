#include "events.hpp"

#include <chrono>

namespace qube::sim {

double steady_now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void Events::instance_started(std::uint64_t job, double at) {
  {
    std::lock_guard lock(mutex_);
    if (!first_start_.emplace(job, at).second) return;
  }
  changed_.notify_all();
}

std::optional<double> Events::wait_first_start(std::uint64_t job, double timeout) {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  const bool seen = changed_.wait_until(lock, deadline, [&] { return first_start_.count(job) > 0; });
  if (!seen) return std::nullopt;
  return first_start_.at(job);
}

}  // namespace qube::sim
