#pragma once
// Instances' output that the supervisor may not have taken yet.
//
// The supervisor takes a `log` message only from a worker it knows: one that
// restarted (or wrote this worker off) drops it. Output queued while it was
// down, sent before the worker knew, in the worker's socket or the old
// supervisor's when the connection broke, or made while the worker registered
// again, was lost, and the item's log had a hole. So each `log` is kept here
// until a heartbeat sent after it is acknowledged (the supervisor answers a
// connection's messages in order: every message before that heartbeat was
// taken), and at each registration everything not acknowledged is sent again.
// Each carries its offset in the instance's stream (LogReport::offset), and the
// supervisor skips the bytes it already has: sent twice, stored once.
//
// Bounded: past kMaxBytes the oldest output is dropped (counted, for a warning
// when it was never sent); at most kInFlightAtMost messages wait for an ack, so
// that the socket's queue never fills with output and heartbeats and results
// always go out. Output not sent yet is merged, per instance and stream.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

#include "qube/messages.hpp"

namespace qube::worker {

class LogBacklog {
 public:
  static constexpr std::size_t kMaxBytes = 32u << 20;
  static constexpr std::size_t kInFlightAtMost = 10000;
  static constexpr std::size_t kMergeUpTo = 64u << 10;  // bytes of one merged message

  explicit LogBacklog(std::size_t max_bytes = kMaxBytes) : max_bytes_(max_bytes) {}

  // Output made (with its offset): kept, to be sent in the order made.
  void add(proto::LogReport report);
  // The oldest output not sent yet, or null (also while kInFlightAtMost wait for
  // an ack); then sent_next with the message id it went as.
  const proto::LogReport* next_to_send() const;
  void sent_next(std::uint64_t id);
  // The supervisor acknowledged message `id` (a heartbeat): all sent before it was taken.
  void taken_before(std::uint64_t id);
  // Registered again (or with another supervisor): everything not acknowledged
  // is to be sent again, in the order made.
  void send_all_again();

  // Anything sent and not yet acknowledged (a heartbeat should ask for an ack).
  bool awaiting_ack() const { return in_flight_ > 0; }
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }
  // Output dropped over the bound before it was ever sent, since the last call.
  std::uint64_t take_dropped_bytes() { return std::exchange(dropped_bytes_, 0); }

 private:
  struct Entry {
    std::uint64_t id = 0;  // the message it went as; 0: not sent
    proto::LogReport report;
  };
  static std::size_t cost(const Entry& e) { return sizeof(Entry) + e.report.log.data.size(); }
  bool merges(const Entry& last, const proto::LogReport& report) const;
  void forget_front();

  std::size_t max_bytes_;
  // In the order made. The unsent are its last `unsent_`, the sent (ids rising)
  // the rest: output is sent in order, and sent again all at once.
  std::deque<Entry> entries_;
  std::size_t unsent_ = 0;
  std::size_t in_flight_ = 0;  // sent, not acknowledged
  std::size_t bytes_ = 0;      // what the entries cost (data and bookkeeping)
  std::uint64_t dropped_bytes_ = 0;
};

}  // namespace qube::worker
