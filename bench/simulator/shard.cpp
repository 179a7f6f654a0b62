#include "shard.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <system_error>

namespace qube::sim {

Shard::Shard(zmq::context_t& ctx, const SimConfig& config, Events& events, const std::string& prefix, int first,
             int count, double ramp) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  const double now = steady_now();
  for (int i = 0; i < count; ++i) {
    const auto index = static_cast<std::uint32_t>(i);
    workers_.push_back(std::make_unique<SimWorker>(ctx, index, prefix + std::to_string(first + i), config, events));
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: drain() leaves the descriptor quiet
    ev.data.u32 = index;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, workers_.back()->fd(), &ev) != 0)
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    Timer t;
    t.due = now + (count > 1 ? ramp * i / (count - 1) : 0);
    t.worker = index;
    t.kind = Timer::kRegister;
    timers_.push(t);
  }
}

Shard::~Shard() {
  join();
  workers_.clear();
  if (epoll_ >= 0) close(epoll_);
}

void Shard::start(const std::atomic<bool>& stop) {
  // Sockets were made on this thread and are used only by the new one from here on;
  // starting a thread is the full memory barrier ZeroMQ asks for when a socket moves.
  thread_ = std::thread([this, &stop] { run(stop); });
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::run(const std::atomic<bool>& stop) {
  std::vector<epoll_event> ready(512);
  std::vector<std::uint32_t> touched;
  // Every socket once at start: connecting may already have consumed a wake-up.
  for (auto& w : workers_) w->drain(timers_);
  while (!stop.load(std::memory_order_relaxed)) {
    double wait = 0.1;  // seconds; bounded so that `stop` is seen promptly
    if (!timers_.empty()) wait = std::min(wait, std::max(0.0, timers_.top().due - steady_now()));
    const int n = epoll_wait(epoll_, ready.data(), static_cast<int>(ready.size()),
                             static_cast<int>(std::ceil(wait * 1000)));
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_wait");
    for (int i = 0; i < n; ++i) workers_[ready[static_cast<std::size_t>(i)].data.u32]->drain(timers_);
    // Due timers send; each socket they sent on is drained afterwards (see drain()).
    touched.clear();
    const double now = steady_now();
    while (!timers_.empty() && timers_.top().due <= now) {
      const Timer t = timers_.top();
      timers_.pop();
      workers_[t.worker]->on_timer(t, timers_);
      touched.push_back(t.worker);
    }
    for (std::uint32_t w : touched) workers_[w]->drain(timers_);
  }
}

}  // namespace qube::sim
