#include "worker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "qube/curve.hpp"
#include "qube/launcher.hpp"
#include "qube/paths.hpp"
#include "qube/process.hpp"
#include "qube/service.hpp"
#include "run_as.hpp"
#include "qube/transport.hpp"

namespace qube::worker {

namespace {

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "ended";
}

// An instance's request answered: an item, or none (it ends). False if its
// channel is gone.
bool answer(InstanceProcess& p, const std::optional<proto::Assignment>& assignment) {
  if (write_frame(p.fd, proto::to_json(proto::WorkReply{assignment}))) return true;
  p.channel_closed = true;
  return false;
}

}  // namespace

Worker::Worker(const Clock& clock, Config config, std::map<std::string, JobTypeEntry> jobtypes, Facts facts)
    : clock_(clock), config_(std::move(config)), facts_(std::move(facts)), jobtypes_(std::move(jobtypes)) {
  instance_exe_ = (executable_dir() / "qbinstance").string();
  supervisors_ = transport::split_endpoints(config_.supervisor);
  if (supervisors_.empty()) throw std::runtime_error("no supervisor endpoint given");
  me_ = current_account();
  transport::configure(socket_);
  socket_.set(zmq::sockopt::immediate, 1);
  // Room for the output waiting for an ack (LogBacklog::kInFlightAtMost), for as
  // much again still queued when a registration sends it all again, and more, so
  // that heartbeats and results always find the queue open.
  socket_.set(zmq::sockopt::sndhwm, static_cast<int>(3 * LogBacklog::kInFlightAtMost));
  const auto keys = curve::find_client_keys(config_.keys_dir, curve::kWorkerKeyStem, {config_.keys_dir});
  if (keys) {
    curve::make_client(socket_, *keys);
    spdlog::info("keys: talking CURVE to the supervisor as {} ({})", keys->own.name(), keys->own_file.string());
  } else if (!std::all_of(supervisors_.begin(), supervisors_.end(), curve::is_loopback_endpoint)) {
    spdlog::warn("INSECURE: no supervisor.key in {}: talking plaintext to {}, which anyone on the network can "
                 "read or pretend to be (docs/security.md)",
                 config_.keys_dir.string(), config_.supervisor);
  }
  handshakes_.emplace(ctx_, socket_, "worker");
  socket_.connect(supervisor());
}

void Worker::watch_handshakes(SteadyTime now) {
  constexpr double kReconnectAfterRefusal = 5.0;
  if (const auto failure = handshakes_->take(); failure && !reconnect_at_) {
    spdlog::error("the supervisor at {} {}; trying again in {:.0f} s", supervisor(),
                  *failure == transport::HandshakeFailure::refused
                      ? "refused this worker's key (not added with `qb keys add --worker " + config_.name +
                            "`, or revoked)"
                      : std::string("and this worker do not use the same keys (supervisor.key in ") +
                            config_.keys_dir.string() + ")",
                  kReconnectAfterRefusal);
    reconnect_at_ = now + kReconnectAfterRefusal;
  }
  if (reconnect_at_ && now >= *reconnect_at_) {
    reconnect_at_.reset();
    socket_.disconnect(supervisor());
    socket_.connect(supervisor());
  }
}

void Worker::switch_supervisor(const std::string& hint, const std::string& why) {
  const auto named = std::find(supervisors_.begin(), supervisors_.end(), hint);
  const std::size_t next = named != supervisors_.end() && !hint.empty()
                               ? static_cast<std::size_t>(named - supervisors_.begin())
                               : (current_ + 1) % supervisors_.size();
  spdlog::info("the supervisor at {} {}; trying {}", supervisor(), why, supervisors_[next]);
  socket_.disconnect(supervisor());
  current_ = next;
  socket_.connect(supervisor());
  registered_ = false;
  registering_since_ = clock_.steady();
  register_now();
}

void Worker::watch_silence(SteadyTime now) {
  if (supervisors_.size() < 2) return;
  // Registered: heartbeats ask for an ack, so silence means it is gone (or
  // paused). Registering: it should answer at once, unless it has answered
  // already (a standby, "not active"): then it is busy taking over, loading the
  // farm, and is given longer.
  const bool answered = last_heard_ > registering_since_;
  const double limit = registered_ ? std::max(2.5 * heartbeat_interval_, 1.0) : answered ? 3.0 : 1.0;
  const SteadyTime since = registered_ ? last_heard_ : std::max(last_heard_, registering_since_);
  if (now - since > limit) {
    left_silent_.emplace(supervisor(), now);
    switch_supervisor("", "does not answer");
  }
}

