#pragma once
// Instances' output that the supervisor may not have taken yet.
//
// The supervisor takes a `log` message only from a worker it knows; one that
// restarted (or wrote this worker off) answers it with `reregister` and drops it.
// Output sent meanwhile (queued while the supervisor was down, or sent before
// its `reregister` arrived) was lost, and while the worker registered again it
// sent output to be dropped too. Here each `log` sent is kept under its message
// id until the supervisor is known to have taken it, so that:
// - a `reregister` answering that id marks it refused;
// - output made while registering is kept unsent;
// - once registered again, the refused and the unsent are sent again, in the
//   order they were made, before anything else of the instances;
// - an acknowledged heartbeat (its id) says the supervisor took everything sent
//   before it: that is forgotten. The worker asks for an ack while any is kept.
//
// The supervisor answers a connection's messages in order, so every refusal of
// a message sent before a registration arrives before that registration's
// answer: what is neither refused nor acknowledged then was taken by the
// supervisor that stopped (or was lost with its socket) and is not sent twice.
// After a switch to another supervisor (--supervisor a,b) nothing can be known
// of what the silent one took: everything not acknowledged is sent again.
//
// Bounded: past kMaxBytes the oldest output is dropped and counted.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "qube/messages.hpp"

namespace qube::worker {

class LogBacklog {
 public:
  static constexpr std::size_t kMaxBytes = 32u << 20;

  explicit LogBacklog(std::size_t max_bytes = kMaxBytes) : max_bytes_(max_bytes) {}

  // Output made: kept, to be sent (in the order made).
  void add(proto::LogReport report);
  // The oldest output not sent yet, or null; then sent_next with the message id it went as.
  const proto::LogReport* next_to_send() const;
  void sent_next(std::uint64_t id);
  // The supervisor answered message `id` with `reregister`.
  void refused(std::uint64_t id);
  // The supervisor acknowledged message `id` (a heartbeat): all sent before it was taken.
  void taken_before(std::uint64_t id);
  // The supervisor this was sent to went silent and was left for another.
  void all_refused();
  // Registered again: the refused is to be sent again, in the order it was made;
  // what was sent and not refused is forgotten.
  void registered();

  // Anything sent and not yet acknowledged (a heartbeat should ask for an ack).
  bool awaiting_ack() const { return sent_unacked_ > 0; }
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }
  // Output dropped over the bound since the last call (for a warning).
  std::uint64_t take_dropped_bytes() { return std::exchange(dropped_bytes_, 0); }

 private:
  struct Entry {
    std::uint64_t id = 0;  // the message it went as; 0: not sent
    bool refused = false;
    proto::LogReport report;
  };
  bool sent_unrefused(const Entry& e) const { return e.id && !e.refused; }
  void forget_front();

  std::size_t max_bytes_;
  // In the order made. The unsent are its last `unsent_`: output is sent in order,
  // and refused entries turn unsent only at a registration, which forgets every
  // sent one before them.
  std::deque<Entry> entries_;
  std::size_t unsent_ = 0;
  std::size_t bytes_ = 0;
  std::size_t sent_unacked_ = 0;  // sent, not refused
  std::uint64_t dropped_bytes_ = 0;
};

}  // namespace qube::worker
