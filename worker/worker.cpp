#include "worker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "qube/launcher.hpp"
#include "qube/paths.hpp"
#include "qube/process.hpp"
#include "qube/transport.hpp"

namespace qube::worker {

namespace {

double steady_now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "ended";
}

}  // namespace

Worker::Worker(Config config, std::map<std::string, JobTypeEntry> jobtypes, Facts facts)
    : config_(std::move(config)), facts_(std::move(facts)), jobtypes_(std::move(jobtypes)) {
  instance_exe_ = (executable_dir() / "qbinstance").string();
  transport::configure(socket_);
  socket_.set(zmq::sockopt::immediate, 1);
  socket_.connect(config_.supervisor);
}

Worker::~Worker() { kill_all(); }

void Worker::send(const std::string& type, Json body, std::uint64_t id) {
  if (!transport::send(socket_, proto::Message{type, id ? id : next_id_++, std::move(body)}))
    spdlog::debug("supervisor not reachable; '{}' not sent", type);
}

void Worker::register_now() {
  // A new registration starts a new session: whatever ran before belongs to a
  // session the supervisor has already written off.
  kill_all();
  Host facts;
  facts.name = config_.name;
  facts.slots = config_.slots;
  facts.memory_mb = facts_.memory_mb;
  for (const auto& [name, t] : jobtypes_) facts.jobtypes.push_back(name);
  register_id_ = next_id_;
  Json body = to_json(facts);
  body["facts"] = to_json(facts_);
  send(proto::kRegister, std::move(body));
  // Until the supervisor answers, ask again soon: the first send may have been
  // dropped while the connection was still being set up.
  next_register_ = steady_now() + 0.25;
}