Worker::~Worker() { kill_all(); }

void Worker::send(const std::string& type, Json body, std::uint64_t id) {
  if (!transport::send(socket_, proto::Message{type, id ? id : next_id_++, std::move(body)}))
    spdlog::debug("supervisor not reachable; '{}' not sent", type);
}

void Worker::send_log(proto::LogReport report) {
  logs_.add(std::move(report));
  dropped_log_bytes_ += logs_.take_dropped_bytes();
  // Once in a while, not per message: a chatty job during an outage would flood the log.
  constexpr double kDropWarningEvery = 10;  // seconds
  if (dropped_log_bytes_ && clock_.steady() - last_drop_warning_ >= kDropWarningEvery) {
    spdlog::warn("{} bytes of instance output dropped: more than {} bytes waited for the supervisor",
                 dropped_log_bytes_, LogBacklog::kMaxBytes);
    dropped_log_bytes_ = 0;
    last_drop_warning_ = clock_.steady();
  }
  flush_logs();
}

void Worker::flush_logs() {
  if (!registered_) return;
  while (const proto::LogReport* report = logs_.next_to_send()) {
    // A full queue to the supervisor (it is away): the rest waits, in order.
    if (!transport::send(socket_, proto::Message{proto::kLog, next_id_, proto::to_json(*report)})) return;
    logs_.sent_next(next_id_++);
  }
}

void Worker::register_now() {
  // What still runs is reported: the supervisor adopts what it knows ran here
  // and tells the rest to end (a worker whose work it wrote off, a restart).
  proto::Register message;
  for (auto& [pid, p] : instances_) {
    p.held.clear();  // the supervisor gives them back to pending, and answers nothing asked ahead
    p.ahead_asked = false;
    if (p.exited || p.killed) continue;
    proto::RunningReport r;
    r.instance = p.ref();
    if (p.given) {
      r.index = p.given->index;
      r.attempt = p.given->attempt;
    }
    message.running.push_back(r);
  }
  message.host.name = config_.name;
  message.host.slots = config_.slots;
  message.host.memory_mb = facts_.memory_mb;
  for (const auto& [name, t] : jobtypes_) message.host.jobtypes.push_back(name);
  message.facts = to_json(facts_);
  register_id_ = next_id_;
  send(message);
  counters_.last_heartbeat = clock_.steady();
  // Until the supervisor answers, ask again soon: the first send may have been
  // dropped while the connection was still being set up.
  next_register_ = clock_.steady() + 0.25;
}

void Worker::run(const std::atomic<bool>& stop) {
  spdlog::info("qbworker {} ({} slots) connecting to {}; instances run as {}", config_.name, config_.slots,
               config_.supervisor,
               config_.run_as == RunAs::proxy ? "'" + config_.proxy_user + "' (run_as: proxy)"
               : config_.run_as == RunAs::owner ? "their job's owner (run_as: owner)"
                                                : "'" + me_.name + "' (run_as: self)");
  registering_since_ = clock_.steady();
  register_now();
  while (!stop) round();
  leave();
}

void Worker::round() {
  service::watchdog_ping();  // a loop stalled for WatchdogSec gets the daemon restarted
  // Output left unsent (the socket's queue was full): woken when it has room.
  const short supervisor_events = registered_ && logs_.next_to_send() ? ZMQ_POLLIN | ZMQ_POLLOUT : ZMQ_POLLIN;
  std::vector<zmq::pollitem_t> items{{socket_.handle(), 0, supervisor_events, 0}, handshakes_->pollitem()};
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
    last_heard_ = clock_.steady();
    try {
      handle_supervisor(*in->msg);
    } catch (const std::exception& e) {
      spdlog::warn("bad '{}' from the supervisor: {}", in->msg->type, e.what());
    }
  }
  for (std::size_t i = 2; i < items.size(); ++i) {
    if (!(items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))) continue;
    auto it = instances_.find(owners[i - 2]);
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
  const SteadyTime now = clock_.steady();
  watch_handshakes(now);
  watch_silence(now);
  if (!registered_ && now >= next_register_) register_now();
  if (registered_ && now >= next_heartbeat_) {
    // Acked when kept output waits for one (LogBacklog::taken_before), or to
    // notice a silent supervisor among several.
    send(proto::Heartbeat{config_.name, instances_.size(), supervisors_.size() > 1 || logs_.awaiting_ack()});
    next_heartbeat_ = now + heartbeat_interval_;
    counters_.last_heartbeat = now;
  }
  flush_logs();  // after the heartbeat: output never keeps it from going out
  publish_metrics();
}

