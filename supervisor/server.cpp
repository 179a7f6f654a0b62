#include "server.hpp"

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "agenda_grid.hpp"
#include "http/loop_link.hpp"
#include "qube/codec.hpp"
#include "qube/messages.hpp"
#include "qube/service.hpp"
#include "qube/transport.hpp"
#include "qube/version.hpp"
#include "standby.hpp"
#include "store/open_store.hpp"

namespace qube::supervisor {

namespace {

// Messages handled per socket per round, so that one busy peer cannot starve the
// other socket or delay a commit indefinitely.
constexpr int kBatch = 1000;
// Largest slice of a log returned by one request.
constexpr std::size_t kLogSlice = 4 * 1024 * 1024;
// After a round of nothing but heartbeats, worker messages are left to gather this
// long (clients are still answered at once). An idle farm's heartbeats arrive one
// at a time, and a round for each cost two thread wakeups and a ZeroMQ signal: at
// 10,000 workers that was most of the supervisor's idle cost (docs/performance.md).
// Work messages wait at most this long, and only after such a round.
constexpr double kHeartbeatGather = 0.005;
// Kept `qb jobs` summaries that are missing (after a restart, or for jobs that
// changed) are encoded once nothing but heartbeats has come for this long, in
// slices of at most kWarmSlice: 10,000 of them cost about 0.26 s, which the first
// `qb jobs` would otherwise pay (docs/performance.md). A busy round does not warm.
constexpr double kWarmAfterQuiet = 0.010;
constexpr double kWarmSlice = 0.002;
// A `jobs` request that would encode more missing summaries than this at once
// (about 26 us each) waits while they are warmed kListingSlice per round, so that
// the first listing after 10,000 new jobs does not hold the loop 0.26 s.
constexpr std::size_t kMissingSummariesAtOnce = 100;
constexpr double kListingSlice = 0.010;
// Jobs that change are missing their summaries again after each commit: on a farm
// where hundreds change every round, a listing is answered after this long anyway.
constexpr double kListingWaitAtMost = 1.0;
// Time a round gives to storing big agendas (AgendaWriter): with the round's own
// work and the commit, a round stays well under the 50 ms no request may hold the loop.
constexpr double kAgendaSlice = 0.005;
// Submissions from this size on are decoded off the loop (Server::decoding_apart):
// 64 KB is a couple of hundred jobs, a few ms of Json building.
constexpr std::size_t kDecodedApartFrom = 64 * 1024;
// Submissions decoded and built apart at once, each on a thread of its own: more
// wait their turn on the loop's usual path rather than pile up threads.
constexpr std::size_t kBuildsAtOnce = 4;
// A round longer than this is logged (issue 15: no request may hold the loop 50 ms).
constexpr double kStallWarning = 0.050;
// On SIGTERM, how long the writer may go on storing a big agenda before the exit.
constexpr double kWriterDrain = 1.5;

// The client requests that steer jobs, and the farm operation each is.
const std::map<std::string, SteerVerb, std::less<>>& steering_verbs() {
  namespace p = proto;
  static const std::map<std::string, SteerVerb, std::less<>> verbs{
      {p::kKill, SteerVerb::kill},       {p::kInterrupt, SteerVerb::interrupt}, {p::kComplete, SteerVerb::complete},
      {p::kRemove, SteerVerb::remove},   {p::kRetry, SteerVerb::retry},         {p::kBlock, SteerVerb::block},
      {p::kUnblock, SteerVerb::unblock}, {p::kSuspend, SteerVerb::suspend},     {p::kResume, SteerVerb::resume},
      {p::kTop, SteerVerb::top},         {p::kBottom, SteerVerb::bottom},       {p::kRequeue, SteerVerb::requeue},
      {p::kSatisfy, SteerVerb::satisfy}};
  return verbs;
}

// A submission built apart that failed for want of a thread or of memory: refused,
// not the end of the daemon.
std::string could_not_take(const std::exception& e) {
  return std::string("the supervisor could not take the submission: ") + e.what();
}

}  // namespace

Server::Server(Config config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      logs_(config_.data_dir / "logs"),
      farm_(clock),
      outage_(config_.data_dir.string()) {
  std::filesystem::create_directories(config_.data_dir);
  auto opened = open_store(config_.store, config_.data_dir, config_.lease_epoch);
  store_ = std::move(opened.store);
  events_ = std::move(opened.events);
  FarmPolicy policy;
  admins_ = std::set<std::string>(config_.admins.begin(), config_.admins.end());
  policy.admins = admins_;
  policy.placer.fair_share.enabled = config_.fair_share;
  policy.placer.fair_share.half_life = config_.fair_share_half_life;
  policy.placer.fair_share.lookahead = config_.fair_share_lookahead;
  policy.placer.limits.per_user = config_.user_subjob_limit;
  policy.placer.limits.per_pgrp = config_.pgrp_subjob_limit;
  for (const auto& [user, cap] : config_.user_subjob_limits) policy.placer.limits.users[user] = cap;
  policy.global_resources = config_.global_resources;
  policy.preemption = config_.preemption == "aggressive" ? FarmPolicy::Preemption::aggressive
                      : config_.preemption == "disabled" ? FarmPolicy::Preemption::disabled
                                                         : FarmPolicy::Preemption::passive;
  policy.wrangling = FarmPolicy::Wrangling{config_.bad_host_threshold,   config_.suspect_host_jobs,
                                           config_.suspect_host_window,  config_.suspect_host_lock,
                                           config_.max_failure_rate,     config_.failure_rate_min_items};
  for (const auto& cb : config_.callbacks) {
    auto field = [&](const char* key) { auto it = cb.find(key); return it == cb.end() ? std::string() : it->second; };
    policy.site_callbacks.push_back(Callback{field("triggers"), field("language"), field("code")});
  }
  farm_.set_policy(std::move(policy));
  farm_.set_log_size([this](JobId job, std::int32_t subid, bool err) { return logs_.size(job, subid, err); });
  CallbackSettings callbacks;
  callbacks.timelimit = config_.callback_timelimit;
  callbacks.python = config_.python;
  callbacks.smtp_server = config_.smtp_server;
  callbacks.mail_from = config_.mail_from;
  callbacks.log_dir = config_.data_dir / "logs";
  // With keys, a job's owner is authenticated: its callbacks run as that user.
  callbacks.run_as_owner = config_.callbacks_run_as_owner || config_.keys_required;
  runner_ = std::make_unique<CallbackRunner>(callbacks);
  const auto on_bad_row = [](const std::string& bad) {
    spdlog::error("store: quarantined an unusable row ({}); the rest loads (qb admin quarantine)", bad);
  };
  farm_.restore_farm_settings(store_->load_farm_settings(on_bad_row));
  farm_.restore(store_->load(on_bad_row), store_->max_job_id());
  farm_.restore_submissions(store_->load_submissions());
  commit();

  for (auto* s : {&workers_, &clients_}) {
    transport::configure(*s);
    s->set(zmq::sockopt::router_mandatory, 1);
  }
  security_ = std::make_unique<Security>(config_, ctx_, workers_, clients_);
  workers_.bind(config_.workers_endpoint);
  clients_.bind(config_.clients_endpoint);
  const std::string workers_at = workers_.get(zmq::sockopt::last_endpoint);
  workers_at_ = workers_at;
  client_endpoint_ = clients_.get(zmq::sockopt::last_endpoint);
  runner_->set_supervisor_endpoint(transport::connectable(client_endpoint_));
  spdlog::info("qbsupervisor {} listening: workers {}, clients {}, data {}, store {}", kQubeVersion, workers_at,
               client_endpoint_, config_.data_dir.string(), printable_store_setting(config_.store));
  tokens_ = std::make_unique<ApiTokens>(config_.data_dir / "api_tokens");
  transport::configure(http_requests_);
  http_requests_.set(zmq::sockopt::router_mandatory, 1);
  http_requests_.bind(loop_link::kRequests);
  http_events_.set(zmq::sockopt::linger, 0);
  http_events_.bind(loop_link::kEvents);
  if (!config_.http_endpoint.empty()) http_ = std::make_unique<HttpServer>(config_, ctx_, *tokens_);
  // For scripts and tests that bind port 0: the endpoints really bound.
  Json endpoints{{"workers", transport::connectable(workers_at)},
                 {"clients", transport::connectable(client_endpoint_)},
                 {"pid", ::getpid()}};
  if (http_) {
    endpoints["http"] = http_->url();
    runner_->set_api(ApiAccess{http_->url(), [this](const std::string& user) { return tokens_->grant(user); },
                               [this](const std::string& token) { tokens_->withdraw(token); }});
  }
  std::ofstream(config_.data_dir / "endpoints.json") << endpoints.dump() << "\n";
}

void Server::run(const std::atomic<bool>& stop) {
  const double heartbeat_timeout = config_.heartbeat_interval * config_.heartbeat_misses;
  double next_check = clock_.steady().seconds + config_.heartbeat_interval;
  double gather_until = 0;  // see kHeartbeatGather
  double last_busy = 0;     // when a round last had more than heartbeats
  while (!stop) {
    service::watchdog_ping();  // a loop stalled for WatchdogSec gets the daemon restarted
    const double now = clock_.steady().seconds;
    const bool gathering = now < gather_until;
    // While gathering, the workers' socket is left out of the poll altogether: in
    // it, even without ZMQ_POLLIN, every message arriving would wake this thread.
    zmq::pollitem_t items[] = {{clients_.handle(), 0, ZMQ_POLLIN, 0},
                               {http_requests_.handle(), 0, ZMQ_POLLIN, 0},
                               {workers_.handle(), 0, ZMQ_POLLIN, 0}};
    const double until = gathering ? std::min(next_check, gather_until) : next_check;
    const auto wait_ms = std::max(0L, static_cast<long>(std::ceil((until - now) * 1000)));
    // While callbacks run, look for their outcomes often.
    long longest = runner_->busy() ? 20L : 500L;
    if (writer_.busy()) longest = 0;  // a big agenda is being stored: the next slice at once
    if (!building_.empty()) longest = std::min(longest, 2L);  // an agenda built apart is soon ready
    if (!listings_.empty()) longest = 0;                        // summaries to warm for a listing
    // Summaries left to warm once the farm has been quiet for a moment: look for
    // messages without waiting, and warm a slice if none came.
    const double warm_at = last_busy + kWarmAfterQuiet;
    const bool warming = farm_.summaries_to_warm() && now >= warm_at;
    if (farm_.summaries_to_warm())
      longest = std::min(longest, static_cast<long>(std::ceil(std::max(0.0, warm_at - now) * 1000)));
    try {
      zmq::poll(items, gathering ? 2 : 3, std::chrono::milliseconds(std::min(wait_ms, longest)));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    round_start_ = clock_.steady().seconds;
    int heartbeats = 0, others = 0;
    receive_from_workers(heartbeats, others);
    receive_from_clients(others);
    receive_from_http(others);
    submit_built();
    answer_listings();
    if (clock_.steady().seconds >= next_check) {
      publish_host_changes();
      farm_.check_heartbeats(heartbeat_timeout);
      farm_.release_due_retries();
      farm_.check_time_limits();
      farm_.revoke_long_holds();
      for (const auto& rid : security_->revoked_workers()) farm_.disconnect_worker(rid, "its key was revoked");
      farm_.expire_ended_jobs(config_.retention_days);  // docs/operations.md
      next_check = clock_.steady().seconds + std::min(1.0, config_.heartbeat_interval);
    }
    for (const auto& outcome : runner_->finished()) {
      ++metrics_.callbacks_run;
      if (!outcome.succeeded) ++metrics_.callbacks_failed;
      farm_.script_finished(outcome);
    }
    const double received = clock_.steady().seconds;
    farm_.settle();
    // No instance starts while nothing can be stored (it stays needed meanwhile).
    if (farm_.schedule_needed() && !outage_.active()) farm_.schedule();
    send_work();
    const double scheduled = clock_.steady().seconds;
    commit();
    flush();
    const double ended = clock_.steady().seconds;
    metrics_.round_seconds.observe(ended - round_start_);
    // Every round held the loop: one past the stall budget is worth a line, with where it went.
    if (ended - round_start_ > kStallWarning)
      spdlog::warn("the loop was held {:.0f} ms (requests and messages {:.0f}, scheduling {:.0f}, commit {:.0f})",
                   (ended - round_start_) * 1000, (received - round_start_) * 1000, (scheduled - received) * 1000,
                   (ended - scheduled) * 1000);
    if (heartbeats > 0 && others == 0) gather_until = clock_.steady().seconds + kHeartbeatGather;
    if (others > 0) last_busy = clock_.steady().seconds;
    // A few milliseconds of summaries at a time, so that a message arriving
    // meanwhile waits at most that long.
    if (warming && others == 0) farm_.warm_summaries(kWarmSlice);
  }
  // Each round ends committed, but a big agenda may be part stored: a little more
  // time for it (its request was not answered yet, so nothing acknowledged is lost
  // if it does not finish: a new job is not kept, a kill is asked again).
  const double drain_until = clock_.steady().seconds + kWriterDrain;
  while (writer_.busy() && !outage_.active() && clock_.steady().seconds < drain_until) {
    commit();
    flush();
  }
  if (writer_.busy()) spdlog::warn("qbsupervisor stopping with a big agenda not wholly stored: its request was not answered");
  // Only what a store outage holds is left to try.
  if (outage_.active()) {
    commit();
    flush();
    if (outage_.active())
      spdlog::critical("qbsupervisor stopping with changes it could not store: their work runs again after a restart");
  }
  spdlog::info("qbsupervisor stopping");
}

void Server::receive_from_workers(int& heartbeats, int& others) {
  for (int n = 0; n < kBatch; ++n) {
    auto in = transport::receive(workers_, true);
    if (!in) break;
    ++(in->msg && in->msg->type == proto::kHeartbeat ? heartbeats : others);
    if (!in->msg) {
      spdlog::warn("rejected a malformed message from a worker: {}", in->error);
      continue;
    }
    try {
      if (!security_->admit_worker(in->routing_id, in->user_id, *in->msg)) continue;
      handle_worker(in->routing_id, *in->msg);
    } catch (const std::exception& e) {
      spdlog::warn("rejected '{}' from a worker: {}", in->msg->type, e.what());
    }
  }
}

void Server::receive_from_clients(int& others) {
  for (int n = 0; n < kBatch; ++n) {
    auto raw = transport::receive_raw(clients_, true);
    if (!raw) break;
    ++others;
    if (decoding_apart(*raw)) continue;
    transport::Incoming in = transport::decode(std::move(*raw));
    if (!in.msg) {
      spdlog::warn("rejected a malformed client message: {}", in.error);
      client_replies_.emplace_back(in.routing_id,
                                   proto::Message{proto::kReply, in.id, Json{{"ok", false}, {"error", in.error}}});
      continue;
    }
    const auto who = security_->authenticate_client(in.user_id, *in.msg);
    if (!who) {
      spdlog::warn("keys: refused '{}' from a key that is no longer accepted", in.msg->type);
      client_replies_.emplace_back(in.routing_id,
                                   proto::reply_error(*in.msg, "refused: this key is not (or no longer) accepted "
                                                                "by the supervisor"));
      continue;
    }
    answer(client_replies_, in.routing_id, std::move(*in.msg), *who);
  }
}

bool Server::decoding_apart(transport::RawIncoming& raw) {
  if (raw.body.size() < kDecodedApartFrom || !raw.error.empty() || outage_.active() ||
      building_.size() >= kBuildsAtOnce)
    return false;
  proto::Message header;
  try {
    header = proto::decode_header(raw.header.to_string_view());
  } catch (const std::exception&) {
    return false;  // the usual path answers it
  }
  if (header.type != proto::kSubmit) return false;
  const auto holder = security_->key_holder(raw.user_id);
  if (!holder) return false;  // the usual path refuses it
  std::future<BuiltSubmission> built;
  try {
    built = decode_and_build_apart(std::string(raw.body.to_string_view()), *holder);
  } catch (const std::exception& e) {  // no thread to be had: the usual path
    spdlog::warn("decoding a submission on the loop: {}", e.what());
    return false;
  }
  building_.push_back(Building{std::move(built), std::move(header), "", &client_replies_, std::move(raw.routing_id)});
  return true;
}

void Server::receive_from_http(int& others) {
  for (int n = 0; n < kBatch; ++n) {
    auto in = transport::receive(http_requests_, true);
    if (!in) break;
    ++others;
    if (!in->msg) {  // cannot happen: the HTTP side encodes what it sends
      spdlog::warn("rejected a malformed HTTP request: {}", in->error);
      continue;
    }
    // The HTTP thread checked the token: who asks is its holder, as a key's is.
    const std::string who = loop_link::who_of(in->routing_id);
    if (who.empty() && !Security::is_read_only(in->msg->type)) {
      http_replies_.emplace_back(in->routing_id, proto::reply_error(*in->msg, "refused: an anonymous request may only read"));
      continue;
    }
    Security::stamp_user(*in->msg, who);
    answer(http_replies_, in->routing_id, std::move(*in->msg), who);
  }
}

Json Server::handle_tokens(const proto::Message& msg, const std::string& who) {
  const std::string name = get_string(msg.body, "name", who);
  if (name != who && !admins_.count(who))
    throw std::runtime_error("only an admin may issue or revoke another user's token; " +
                             (who.empty() ? std::string("an unnamed user") : who) + " is not an admin");
  if (msg.type == proto::kTokenIssue) {
    const std::string token = tokens_->issue(name);
    spdlog::info("http: {} issued an API token for {}", who, name);
    return Json{{"name", name}, {"token", token}};
  }
  if (!tokens_->revoke(name)) throw std::runtime_error(name + " has no API token");
  spdlog::info("http: {} revoked the API token of {}", who, name);
  return Json{{"name", name}, {"revoked", true}};
}

void Server::publish_events(const std::vector<FarmEvent>& events) {
  for (const auto& e : events) {
    Json data = to_json(e);
    const std::string kind = e.type == "work" ? "item" : e.type;
    if (e.type == "job") {
      data["id"] = e.job;
      if (const JobState* js = farm_.job(e.job)) data["status"] = to_string(js->job.status);
    }
    publish(kind, data);
  }
}

void Server::publish(const std::string& kind, const Json& data) {
  const std::string text = data.dump(-1, ' ', false, Json::error_handler_t::replace);
  // Never blocks: a PUB drops what a subscriber has no room for.
  http_events_.send(zmq::buffer(kind), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  http_events_.send(zmq::buffer(text), zmq::send_flags::dontwait);
}

// Host states are compared with the last published ones at each check (at most
// once a second), and only while a stream is open.
void Server::publish_host_changes() {
  if (!http_ || !http_->has_event_listeners()) {
    host_states_.clear();
    return;
  }
  std::map<std::string, std::string> now;
  for (const auto& h : get_array(farm_.list_hosts(), "hosts")) now[get_string(h, "name")] = get_string(h, "state");
  for (const auto& [name, state] : now) {
    const auto before = host_states_.find(name);
    if (before != host_states_.end() && before->second == state) continue;
    publish("host", Json{{"name", name}, {"state", state}});
  }
  host_states_ = std::move(now);
}

void Server::handle_worker(const std::string& rid, const proto::Message& msg) {
  namespace p = proto;
  const Json& b = msg.body;
  if (msg.type == p::kRegister) {
    farm_.on_register(rid, p::decode_register(b), client_endpoint_, config_.heartbeat_interval, msg.id);
    return;
  }
  if (msg.type == p::kHeartbeat) {
    farm_.on_heartbeat(rid, msg.id, p::decode_heartbeat(b).ack);
    return;
  }
  if (!farm_.host_by_rid(rid)) {
    to_workers_.push_back(Outgoing{rid, p::make_message(p::Reregister{}, msg.id)});
    return;
  }
  if (msg.type == p::kWorkRequest) {
    farm_.on_work_request(rid, p::decode_work_request(b));
  } else if (msg.type == p::kWorkResult) {
    farm_.on_work_result(rid, p::decode_work_result(b));
  } else if (msg.type == p::kInstanceDone) {
    farm_.on_instance_done(rid, p::decode_instance_done(b));
  } else if (msg.type == p::kWorkerStopping) {
    farm_.on_worker_stopping(rid, p::decode_worker_stopping(b));
  } else if (msg.type == p::kRevoked) {
    farm_.on_revoked(rid, p::decode_revoked(b));
  } else if (msg.type == p::kLog) {
    const p::LogReport report = p::decode_log(b);
    const JobId job = report.instance.job;
    const std::int32_t subid = report.instance.subid;
    if (!farm_.owns_instance(rid, job, subid)) return;
    const bool err = report.log.stream == Stream::err;
    // A worker registering again sends all output it has no ack for: placed by
    // its offset, it is stored once (this supervisor is the file's only writer).
    if (report.offset) logs_.append_at(job, subid, err, *report.offset, report.log.data);
    else logs_.append(job, subid, err, report.log.data);
  } else {
    throw FormatError("unknown message type '" + msg.type + "'");
  }
}

void Server::answer(std::vector<std::pair<std::string, ClientReply>>& replies, const std::string& rid,
                    proto::Message msg, const std::string& who) {
  if (msg.type == proto::kSubmit && !outage_.active() && building_.size() < kBuildsAtOnce &&
      worth_building_apart(msg.body)) {
    try {
      auto built = build_apart(std::exchange(msg.body, Json::object()));
      building_.push_back(Building{std::move(built), std::move(msg), who, &replies, rid});
      return;
    } catch (const std::exception& e) {  // no thread to be had: answered here (the body went with it)
      replies.emplace_back(rid, proto::reply_error(msg, could_not_take(e)));
      return;
    }
  }
  // A listing of all jobs, or of many, while many summaries are missing: answered
  // once they are warmed (answer_listings).
  if (msg.type == proto::kJobs && farm_.summaries_missing() > kMissingSummariesAtOnce) {
    const std::size_t asked = msg.body.contains("ids") && msg.body["ids"].is_array() ? msg.body["ids"].size() : 0;
    if (asked == 0 || asked > kMissingSummariesAtOnce) {
      listings_.push_back(Listing{msg, who, &replies, rid, clock_.steady().seconds});
      return;
    }
  }
  respond(replies, rid, msg, [&] { return handle_client(msg, who); });
}

void Server::submit_built() {
  std::erase_if(building_, [this](Building& b) {
    if (b.built.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    BuiltSubmission built;
    try {
      built = b.built.get();
    } catch (const std::exception& e) {  // out of memory on its thread, say
      built.error = could_not_take(e);
    }
    respond(*b.queue, b.rid, b.msg, [&]() -> ClientReply {
      // Refused while the store cannot write: the usual path says why (and needs no body).
      if (outage_.active()) return handle_client(b.msg, built.who.empty() ? b.who : built.who);
      if (!built.error.empty()) return proto::reply_error(b.msg, built.error);
      try {
        return proto::reply_ok(b.msg, farm_.submit(std::move(built.submission)));
      } catch (const std::exception& e) {
        return proto::reply_error(b.msg, e.what());
      }
    });
    return true;
  });
}

void Server::answer_listings() {
  if (listings_.empty()) return;
  farm_.warm_summaries(kListingSlice);
  const bool waited_enough = clock_.steady().seconds - listings_.front().since > kListingWaitAtMost;
  if (farm_.summaries_missing() > kMissingSummariesAtOnce && !waited_enough) return;
  for (auto& l : std::exchange(listings_, {}))
    respond(*l.queue, l.rid, l.msg, [&] { return handle_client(l.msg, l.who); });
}

void Server::respond(std::vector<std::pair<std::string, ClientReply>>& replies, const std::string& rid,
                     const proto::Message& msg, const std::function<ClientReply()>& produce) {
  const Effects& fx = farm_.effects();
  const std::set<JobId> before = fx.whole_agendas;
  const std::size_t removed_before = fx.removed_agendas.size();
  ClientReply reply = produce();
  // The jobs whose agendas this request left to be stored whole or deleted; and
  // for a submission sent again, the jobs it made, if still being stored.
  std::vector<JobId> jobs;
  for (JobId id : fx.whole_agendas)
    if (!before.count(id)) jobs.push_back(id);
  if (fx.removed_agendas.size() != removed_before)
    for (const auto& [id, items] : fx.removed_agendas) jobs.push_back(id);
  if (msg.type == proto::kSubmit && reply.msg.body.value("ok", false))
    for (const auto& id : reply.msg.body.value("ids", Json::array()))
      if (id.is_number_unsigned() && writer_.holds(id.get<JobId>())) jobs.push_back(id.get<JobId>());
  if (jobs.empty()) replies.emplace_back(rid, std::move(reply));
  else waiting_replies_.push_back(WaitingReply{&replies, rid, std::move(reply), std::move(jobs)});
}

Server::ClientReply Server::handle_client(const proto::Message& msg, const std::string& who) {
  namespace p = proto;
  try {
    const Json& b = msg.body;
    if (outage_.active() && !Security::is_read_only(msg.type)) return p::reply_error(msg, outage_.refusal());
    if (Security::is_keys_request(msg.type)) return p::reply_ok(msg, security_->handle_keys(msg, who, admins_));
    if (msg.type == p::kTokenIssue || msg.type == p::kTokenRevoke) return p::reply_ok(msg, handle_tokens(msg, who));
    if (msg.type == p::kSubmit) return p::reply_ok(msg, farm_.submit(submission_from_json(b)));
    if (msg.type == p::kJobs) {
      p::Message reply = p::reply_ok(msg);
      std::string body = encode_with_array(reply.body, "jobs", farm_.list_jobs(b));
      return ClientReply(std::move(reply), std::move(body));
    }
    if (msg.type == p::kShow) {
      p::Message reply = p::reply_ok(msg);
      std::string body = encode_with_field(reply.body, "job", farm_.show_job(b));
      return ClientReply(std::move(reply), std::move(body));
    }
    if (msg.type == kAgendaGrid) return p::reply_ok(msg, agenda_grid(farm_, b));
    if (msg.type == p::kHosts) return p::reply_ok(msg, farm_.list_hosts(b));
    if (msg.type == p::kLock) return p::reply_ok(msg, farm_.lock_hosts(host_lock_from_json(b), true));
    if (msg.type == p::kUnlock) return p::reply_ok(msg, farm_.lock_hosts(host_lock_from_json(b), false));
    if (msg.type == p::kHostSet) return p::reply_ok(msg, farm_.set_host_facts(host_change_from_json(b)));
    if (msg.type == p::kResources) return p::reply_ok(msg, farm_.list_resources());
    if (msg.type == p::kResourceSet) return p::reply_ok(msg, farm_.set_resource(resource_total_from_json(b)));
    if (msg.type == p::kMetrics) return p::reply_ok(msg, Json{{"text", render_metrics(metrics_, farm_.census())}});
    if (msg.type == p::kSupervisorStatus) return p::reply_ok(msg, supervisor_status_now());
    if (msg.type == p::kPing)
      // Who asks, as the supervisor sees it: the dashboard's "signed in as".
      return p::reply_ok(msg, Json{{"version", kQubeVersion}, {"protocol", kProtocolVersion},
                                   {"time", clock_.wall().seconds}, {"user", who},
                                   {"admin", admins_.count(who) > 0}});
    if (msg.type == p::kAppend) return p::reply_ok(msg, to_json(farm_.append(steering_from_json(b), b)));
    if (msg.type == p::kModify) return p::reply_ok(msg, to_json(farm_.modify(steering_from_json(b), get_object(b, "set"))));
    if (const auto verb = steering_verbs().find(msg.type); verb != steering_verbs().end())
      return p::reply_ok(msg, to_json(farm_.steer(verb->second, steering_from_json(b))));
    if (msg.type == p::kQuarantine) {
      if (config_.keys_required && !admins_.count(who))
        throw std::runtime_error("only an admin may list quarantined rows; " + who + " is not an admin");
      Json rows = Json::array();
      for (const auto& r : store_->quarantined())
        rows.push_back(Json{{"table", r.table}, {"key", r.key}, {"raw", r.raw}, {"reason", r.reason}, {"time", r.time}});
      return p::reply_ok(msg, Json{{"rows", rows}});
    }
    if (msg.type == p::kHistory) {
      const auto id = static_cast<JobId>(get_int(b, "id"));
      if (!farm_.job(id)) throw std::runtime_error("no job " + std::to_string(id));
      commit();  // this round's events first
      const auto limit = static_cast<std::size_t>(std::clamp<std::int64_t>(get_int(b, "limit", 10000), 1, 100000));
      return p::reply_ok(msg, Json{{"events", events_->read(id, limit)}});
    }
    if (msg.type == p::kOutput) return p::reply_ok(msg, read_output(b));
    return p::reply_error(msg, "unknown request '" + msg.type + "'");
  } catch (const std::exception& e) {
    return p::reply_error(msg, e.what());
  }
}

Json Server::supervisor_status_now() {
  if (!lease_) lease_ = open_lease(config_.store);
  return supervisor_status(config_.store, lease_.get(),
                           {config_.supervisor_name.empty() ? supervisor_name() : config_.supervisor_name,
                            advertised_endpoint(client_endpoint_), advertised_endpoint(workers_at_)});
}

Json Server::read_output(const Json& body) {
  const auto id = static_cast<JobId>(get_int(body, "id"));
  const JobState* js = farm_.job(id);
  if (!js) throw std::runtime_error("no job " + std::to_string(id));
  const auto subid = static_cast<std::int32_t>(get_int(body, "subid", -1));
  if (subid >= static_cast<std::int32_t>(js->job.instances.size()))
    throw std::runtime_error("job " + std::to_string(id) + " has no instance " + std::to_string(subid));
  const bool err = get_string(body, "stream") == "err";
  const auto offset = static_cast<std::uint64_t>(std::max<std::int64_t>(0, get_int(body, "offset")));
  if (const std::string work = get_string(body, "work"); !work.empty())
    return read_attempt_output(*js, work, get_int(body, "attempt"), err, offset);
  // One instance, or all of them in order when no subid is given.
  Json parts = Json::array();
  const std::int32_t first = subid < 0 ? 0 : subid;
  const std::int32_t last = subid < 0 ? static_cast<std::int32_t>(js->job.instances.size()) - 1 : subid;
  for (std::int32_t s = first; s <= last; ++s) {
    std::uint64_t size = 0;
    std::string data = logs_.read(id, s, err, subid < 0 ? 0 : offset, kLogSlice, size);
    parts.push_back(Json{{"subid", s},
                         {"size", size},
                         {"data", Json::binary(std::vector<std::uint8_t>(data.begin(), data.end()))}});
  }
  return Json{{"parts", parts}, {"status", to_string(js->job.status)}};
}

Json Server::read_attempt_output(const JobState& js, const std::string& work, std::int64_t attempt_id, bool err,
                                std::uint64_t offset) {
  const std::string job = "job " + std::to_string(js.job.id);
  const auto item = std::find_if(js.job.agenda.begin(), js.job.agenda.end(),
                                 [&](const AgendaItem& i) { return i.name == work; });
  if (item == js.job.agenda.end()) throw std::runtime_error(job + " has no item '" + work + "'");
  // The attempt asked for (default: the latest), ended or still running.
  Attempt slice;
  bool found = false;
  for (const auto& a : item->history)
    if (attempt_id <= 0 || a.attempt_id == static_cast<std::uint64_t>(attempt_id)) {
      slice = a;
      found = true;
    }
  const bool running_asked = item->status == WorkStatus::running &&
                             (attempt_id <= 0 || item->attempt_id == static_cast<std::uint64_t>(attempt_id));
  if (running_asked && js.running.count(item->subid)) {
    slice = farm_.attempt_of(js, *item);
    found = true;
  }
  if (!found)
    throw std::runtime_error(job + ", item " + work + ": " +
                             (attempt_id > 0 ? "no attempt " + std::to_string(attempt_id) : std::string("it has not run")));
  // `offset` and `size` count within the attempt's own output, so that a client
  // pages through a long one as through an instance's log.
  const std::uint64_t begin = err ? slice.err_begin : slice.out_begin;
  const std::uint64_t end = std::max(begin, err ? slice.err_end : slice.out_end);
  const std::uint64_t from = std::min(end, begin + offset);
  std::uint64_t size = 0;
  std::string data = logs_.read(js.job.id, slice.subid, err, from,
                                static_cast<std::size_t>(std::min<std::uint64_t>(end - from, kLogSlice)), size);
  Json part{{"subid", slice.subid}, {"attempt", slice.attempt_id}, {"size", end - begin},
            {"data", Json::binary(std::vector<std::uint8_t>(data.begin(), data.end()))}};
  return Json{{"parts", Json::array({part})}, {"status", to_string(js.job.status)}};
}

void Server::commit() {
  farm_.settle();  // reactions to this round's events belong to this commit
  Effects fx = farm_.take_effects();
  const double started = clock_.steady().seconds;
  if (outage_.active()) {
    held_.absorb(std::move(fx));
    fx = std::exchange(held_, Effects{});
    for (auto& out : fx.take_session()) to_workers_.push_back(std::move(out));
  }
  if ((fx.rows_to_store() || writer_.busy()) && (!outage_.due(started) || !store_rows(fx))) {
    // Nothing of it is acted on or acknowledged before it is stored.
    held_ = std::move(fx);
    return;
  }
  if (outage_.active()) {
    outage_.recovered(clock_.steady().seconds);
    for (auto [held, replies] : {std::pair{&held_client_replies_, &client_replies_},
                                 std::pair{&held_http_replies_, &http_replies_}}) {
      std::move(replies->begin(), replies->end(), std::back_inserter(*held));
      *replies = std::exchange(*held, {});
    }
  }
  // History is written after the state it describes is durable.
  if (!fx.events.empty()) {
    try {
      events_->append(fx.events);
    } catch (const std::exception& e) {
      spdlog::error("could not record {} event(s) in the history: {}", fx.events.size(), e.what());
    }
  }
  metrics_.commit_seconds.observe(clock_.steady().seconds - started);
  for (const auto& e : fx.events)
    if (e.type == "work") ++metrics_.work_events[e.name];
  if (http_ && http_->has_event_listeners()) publish_events(fx.events);
  for (auto& run : fx.script_runs) runner_->submit(std::move(run));
  for (JobId id : fx.removed_jobs) {  // after the commit: rows first, then files
    logs_.remove(id);
    events_->remove(id);
  }
  std::move(fx.outbox.begin(), fx.outbox.end(), std::back_inserter(to_workers_));
}

bool Server::store_rows(const Effects& fx) {
  const AgendaWriter writer_before = writer_;  // what a rolled back transaction undoes
  try {
    for (JobId id : write_rows(fx)) farm_.agenda_stored(id);
    return true;
  } catch (const Fenced&) {
    throw;  // another supervisor is active: not an outage to wait out (main.cpp steps down)
  } catch (const std::exception& e) {
    writer_ = writer_before;
    try {
      store_->rollback();
    } catch (const std::exception& again) {
      spdlog::debug("store: rollback after a failed write: {}", again.what());
    }
    if (outage_.failed(clock_.steady().seconds, e.what())) {
      // Replies given this round may acknowledge what was just not stored.
      std::move(client_replies_.begin(), client_replies_.end(), std::back_inserter(held_client_replies_));
      std::move(http_replies_.begin(), http_replies_.end(), std::back_inserter(held_http_replies_));
      client_replies_.clear();
      http_replies_.clear();
    }
    return false;
  }
}

std::vector<JobId> Server::write_rows(const Effects& fx) {
  store_->begin();
  if (fx.settings_changed) store_->put_farm_settings(farm_.farm_settings());
  for (const auto& made : fx.submissions) store_->put_submission(made);  // before removals: none outlives its job
  for (JobId id : fx.removed_jobs) {
    const auto big = fx.removed_agendas.find(id);
    if (big == fx.removed_agendas.end()) {
      store_->remove_job(id);
    } else {  // its items a slice per round, after its job row: no half job is ever loaded
      store_->remove_job_row(id);
      writer_.erase(id, big->second);
    }
  }
  for (JobId id : fx.whole_agendas) writer_.write(id, fx.fresh_agendas.count(id) > 0);
  for (JobId id : fx.dirty_jobs)
    if (const JobState* js = farm_.job(id); js && !writer_.holds_job_row(id)) store_->put_job(js->job);
  for (const auto& [id, index] : fx.dirty_items)
    if (const JobState* js = farm_.job(id)) store_->put_item(id, index, js->job.agenda[index]);
  for (const auto& [id, subid] : fx.dirty_instances)
    if (const JobState* js = farm_.job(id))
      store_->put_instance(id, js->job.instances[static_cast<std::size_t>(subid)]);
  const bool writing = writer_.busy();
  std::vector<JobId> stored = writer_.step(*store_, farm_, clock_, kAgendaSlice);
  store_->commit();
  if (writing && !writer_.busy()) {
    // A big agenda written or deleted filled the store's cache: given back, and
    // the freed pages trimmed apart (malloc_trim walks the whole heap).
    store_->release_memory();
    std::thread([] { malloc_trim(0); }).detach();
  }
  return stored;
}

void Server::send_work() {
  // An instance's next item goes out before this round's commit, so that it starts
  // while the result it just sent is still being written. Nothing is weakened: the
  // item's assignment was never an acknowledgement, and should the supervisor die
  // before the commit, the store still has the item pending (it runs again) and
  // the worker, registering with the next supervisor, ends the instance that held it.
  // Everything else waits for the commit: a started instance must be on disk before
  // its worker hears of it, and a client is answered only with what is durable.
  // While the store cannot write, the next item waits too: the instance holds
  // its result unacknowledged, and nothing more runs on rows that are not stored.
  if (outage_.active()) return;
  for (const auto& out : farm_.effects().take_work()) send_to_worker(out);
}

void Server::send_to_worker(const Outgoing& out) {
  if (out.msg.type == proto::kWork && !out.msg.body.value("done", false)) {
    ++metrics_.items_dispatched;
    metrics_.dispatch_seconds.observe(clock_.steady().seconds - round_start_);
  }
  if (!transport::send(workers_, out.msg, &out.routing_id))
    spdlog::debug("worker gone before '{}' could be sent", out.msg.type);
}

void Server::flush() {
  // Replies that waited for their jobs' agendas to be stored, in arrival order.
  std::erase_if(waiting_replies_, [this](WaitingReply& w) {
    if (std::any_of(w.jobs.begin(), w.jobs.end(), [this](JobId id) { return writer_.holds(id); })) return false;
    w.queue->emplace_back(std::move(w.rid), std::move(w.reply));
    return true;
  });
  for (const auto& out : to_workers_) send_to_worker(out);
  to_workers_.clear();
  // An HTTP thread that gave up waiting has closed its socket: its reply is dropped.
  for (auto [socket, replies] : {std::pair{&clients_, &client_replies_}, std::pair{&http_requests_, &http_replies_}}) {
    for (auto& [rid, reply] : *replies) {
      if (reply.encoded_body.empty()) transport::send(*socket, reply.msg, &rid);
      else transport::send_encoded(*socket, reply.msg, std::move(reply.encoded_body), &rid);
    }
    replies->clear();
  }
}

}  // namespace qube::supervisor
