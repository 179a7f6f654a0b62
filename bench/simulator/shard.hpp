#pragma once
// A thread that owns a set of simulated workers. It waits with epoll on their
// ZMQ_FD descriptors, so a wake-up costs in proportion to the sockets that have
// input rather than to all of them (zmq::poll asks every socket for its events
// on every call, which at 10,000 sockets would cost more than the supervisor).
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "sim_worker.hpp"

namespace qube::sim {

class Shard {
 public:
  // Workers are named <prefix><first>..<prefix><first+count-1>; their first
  // registrations are spread evenly over `ramp` seconds.
  Shard(zmq::context_t& ctx, const SimConfig& config, Events& events, const std::string& prefix,
        int first, int count, double ramp);
  ~Shard();
  void start(const std::atomic<bool>& stop);
  void join();

 private:
  void run(const std::atomic<bool>& stop);

  std::vector<std::unique_ptr<SimWorker>> workers_;
  TimerQueue timers_;
  int epoll_ = -1;
  std::thread thread_;
};

}  // namespace qube::sim