void Worker::publish_metrics() {
  counters_.instances_running = instances_.size();
  counters_.slots_used = 0;
  for (const auto& [pid, p] : instances_) counters_.slots_used += static_cast<std::uint64_t>(std::max(0, p.slots));
  counters_.slots_total = static_cast<std::uint64_t>(std::max(0, config_.slots));
  counters_.connected = registered_ && !reconnect_at_;
  board_.publish(counters_);
}

// Either way the supervisor hears of it, so that no item waits for this host's
// heartbeats to time out: draining, it gives this host nothing new; gone, it
// requeues whatever still ran here at once.
void Worker::leave() {
  if (config_.drain_on_stop && registered_ && !instances_.empty()) {
    spdlog::info("qbworker stopping: letting {} instance(s) finish their items first (drain_on_stop)",
                 instances_.size());
    stopping_ = true;
    send(proto::WorkerStopping{true});
    while (!instances_.empty() && registered_) round();
  }
  spdlog::info("qbworker stopping; killing {} instance(s), their items go back to the supervisor",
               instances_.size());
  kill_all();
  send(proto::WorkerStopping{false});
  // The socket's linger is 0: give this last message a moment to leave.
  socket_.set(zmq::sockopt::linger, 1000);
}

void Worker::handle_supervisor(const proto::Message& msg) {
  const Json& b = msg.body;
  if (msg.type == proto::kRegistered) {
    on_registered(proto::decode_registered(b));
  } else if (msg.type == proto::kReregister) {
    proto::decode_reregister(b);
    on_reregister(msg.id);
  } else if (msg.type == proto::kNotActive) {
    const auto m = proto::decode_not_active(b);
    // A standby naming the active one this worker just left for not answering:
    // the old active's lease has not run out yet. Going back there costs a
    // silent second per round; staying and registering again (every 0.25 s)
    // finds this standby the moment it takes over. A named active that is
    // alive after all (it was paused) is followed once kWaitOnStandby is up.
    constexpr double kWaitOnStandby = 2 * proto::kLeaseSeconds;
    if (left_silent_ && left_silent_->first == m.active && clock_.steady() - left_silent_->second < kWaitOnStandby)
      return;
    switch_supervisor(m.active, "is a standby");
  } else if (msg.type == proto::kHeartbeatAck) {
    proto::decode_heartbeat_ack(b);
    logs_.taken_before(msg.id);
  } else if (msg.type == proto::kStartInstance) {
    start_instance(proto::decode_start_instance(b));
  } else if (msg.type == proto::kWork) {
    on_work(proto::decode_work(b));
  } else if (msg.type == proto::kKillInstance) {
    on_kill(proto::decode_kill_instance(b));
  } else if (msg.type == proto::kSuspendInstance) {
    on_suspend(proto::decode_suspend_instance(b));
  } else if (msg.type == proto::kRevoke) {
    on_revoke(proto::decode_revoke(b));
  } else {
    spdlog::warn("unknown message '{}' from the supervisor", msg.type);
  }
}

// qbinstance for one instance: the worker's own stdin, stdout and stderr, its
// channel to the worker as descriptor 3 and nothing else of the worker's (or of
// whatever started it); a process group of its own, so that a kill reaches
// everything the job started; and dying with the worker whatever happens to it.
//
// Run as another account, it is that account's from its start, so that nothing
// of the job type (nor a kept-alive application) ever runs as this daemon's
// user: HOME, USER and LOGNAME are the account's, and its directory the job's
// cwd, else the account's home (else /).
// A job submits children with qbsub and steers itself with qb: this
// installation's bin directory goes on its PATH, after what is there (a PATH the
// job sets with --env replaces it all), and QBDIR names the installation.
static void add_qube_to_path(std::map<std::string, std::string>& env) {
  const std::string bin = executable_dir().string();
  std::string& path = env["PATH"];
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  if ((":" + path + ":").find(":" + bin + ":") == std::string::npos) path += ":" + bin;
  env["QBDIR"] = executable_dir().parent_path().string();
}

