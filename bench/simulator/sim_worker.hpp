#pragma once
// One simulated worker: its own DEALER socket and identity, speaking the real
// worker protocol (docs/protocol.md) without starting processes. It registers,
// heartbeats, "starts" instances when told, pulls agenda items one at a time and
// reports each complete at once or after `item_seconds`, like a real worker whose
// instance process runs a job type that takes that long.
#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "events.hpp"
#include "qube/protocol.hpp"

namespace qube::sim {

struct SimConfig {
  std::string endpoint;          // the supervisor's worker endpoint
  int slots = 1;
  double item_seconds = 0;       // how long each agenda item "runs"
  double heartbeat = 0;          // seconds; 0: the interval the supervisor asks for
  std::vector<std::string> jobtypes{"cmdline", "cmdrange"};
  std::uint64_t memory_mb = 16384;
  // The supervisor's key directory, when it requires keys: each simulated worker
  // makes a key pair, puts its public key in <keys>/workers (as an admin would),
  // and talks CURVE with the supervisor.key found there.
  std::string keys_dir;
};

// A deferred action of one worker. `session` is the worker's registration it
// belongs to: a timer from before a re-registration is ignored.
struct Timer {
  enum Kind : std::uint8_t { kRegister, kHeartbeat, kItemDone };
  double due = 0;
  std::uint32_t worker = 0;  // index within its shard
  Kind kind = kRegister;
  std::uint64_t session = 0;
  std::uint64_t job = 0;
  std::int32_t subid = 0;
  std::int64_t index = 0;
  std::uint64_t attempt = 0;
  bool operator>(const Timer& other) const { return due > other.due; }
};
using TimerQueue = std::priority_queue<Timer, std::vector<Timer>, std::greater<>>;

class SimWorker {
 public:
  SimWorker(zmq::context_t& ctx, std::uint32_t index, std::string name, const SimConfig& config,
            Events& events);

  // The descriptor that becomes readable when the socket may have input (ZMQ_FD).
  int fd();
  // Receives and handles everything waiting. Must be called after any send on
  // this socket too: ZMQ_FD is edge-like, and a send can consume the wake-up of
  // a message that arrived meanwhile.
  void drain(TimerQueue& timers);
  void on_timer(const Timer& timer, TimerQueue& timers);

 private:
  struct HeldItem {
    std::int64_t index = 0;
    std::uint64_t attempt = 0;
  };
  using InstanceKey = std::pair<std::uint64_t, std::int32_t>;  // job, subid

  void handle(const proto::Message& msg, TimerQueue& timers);
  void register_now(TimerQueue& timers);
  void on_work(const Json& body, TimerQueue& timers);
  void complete_item(const InstanceKey& key, std::int64_t index, std::uint64_t attempt);
  void send(const char* type, Json body, std::uint64_t id = 0);
  Timer timer(Timer::Kind kind, double due) const;

  const SimConfig& config_;
  Events& events_;
  std::uint32_t index_;
  std::string name_;
  zmq::socket_t socket_;
  bool registered_ = false;
  std::uint64_t session_ = 0;
  std::uint64_t register_id_ = 0;
  std::uint64_t next_id_ = 1;
  double register_retry_ = 0.25;
  double heartbeat_interval_ = 2.0;
  std::map<InstanceKey, std::optional<HeldItem>> instances_;
};

}  // namespace qube::sim
