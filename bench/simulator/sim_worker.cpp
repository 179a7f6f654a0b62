#include "sim_worker.hpp"

#include <algorithm>

#include "qube/curve.hpp"
#include "qube/transport.hpp"

namespace qube::sim {

SimWorker::SimWorker(zmq::context_t& ctx, std::uint32_t index, std::string name, const SimConfig& config,
                     Events& events)
    : config_(config), events_(events), index_(index), name_(std::move(name)),
      socket_(ctx, zmq::socket_type::dealer) {
  transport::configure(socket_);  // linger 0 and the message size cap, as a real worker
  socket_.set(zmq::sockopt::immediate, 1);
  socket_.set(zmq::sockopt::routing_id, "sim-" + name_);
  if (!config_.keys_dir.empty()) {
    const std::filesystem::path dir = config_.keys_dir;
    curve::ClientKeys keys;
    keys.own = keys::generate(name_);
    keys.server_key = keys::read_key_file(dir / curve::kSupervisorKeyFile, false).public_key;
    keys::write_key_files(dir / "workers" / (name_ + ".key"), keys.own, false);
    curve::make_client(socket_, keys);
  }
  socket_.connect(config_.endpoint);
}

int SimWorker::fd() { return socket_.get(zmq::sockopt::fd); }

Timer SimWorker::timer(Timer::Kind kind, double due) const {
  Timer t;
  t.due = due;
  t.worker = index_;
  t.kind = kind;
  t.session = session_;
  return t;
}

void SimWorker::send(const char* type, Json body, std::uint64_t id) {
  // A send that fails (not connected yet, or the supervisor is gone) is dropped,
  // as the real worker does; registration retries on its own timer.
  transport::send(socket_, proto::Message{type, id ? id : next_id_++, std::move(body)});
}

void SimWorker::register_now(TimerQueue& timers) {
  // A new session: whatever this worker ran before is written off, as a real
  // worker kills its instances when it registers again.
  ++session_;
  instances_.clear();
  Host facts;
  facts.name = name_;
  facts.slots = config_.slots;
  facts.memory_mb = config_.memory_mb;
  facts.jobtypes = config_.jobtypes;
  register_id_ = next_id_;
  send(proto::kRegister, to_json(facts));
  // Ask again if no answer comes; back off so that a storm of thousands of
  // workers connecting at once does not feed itself.
  timers.push(timer(Timer::kRegister, steady_now() + register_retry_));
  register_retry_ = std::min(register_retry_ * 2, 4.0);
}

void SimWorker::drain(TimerQueue& timers) {
  while (auto in = transport::receive(socket_, false)) {
    if (!in->msg) {
      events_.malformed();
      continue;
    }
    try {
      handle(*in->msg, timers);
    } catch (const std::exception&) {
      events_.malformed();  // a body of the wrong shape: counted, never fatal
    }
  }
}

void SimWorker::on_timer(const Timer& t, TimerQueue& timers) {
  if (t.session != session_) return;  // from an earlier registration
  switch (t.kind) {
    case Timer::kRegister:
      if (!registered_) register_now(timers);
      break;
    case Timer::kHeartbeat:
      if (!registered_) break;
      send(proto::kHeartbeat, Json{{"name", name_}, {"instances", instances_.size()}});
      timers.push(timer(Timer::kHeartbeat, steady_now() + heartbeat_interval_));
      break;
    case Timer::kItemDone:
      complete_item({t.job, t.subid}, t.index, t.attempt);
      break;
  }
}

void SimWorker::handle(const proto::Message& msg, TimerQueue& timers) {
  const Json& b = msg.body;
  if (msg.type == proto::kRegistered) {
    if (registered_) return;  // the answer to a repeated register
    registered_ = true;
    register_retry_ = 0.25;
    events_.worker_registered();
    const double asked = std::clamp(get_double(b, "heartbeat_interval", 2.0), 0.05, 3600.0);
    heartbeat_interval_ = config_.heartbeat > 0 ? config_.heartbeat : asked;
    timers.push(timer(Timer::kHeartbeat, steady_now() + heartbeat_interval_));
  } else if (msg.type == proto::kReregister) {
    if (msg.id < register_id_) return;  // answers a message from before our latest register
    if (registered_) events_.worker_unregistered();
    registered_ = false;
    register_now(timers);
  } else if (msg.type == proto::kHeartbeatAck) {
  } else if (msg.type == proto::kStartInstance) {
    const Json& job = get_object(b, "job");
    const auto id = static_cast<std::uint64_t>(get_int(job, "id"));
    const auto subid = get_int32(job, "subid");
    events_.instance_started(id, steady_now());
    instances_[{id, subid}] = std::nullopt;
    // A real instance process asks for its first item as soon as it is up.
    send(proto::kWorkRequest, Json{{"job", id}, {"subid", subid}});
  } else if (msg.type == proto::kWork) {
    on_work(b, timers);
  } else if (msg.type == proto::kKillInstance) {
    const InstanceKey key{static_cast<std::uint64_t>(get_int(b, "job")), get_int32(b, "subid")};
    if (instances_.erase(key))
      send(proto::kInstanceDone, Json{{"job", key.first}, {"subid", key.second}, {"status", "killed"},
                                      {"reason", "killed by the supervisor"}});
  } else {
    events_.malformed();  // unknown message type
  }
}

void SimWorker::on_work(const Json& b, TimerQueue& timers) {
  const InstanceKey key{static_cast<std::uint64_t>(get_int(b, "job")), get_int32(b, "subid")};
  auto it = instances_.find(key);
  if (it == instances_.end()) return;  // not ours (any more)
  if (get_bool(b, "done")) {
    instances_.erase(it);
    send(proto::kInstanceDone,
         Json{{"job", key.first}, {"subid", key.second}, {"status", "complete"}, {"reason", ""}, {"exitcode", 0}});
    return;
  }
  const HeldItem item{get_int(b, "index"), static_cast<std::uint64_t>(get_int(b, "attempt"))};
  it->second = item;
  if (config_.item_seconds <= 0) {
    complete_item(key, item.index, item.attempt);
    return;
  }
  Timer t = timer(Timer::kItemDone, steady_now() + config_.item_seconds);
  t.job = key.first;
  t.subid = key.second;
  t.index = item.index;
  t.attempt = item.attempt;
  timers.push(t);
}

void SimWorker::complete_item(const InstanceKey& key, std::int64_t index, std::uint64_t attempt) {
  auto it = instances_.find(key);
  if (it == instances_.end() || !it->second || it->second->index != index) return;
  it->second.reset();
  send(proto::kWorkResult, Json{{"job", key.first},
                                {"subid", key.second},
                                {"index", index},
                                {"attempt", attempt},
                                {"status", "complete"},
                                {"exitcode", 0},
                                {"signal", nullptr},
                                {"walltime", config_.item_seconds},
                                {"cputime", 0.0},
                                {"peak_rss_kb", 0},
                                {"reason", ""},
                                {"resultpackage", Json::object()}});
  events_.result_sent();
  // The instance asks for its next item right after reporting, as qbinstance does.
  send(proto::kWorkRequest, Json{{"job", key.first}, {"subid", key.second}});
}

}  // namespace qube::sim