static LaunchSpec instance_spec(const std::string& exe, const JobTypeEntry& type, int channel,
                                const std::optional<Account>& run_as, const std::string& job_cwd) {
  LaunchSpec spec;
  spec.program = exe;
  spec.argv = {"qbinstance", "--fd", "3", "--module", type.module.string(), "--worker-pid", std::to_string(getpid())};
  // The job type reads its settings (executable, arguments, timeouts) from the
  // very description file this worker loaded it by, wherever --jobtypes points.
  spec.env = current_environment();
  spec.env["QB_JOBTYPE_CONFIG"] = type.yaml;
  add_qube_to_path(spec.env);
  spec.in = spec.out = spec.err = ChildStream::inherit;
  spec.pass_fds = {channel};
  spec.own_process_group = true;
  spec.die_with_parent = true;
  if (run_as) {
    spec.cwd = job_cwd;
    run_as_login(spec, *run_as);
  }
  return spec;
}

void Worker::on_registered(const proto::Registered& m) {
  if (registered_) return;  // the answer to a register sent again meanwhile
  registered_ = true;
  left_silent_.reset();
  heartbeat_interval_ = std::clamp(m.heartbeat_interval, 0.05, 3600.0);
  client_endpoint_ = job_supervisor_endpoint(m.client_endpoint);
  next_heartbeat_ = clock_.steady() + heartbeat_interval_;
  spdlog::info("registered with the supervisor at {} (heartbeat every {} s)", supervisor(), heartbeat_interval_);
  // Output first, so that an item's log is whole when its result is recorded.
  logs_.send_all_again();  // the supervisor skips what it has (LogReport::offset)
  flush_logs();
  // A supervisor that took over adopts what runs here: what it may not have
  // heard (a result, a request for work) is said again; a result it already
  // recorded, or does not take, is ignored there.
  for (auto& [pid, p] : instances_) {
    if (p.exited || p.killed) continue;
    if (p.result) send(proto::WorkResultReport{p.ref(), *p.result});
    if (p.asked) send(proto::WorkRequest{p.ref()});
  }
}

void Worker::on_reregister(std::uint64_t id) {
  // Answers to messages sent before our latest registration are stale: acting
  // on each would register (and kill our instances) once per stale message.
  if (id < register_id_) return;
  spdlog::warn("the supervisor does not know this worker (it restarted?); registering again");
  registered_ = false;
  register_now();
}

void Worker::on_work(const proto::Work& m) {
  InstanceProcess* p = find(m.instance);
  if (!p || p->channel_closed) return;
  if (m.ahead) {
    // Unasked (a registration since dropped what was asked): the supervisor
    // gave the item back to pending when this worker registered.
    if (!p->ahead_asked) return;
    p->ahead_asked = false;
    if (m.assignment && p->asked) return give(*p, *m.assignment);
    if (m.assignment) {
      p->held.push_back(*m.assignment);
    } else if (p->asked) {
      // Nothing was held: it asks as it always did, and that answer decides.
      send_unless_registering(proto::WorkRequest{p->ref()});
    }
    return;
  }
  if (m.assignment) return give(*p, *m.assignment);
  p->asked = false;
  answer(*p, std::nullopt);
}

void Worker::give(InstanceProcess& p, const proto::Assignment& assignment) {
  p.asked = false;
  p.given = assignment;
  p.result.reset();
  if (answer(p, assignment)) ask_ahead(p);
}

void Worker::ask_ahead(InstanceProcess& p) {
  if (p.ahead_asked || !p.held.empty() || !p.given || p.given->index < 0 || !ahead_wanted(p)) return;
  p.ahead_asked = true;
  proto::WorkRequest request{p.ref()};
  request.ahead = true;
  send(request);
}

