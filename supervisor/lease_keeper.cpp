#include "lease_keeper.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

namespace qube::supervisor {

LeaseKeeper::LeaseKeeper(Lease& lease, std::int64_t epoch, SupervisorIdentity me, std::atomic<bool>& step_down)
    : lease_(lease), epoch_(epoch), me_(std::move(me)), step_down_(step_down), thread_([this] { keep(); }) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LeaseKeeper::keep() {
  using clock = std::chrono::steady_clock;
  const auto period = std::chrono::duration<double>(kLeaseRenewEvery);
  auto renewed = clock::now();
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [&] { return stopping_; })) {
    lock.unlock();
    std::string why;
    try {
      if (lease_.renew(epoch_)) {
        renewed = clock::now();
        lease_.seen(me_);
      } else {
        why = "another supervisor has taken it over";
      }
    } catch (const std::exception& e) {
      // Not renewed this time; after a lease's length, another may hold it.
      if (clock::now() - renewed > std::chrono::duration<double>(kLeaseSeconds))
        why = std::string("it could not be renewed for longer than it lasts: ") + e.what();
      else
        spdlog::warn("lease: not renewed ({}); trying again", e.what());
    }
    lock.lock();
    if (!why.empty()) {
      spdlog::critical("lease: this supervisor lost its lease (epoch {}): {}; stepping down", epoch_, why);
      lost_ = true;
      step_down_ = true;
      return;
    }
  }
}

}  // namespace qube::supervisor
