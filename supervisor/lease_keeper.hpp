#pragma once
// The active supervisor's lease, renewed every kLeaseRenewEvery on a thread of
// its own (its own connection), so that a long load or a busy round does not
// let it expire. When it cannot be renewed (another supervisor holds it, or the
// database was out of reach for longer than the lease lasts, so another may),
// `step_down` becomes true: the event loop stops, and its commits are fenced
// meanwhile anyway (open_store.hpp, Fenced).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "lease.hpp"

namespace qube::supervisor {

class LeaseKeeper {
 public:
  LeaseKeeper(Lease& lease, std::int64_t epoch, SupervisorIdentity me, std::atomic<bool>& step_down);
  ~LeaseKeeper();  // stops renewing (the lease is left to expire, or released by the caller)
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;
  // The lease was lost (not a stop asked for).
  bool lost() const { return lost_; }

 private:
  void keep();

  Lease& lease_;
  const std::int64_t epoch_;
  const SupervisorIdentity me_;
  std::atomic<bool>& step_down_;
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace qube::supervisor