// Only after a short item: there the round trip to the supervisor and back
// (about a millisecond) is a large part of each item, and the held item waits
// behind the running one about as long. After a long item, the next one is
// asked for when it ends, so that an instance never sits on work another host
// could have started. Not while draining or registering.
bool Worker::ahead_wanted(const InstanceProcess& p) const {
  constexpr double kAheadAfterItemsUnder = 1.0;  // seconds
  return !stopping_ && registered_ && !p.killed && p.last_walltime >= 0 && p.last_walltime < kAheadAfterItemsUnder;
}

void Worker::on_kill(const proto::KillInstance& m) {
  InstanceProcess* p = find(m.instance);
  if (!p) return;
  spdlog::info("killing instance {}.{} (process group {})", p->job, p->subid, p->pid);
  kill_instance(*p, SIGTERM);
}

// The item held for the instance waited too long behind its current one: given
// back unless it was handed over (then the result before it, sent first, tells the
// supervisor it started).
void Worker::on_revoke(const proto::Revoke& m) {
  InstanceProcess* p = find(m.instance);
  if (!p) return;
  const auto held = std::find_if(p->held.begin(), p->held.end(), [&](const proto::Assignment& a) {
    return a.index == m.index && a.attempt == m.attempt;
  });
  if (held == p->held.end()) return;
  p->held.erase(held);
  spdlog::info("instance {}.{}: item {} given back to the supervisor (it waited behind a long item)", p->job,
               p->subid, m.index);
  send(proto::Revoked{m});
}

void Worker::on_suspend(const proto::SuspendInstance& m) {
  // qb suspend / resume: the whole instance group stops where it is and keeps
  // its slot; a later kill still works (kill_instance sends SIGCONT after TERM).
  InstanceProcess* p = find(m.instance);
  if (!p || p->exited) return;
  spdlog::info("{} instance {}.{}", m.suspend ? "suspending" : "resuming", p->job, p->subid);
  ::kill(-p->pid, m.suspend ? SIGSTOP : SIGCONT);
}

void Worker::start_instance(proto::StartInstance start) {
  const JobId id = start.job.id;
  const std::int32_t subid = start.job.subid;
  const proto::InstanceRef ref{id, subid};
  auto fail = [&](std::string reason, bool refused = false) {
    spdlog::warn("instance {}.{} not started: {}", id, subid, reason);
    ++counters_.instances_failed;
    proto::InstanceDone done;
    done.instance = ref;
    done.reason = std::move(reason);
    done.refused = refused;
    send(done);
  };
  if (stopping_) return fail("worker " + config_.name + " is stopping", true);
  auto t = jobtypes_.find(start.job.type);
  if (t == jobtypes_.end()) return fail("worker " + config_.name + " has no job type '" + start.job.type + "'");
  const RunAsDecision decision = decide_run_as(config_, start.job.user, me_, config_.name);
  if (const auto* refusal = std::get_if<RunAsRefusal>(&decision)) return fail(refusal->reason, true);
  const auto& run_as = std::get<std::optional<Account>>(decision);
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return fail(std::string("socketpair: ") + std::strerror(errno));
  const LaunchSpec spec = instance_spec(instance_exe_, t->second, fds[1], run_as, start.job.cwd);
  const Launched child = launch(spec);
  close(fds[1]);
  if (!child.started()) {
    close(fds[0]);
    if (run_as)
      return fail("cannot start the instance as '" + run_as->name + "' in '" + spec.cwd + "': " + child.failed_step +
                  ": " + std::strerror(child.error));
    return fail(child.failed_step + ": " + std::strerror(child.error));
  }
  const pid_t pid = child.pid;
  // The instance's first message: its job, with what only the worker knows.
  start.job.supervisor = client_endpoint_;
  start.job.host = config_.name;
  write_frame(fds[0], proto::to_json(start));
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  ++counters_.instances_started;
  InstanceProcess& p = instances_[pid];
  if (const auto granted = start.job.env.find("QB_JOBSLOTS"); granted != start.job.env.end()) {
    try {
      p.slots = std::stoi(granted->second);
    } catch (const std::exception&) {
      // not a number: the one slot any instance holds
    }
  }
  p.job = id;
  p.subid = subid;
  p.pid = pid;
  p.fd = fds[0];
  spdlog::info("instance {}.{} ({}) started as process {}{}", id, subid, start.job.type, pid,
               run_as ? " as user " + run_as->name : "");
}