void Worker::run(const std::atomic<bool>& stop) {
  spdlog::info("qbworker {} ({} slots) connecting to {}", config_.name, config_.slots, config_.supervisor);
  register_now();
  while (!stop) {
    std::vector<zmq::pollitem_t> items{{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    std::vector<pid_t> owners;
    for (auto& [pid, p] : instances_) {
      if (p.channel_closed) continue;
      items.push_back({nullptr, p.fd, ZMQ_POLLIN, 0});
      owners.push_back(pid);
    }
    // Short waits while a process is ending, so that its end is reported promptly.
    bool ending = false;
    for (auto& [pid, p] : instances_) ending = ending || p.channel_closed || p.killed;
    const long wait_ms = ending ? 20 : 200;
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(wait_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    for (int n = 0; n < 1000; ++n) {
      auto in = transport::receive(socket_, false);
      if (!in) break;
      if (!in->msg) {
        spdlog::warn("malformed message from the supervisor: {}", in->error);
        continue;
      }
      try {
        handle_supervisor(*in->msg);
      } catch (const std::exception& e) {
        spdlog::warn("bad '{}' from the supervisor: {}", in->msg->type, e.what());
      }
    }
    for (std::size_t i = 1; i < items.size(); ++i) {
      if (!(items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))) continue;
      auto it = instances_.find(owners[i - 1]);
      if (it == instances_.end()) continue;
      InstanceProcess& p = it->second;
      try {
        if (!p.reader.fill(p.fd)) p.channel_closed = true;
        while (auto msg = p.reader.next()) handle_instance(p, *msg);
      } catch (const std::exception& e) {
        spdlog::warn("instance {}.{} sent garbage ({}); killing it", p.job, p.subid, e.what());
        p.fatal_reason = std::string("instance channel: ") + e.what();
        kill_instance(p, SIGKILL);
        p.channel_closed = true;
      }
    }
    reap();
    const double now = steady_now();
    if (!registered_ && now >= next_register_) register_now();
    if (registered_ && now >= next_heartbeat_) {
      send(proto::kHeartbeat, Json{{"name", config_.name}, {"instances", instances_.size()}});
      next_heartbeat_ = now + heartbeat_interval_;
    }
  }
  spdlog::info("qbworker stopping; killing {} instance(s)", instances_.size());
  kill_all();
}

void Worker::handle_supervisor(const proto::Message& msg) {
  const Json& b = msg.body;
  if (msg.type == proto::kRegistered) {
    registered_ = true;
    heartbeat_interval_ = std::clamp(get_double(b, "heartbeat_interval", 2.0), 0.05, 3600.0);
    client_endpoint_ = job_supervisor_endpoint(get_string(b, "client_endpoint"));
    next_heartbeat_ = steady_now() + heartbeat_interval_;
    spdlog::info("registered with the supervisor (heartbeat every {} s)", heartbeat_interval_);
  } else if (msg.type == proto::kReregister) {
    // Answers to messages sent before our latest registration are stale: acting
    // on each would register (and kill our instances) once per stale message.
    if (msg.id < register_id_) return;
    spdlog::warn("the supervisor does not know this worker (it restarted?); registering again");
    registered_ = false;
    register_now();
  } else if (msg.type == proto::kHeartbeatAck) {
  } else if (msg.type == proto::kStartInstance) {
    start_instance(get_object(b, "job"));
  } else if (msg.type == proto::kWork) {
    InstanceProcess* p = find(static_cast<JobId>(get_int(b, "job")), static_cast<std::int32_t>(get_int(b, "subid")));
    if (!p || p->channel_closed) return;
    Json forward = get_bool(b, "done") ? Json{{"t", "done"}}
                                        : Json{{"t", "work"},
                                               {"index", get_int(b, "index")},
                                               {"item", get_string(b, "item")},
                                               {"attempt", get_int(b, "attempt")}};
    if (!write_frame(p->fd, forward)) p->channel_closed = true;
  } else if (msg.type == proto::kKillInstance) {
    InstanceProcess* p = find(static_cast<JobId>(get_int(b, "job")), static_cast<std::int32_t>(get_int(b, "subid")));
    if (p) {
      spdlog::info("killing instance {}.{} (process group {})", p->job, p->subid, p->pid);
      kill_instance(*p, SIGTERM);
    }
  } else if (msg.type == proto::kSuspendInstance) {
    // qb suspend / resume: the whole instance group stops where it is and keeps
    // its slot; a later kill still works (kill_instance sends SIGCONT after TERM).
    InstanceProcess* p = find(static_cast<JobId>(get_int(b, "job")), static_cast<std::int32_t>(get_int(b, "subid")));
    if (p && !p->exited) {
      const bool suspend = get_bool(b, "suspend");
      spdlog::info("{} instance {}.{}", suspend ? "suspending" : "resuming", p->job, p->subid);
      ::kill(-p->pid, suspend ? SIGSTOP : SIGCONT);
    }
  } else {
    spdlog::warn("unknown message '{}' from the supervisor", msg.type);
  }
}

// qbinstance for one instance: the worker's own stdin, stdout and stderr, its
// channel to the worker as descriptor 3 and nothing else of the worker's (or of
// whatever started it); a process group of its own, so that a kill reaches
// everything the job started; and dying with the worker whatever happens to it.
static LaunchSpec instance_spec(const std::string& exe, const JobTypeEntry& type, int channel) {
  LaunchSpec spec;
  spec.program = exe;
  spec.argv = {"qbinstance", "--fd", "3", "--module", type.module.string(), "--worker-pid", std::to_string(getpid())};
  // The job type reads its settings (executable, arguments, timeouts) from the
  // very description file this worker loaded it by, wherever --jobtypes points.
  spec.env = current_environment();
  spec.env["QB_JOBTYPE_CONFIG"] = type.yaml;
  spec.in = spec.out = spec.err = ChildStream::inherit;
  spec.pass_fds = {channel};
  spec.own_process_group = true;
  spec.die_with_parent = true;
  return spec;
}

void Worker::start_instance(const Json& job) {
  const auto id = static_cast<JobId>(get_int(job, "id"));
  const auto subid = static_cast<std::int32_t>(get_int(job, "subid"));
  const std::string type = get_string(job, "type");
  auto t = jobtypes_.find(type);
  if (t == jobtypes_.end()) {
    send(proto::kInstanceDone, Json{{"job", id}, {"subid", subid}, {"status", "failed"},
                                    {"reason", "worker " + config_.name + " has no job type '" + type + "'"}});
    return;
  }
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    send(proto::kInstanceDone, Json{{"job", id}, {"subid", subid}, {"status", "failed"},
                                    {"reason", std::string("socketpair: ") + std::strerror(errno)}});
    return;
  }
  const Launched child = launch(instance_spec(instance_exe_, t->second, fds[1]));
  close(fds[1]);
  if (!child.started()) {
    close(fds[0]);
    send(proto::kInstanceDone, Json{{"job", id}, {"subid", subid}, {"status", "failed"},
                                    {"reason", child.failed_step + ": " + std::strerror(child.error)}});
    return;
  }
  const pid_t pid = child.pid;
  Json info = job;
  info["supervisor"] = client_endpoint_;
  info["host"] = config_.name;
  write_frame(fds[0], Json{{"job", info}});
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  InstanceProcess& p = instances_[pid];
  p.job = id;
  p.subid = subid;
  p.pid = pid;
  p.fd = fds[0];
  spdlog::info("instance {}.{} ({}) started as process {}", id, subid, type, pid);
}

void Worker::handle_instance(InstanceProcess& p, const Json& msg) {
  const std::string t = get_string(msg, "t");
  Json body{{"job", p.job}, {"subid", p.subid}};
  if (t == "request") {
    send(proto::kWorkRequest, body);
  } else if (t == "log") {
    body["stream"] = get_string(msg, "stream");
    body["data"] = msg.contains("data") ? msg["data"] : Json::binary({});
    send(proto::kLog, body);
  } else if (t == "result") {
    for (const char* k : {"index", "attempt", "status", "exitcode", "signal", "walltime", "cputime",
                          "peak_rss_kb", "reason", "resultpackage"})
      if (msg.contains(k)) body[k] = msg[k];
    send(proto::kWorkResult, body);
  } else if (t == "fatal") {
    p.fatal_reason = get_string(msg, "reason");
  }
}

void Worker::kill_instance(InstanceProcess& p, int sig) {
  if (p.exited) return;
  if (!p.killed) p.kill_deadline = steady_now() + config_.kill_grace;
  p.killed = true;
  ::kill(-p.pid, sig);
  if (sig == SIGSTOP || sig == SIGTERM) ::kill(-p.pid, SIGCONT);
}

void Worker::kill_all() {
  for (auto& [pid, p] : instances_) {
    ::kill(-pid, SIGKILL);
    close(p.fd);
  }
  for (auto& [pid, p] : instances_) waitpid(pid, nullptr, 0);
  instances_.clear();
}

void Worker::reap() {
  const double now = steady_now();
  for (auto& [pid, p] : instances_) {
    if (!p.exited) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        p.exited = true;
        p.wait_status = status;
      } else if (p.killed && now >= p.kill_deadline) {
        ::kill(-pid, SIGKILL);  // the grace period is over
      }
    }
    // Whatever the job left behind in its process group (a daemonised child, a
    // forgotten background process) ends with its instance.
    if (p.exited) ::kill(-pid, SIGKILL);
  }
  for (auto it = instances_.begin(); it != instances_.end();) {
    InstanceProcess& p = it->second;
    if (p.exited && (p.channel_closed || p.killed)) {
      // Drain what the process said before it ended.
      try {
        p.reader.fill(p.fd);
        while (auto msg = p.reader.next()) handle_instance(p, *msg);
      } catch (const std::exception&) {
      }
      finish(p);
      close(p.fd);
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
}

void Worker::finish(InstanceProcess& p) {
  const bool clean = WIFEXITED(p.wait_status) && WEXITSTATUS(p.wait_status) == 0;
  std::string status = p.killed ? "killed" : clean ? "complete" : "failed";
  std::string reason;
  if (!clean) {
    reason = p.fatal_reason.empty() ? "instance process " + describe_exit(p.wait_status) : p.fatal_reason;
  }
  Json body{{"job", p.job}, {"subid", p.subid}, {"status", status}, {"reason", reason}};
  if (WIFEXITED(p.wait_status)) body["exitcode"] = WEXITSTATUS(p.wait_status);
  spdlog::info("instance {}.{} {}{}", p.job, p.subid, status, reason.empty() ? "" : ": " + reason);
  send(proto::kInstanceDone, body);
}

InstanceProcess* Worker::find(JobId job, std::int32_t subid) {
  for (auto& [pid, p] : instances_)
    if (p.job == job && p.subid == subid) return &p;
  return nullptr;
}

std::string Worker::job_supervisor_endpoint(const std::string& advertised) const {
  // A supervisor bound to every interface advertises 0.0.0.0; jobs on this host
  // reach it at the address this worker dialed.
  const std::string wildcard = "://0.0.0.0:";
  const auto at = advertised.find(wildcard);
  if (at == std::string::npos) return advertised;
  const auto scheme_end = config_.supervisor.find("://");
  const auto colon = config_.supervisor.rfind(':');
  if (scheme_end == std::string::npos || colon == std::string::npos || colon <= scheme_end + 3) return advertised;
  const std::string host = config_.supervisor.substr(scheme_end + 3, colon - scheme_end - 3);
  return advertised.substr(0, at) + "://" + (host == "*" ? "127.0.0.1" : host) + ":" +
         advertised.substr(at + wildcard.size());
}

}  // namespace qube::worker
