#pragma once
// qbworker's event loop: one DEALER to the supervisor, one local channel per
// instance process. It registers, heartbeats, starts instance processes in their
// own process groups, relays work, output and results, and kills on request.
#include <sys/types.h>

#include <atomic>
#include <map>
#include <string>

#include <zmq.hpp>

#include "channel.hpp"
#include "config.hpp"
#include "facts.hpp"
#include "jobtype_registry.hpp"
#include "qube/protocol.hpp"

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
  double kill_deadline = 0;    // when SIGTERM turns into SIGKILL
  std::string fatal_reason;    // what the instance said before it gave up
};

class Worker {
 public:
  Worker(Config config, std::map<std::string, JobTypeEntry> jobtypes, Facts facts = {});
  ~Worker();
  void run(const std::atomic<bool>& stop);

 private:
  void send(const std::string& type, Json body, std::uint64_t id = 0);
  void register_now();
  void handle_supervisor(const proto::Message& msg);
  void start_instance(const Json& job);
  void handle_instance(InstanceProcess& p, const Json& msg);
  void kill_instance(InstanceProcess& p, int sig);
  void kill_all();
  void reap();
  void finish(InstanceProcess& p);
  InstanceProcess* find(JobId job, std::int32_t subid);
  std::string job_supervisor_endpoint(const std::string& advertised) const;

  Config config_;
  Facts facts_;  // sent with every registration, for placement
  std::map<std::string, JobTypeEntry> jobtypes_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_{ctx_, zmq::socket_type::dealer};
  std::map<pid_t, InstanceProcess> instances_;
  bool registered_ = false;
  double heartbeat_interval_ = 2.0;
  double next_heartbeat_ = 0;
  double next_register_ = 0;
  std::string client_endpoint_;
  std::string instance_exe_;
  std::uint64_t next_id_ = 1;
  std::uint64_t register_id_ = 0;  // id of our latest register message
};

}  // namespace qube::worker