void Worker::handle_instance(InstanceProcess& p, const Json& msg) {
  // What the instance says goes on as it is, with the instance it came from.
  struct Forward {
    Worker& worker;
    InstanceProcess& p;
    void operator()(const proto::ItemRequest&) const {
      // An item held for it is handed over even while draining: the supervisor
      // counts it started as the result before this request reached it.
      if (!p.held.empty()) {
        const proto::Assignment next = p.held.front();
        p.held.pop_front();
        return worker.give(p, next);
      }
      // Draining: the item it just finished was its last; it ends.
      if (worker.stopping_) {
        answer(p, std::nullopt);
        return;
      }
      p.asked = true;
      // An answer to the request made ahead is on its way: it is given when it comes.
      if (!p.ahead_asked) worker.send_unless_registering(proto::WorkRequest{p.ref()});
    }
    void operator()(proto::LogOutput& log) const {
      std::uint64_t& sent = p.log_bytes[log.stream == Stream::err ? 1 : 0];
      const std::uint64_t offset = sent;
      sent += log.data.size();
      worker.send_log(proto::LogReport{p.ref(), std::move(log), offset});
    }
    void operator()(proto::WorkResult& result) const {
      p.result = result;
      p.last_walltime = result.walltime;
      ++worker.counters_.items_run;
      if (result.outcome.status == WorkStatus::failed) ++worker.counters_.items_failed;
      proto::WorkResultReport report{p.ref(), std::move(result)};
      // Its next item is here and the instance asks for it next: the one after
      // is asked for with this result, one message instead of two (its answer
      // may come before that ask, hence two held at most).
      if (p.held.size() == 1 && !p.ahead_asked && worker.ahead_wanted(p)) {
        report.ahead = true;
        p.ahead_asked = true;
      }
      worker.send_unless_registering(report);
    }
    void operator()(proto::Fatal& fatal) const { p.fatal_reason = std::move(fatal.reason); }
  };
  proto::FromInstance message = proto::decode_from_instance(msg);
  std::visit(Forward{*this, p}, message);
}

void Worker::kill_instance(InstanceProcess& p, int sig) {
  if (p.exited) return;
  if (!p.killed) p.kill_deadline = clock_.steady() + config_.kill_grace;
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
  const SteadyTime now = clock_.steady();
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
  proto::InstanceDone done;
  done.instance = p.ref();
  done.status = p.killed ? JobStatus::killed : clean ? JobStatus::complete : JobStatus::failed;
  if (!clean) {
    done.reason = p.fatal_reason.empty() ? "instance process " + describe_exit(p.wait_status) : p.fatal_reason;
  }
  if (WIFEXITED(p.wait_status)) done.exitcode = WEXITSTATUS(p.wait_status);
  if (done.status == JobStatus::failed) ++counters_.instances_failed;
  spdlog::info("instance {}.{} {}{}", p.job, p.subid, to_string(done.status),
               done.reason.empty() ? "" : ": " + done.reason);
  send(done);
}

InstanceProcess* Worker::find(const proto::InstanceRef& instance) {
  for (auto& [pid, p] : instances_)
    if (p.ref() == instance) return &p;
  return nullptr;
}

std::string Worker::job_supervisor_endpoint(const std::string& advertised) const {
  // A supervisor bound to every interface advertises 0.0.0.0; jobs on this host
  // reach it at the address this worker dialed.
  const std::string wildcard = "://0.0.0.0:";
  const auto at = advertised.find(wildcard);
  if (at == std::string::npos) return advertised;
  const std::string& dialed = supervisor();
  const auto scheme_end = dialed.find("://");
  const auto colon = dialed.rfind(':');
  if (scheme_end == std::string::npos || colon == std::string::npos || colon <= scheme_end + 3) return advertised;
  const std::string host = dialed.substr(scheme_end + 3, colon - scheme_end - 3);
  return advertised.substr(0, at) + "://" + (host == "*" ? "127.0.0.1" : host) + ":" +
         advertised.substr(at + wildcard.size());
}

}  // namespace qube::worker
