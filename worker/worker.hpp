#pragma once
// qbworker's event loop: one DEALER to the supervisor, one local channel per
// instance process. It registers, heartbeats, starts instance processes in their
// own process groups, relays work, output and results, and kills on request.
#include <sys/types.h>

#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "channel.hpp"
#include "qube/handshake_watch.hpp"
#include "config.hpp"
#include "facts.hpp"
#include "jobtype_registry.hpp"
#include "log_backlog.hpp"
#include "qube/account.hpp"
#include "qube/clock.hpp"
#include "qube/messages.hpp"
#include "qube/protocol.hpp"
#include "worker_metrics.hpp"

namespace qube::worker {

struct InstanceProcess {
  JobId job = 0;
  std::int32_t subid = 0;
  pid_t pid = -1;
  int fd = -1;
  FrameReader reader;
  bool channel_closed = false;
  bool exited = false;
  int wait_status = 0;
  bool killed = false;         // we were told to kill it
  SteadyTime kill_deadline;    // when SIGTERM turns into SIGKILL
  std::string fatal_reason;    // what the instance said before it gave up
  // What a supervisor taking over needs to adopt it (docs/high-availability.md):
  // the item it was last given, the result it sent for it (until the next
  // item), and whether it asked for work that has not come.
  std::optional<proto::Assignment> given;
  std::optional<proto::WorkResult> result;
  bool asked = false;
  // Its next items, asked for ahead while it runs one (Worker::ask_ahead) and
  // kept here until it asks: one, and for a moment two (the answer to a request
  // sent with a result can come before the instance asks for the first).
  // Dropped when the worker registers again (the supervisor gives them back).
  std::deque<proto::Assignment> held;
  bool ahead_asked = false;     // a request made ahead is unanswered
  double last_walltime = -1;    // how long its last item took (-1: none yet)
  int slots = 1;               // what the supervisor granted it (QB_JOBSLOTS)
  std::uint64_t log_bytes[2] = {0, 0};  // of stdout, stderr forwarded: the next output's offset
  proto::InstanceRef ref() const { return {job, subid}; }
};

class Worker {
 public:
  // `clock` paces registration and heartbeats and times kill grace periods.
  Worker(const Clock& clock, Config config, std::map<std::string, JobTypeEntry> jobtypes, Facts facts = {});
  ~Worker();
  // Runs until `stop` becomes true, then leaves (config drain_on_stop: after its
  // running items finish; else at once, handing them back).
  void run(const std::atomic<bool>& stop);
  // What it has counted, as of its latest round; safe to read from any thread.
  const MetricsBoard& metrics() const { return board_; }

 private:
  void round();  // one pass of the event loop
  void leave();
  void send(const std::string& type, Json body, std::uint64_t id = 0);
  template <class M>
  void send(const M& message) {
    send(M::kType, proto::to_json(message));
  }
  // An instance's result or request for work: sent now if registered; while
  // registering, only kept (InstanceProcess::result, asked), for on_registered
  // sends what each instance holds. Sent both ways, the supervisor got the request
  // twice: the second, after it had given the next item, was answered "no more
  // work", and the instance ended with that item in its hands.
  template <class M>
  void send_unless_registering(const M& message) {
    if (registered_) send(message);
  }
  // An instance's output: kept (LogBacklog) and sent in the order made, while registered.
  void send_log(proto::LogReport report);
  void flush_logs();
  void register_now();
  void handle_supervisor(const proto::Message& msg);
  void on_registered(const proto::Registered& m);
  void on_reregister(std::uint64_t id);
  // Another supervisor of the list (--supervisor a,b): `hint` if it names one,
  // else the next; registers there.
  void switch_supervisor(const std::string& hint, const std::string& why);
  // Several supervisors: one that says nothing for too long is left for the next.
  void watch_silence(SteadyTime now);
  const std::string& supervisor() const { return supervisors_[current_]; }
  void on_work(const proto::Work& m);
  // The instance's next item (it asked and waits): on its channel, then asked
  // for ahead when its items are short.
  void give(InstanceProcess& p, const proto::Assignment& assignment);
  void ask_ahead(InstanceProcess& p);
  bool ahead_wanted(const InstanceProcess& p) const;
  void on_kill(const proto::KillInstance& m);
  void on_suspend(const proto::SuspendInstance& m);
  void on_revoke(const proto::Revoke& m);
  void start_instance(proto::StartInstance start);
  void handle_instance(InstanceProcess& p, const Json& msg);
  void kill_instance(InstanceProcess& p, int sig);
  void kill_all();
  void reap();
  void finish(InstanceProcess& p);
  InstanceProcess* find(const proto::InstanceRef& instance);
  std::string job_supervisor_endpoint(const std::string& advertised) const;
  void publish_metrics();

  const Clock& clock_;
  Config config_;
  Facts facts_;  // sent with every registration, for placement
  std::map<std::string, JobTypeEntry> jobtypes_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_{ctx_, zmq::socket_type::dealer};
  // A refused handshake (our key unknown or revoked) is not retried by libzmq:
  // the worker connects again itself, every kReconnectAfterRefusal seconds.
  std::optional<transport::HandshakeWatch> handshakes_;
  std::optional<SteadyTime> reconnect_at_;
  void watch_handshakes(SteadyTime now);
  std::map<pid_t, InstanceProcess> instances_;
  LogBacklog logs_;  // output the supervisor may not have taken yet
  std::uint64_t dropped_log_bytes_ = 0;  // over LogBacklog's bound, not yet warned of
  SteadyTime last_drop_warning_;
  bool registered_ = false;
  bool stopping_ = false;  // draining on SIGTERM: no new instance, no new item
  double heartbeat_interval_ = 2.0;  // seconds
  SteadyTime next_heartbeat_;
  SteadyTime next_register_;
  std::string client_endpoint_;
  std::string instance_exe_;
  Account me_;  // this daemon's own account (run_as: self, and what it may switch to)
  std::uint64_t next_id_ = 1;
  std::uint64_t register_id_ = 0;  // id of our latest register message
  std::vector<std::string> supervisors_;  // config_.supervisor, split at commas
  std::size_t current_ = 0;               // the one connected to
  SteadyTime last_heard_;                 // last message from it
  SteadyTime registering_since_;          // first register sent to it
  // The supervisor last left because it did not answer, and when: a standby
  // that still names it is waited on (its lease has not run out yet).
  std::optional<std::pair<std::string, SteadyTime>> left_silent_;
  WorkerCounters counters_;  // the loop's own; published to board_ each round
  MetricsBoard board_;
};

}  // namespace qube::worker
