#include "standby.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>

#include <spdlog/spdlog.h>

#include "qube/messages.hpp"
#include "qube/service.hpp"
#include "qube/transport.hpp"

namespace qube::supervisor {

namespace {

// How often a standby looks at the lease (and says it is alive).
constexpr auto kPoll = std::chrono::milliseconds(250);

}  // namespace

std::string advertised_endpoint(const std::string& bound) {
  for (const char* wildcard : {"://*:", "://0.0.0.0:", "://[::]:"}) {
    const auto at = bound.find(wildcard);
    if (at == std::string::npos) continue;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) return transport::connectable(bound);
    return bound.substr(0, at) + "://" + host + ":" + bound.substr(at + std::string(wildcard).size());
  }
  return bound;
}

Standby::Standby(const Config& config, std::string name) : config_(config) {
  for (auto* s : {&workers_, &clients_}) {
    transport::configure(*s);
    s->set(zmq::sockopt::router_mandatory, 1);
  }
  security_ = std::make_unique<Security>(config_, ctx_, workers_, clients_);
  workers_.bind(config_.workers_endpoint);
  clients_.bind(config_.clients_endpoint);
  workers_bound_ = workers_.get(zmq::sockopt::last_endpoint);
  clients_bound_ = clients_.get(zmq::sockopt::last_endpoint);
  me_ = {std::move(name), advertised_endpoint(clients_bound_), advertised_endpoint(workers_bound_)};
}

void Standby::announce() {
  std::filesystem::create_directories(config_.data_dir);
  std::ofstream(config_.data_dir / "endpoints.json")
      << Json{{"workers", transport::connectable(workers_bound_)},
              {"clients", transport::connectable(clients_bound_)},
              {"pid", ::getpid()},
              {"standby", true}}
             .dump()
      << "\n";
  spdlog::info("qbsupervisor {} is a standby: workers {}, clients {}; waiting for the lease", me_.name,
               workers_bound_, clients_bound_);
}

Standby::~Standby() { close(); }

void Standby::close() {
  security_.reset();
  for (auto* s : {&workers_, &clients_})
    if (s->handle()) {
      s->set(zmq::sockopt::linger, 0);
      s->close();
    }
}

std::optional<std::int64_t> Standby::wait(Lease& lease, const std::atomic<bool>& stop) {
  service::notify_ready();  // bound; serving (as a standby) from now on
  LeaseState state;
  bool announced = false;
  auto next_poll = std::chrono::steady_clock::now();
  while (!stop) {
    service::watchdog_ping();
    if (std::chrono::steady_clock::now() >= next_poll) {
      next_poll = std::chrono::steady_clock::now() + kPoll;
      try {
        lease.seen(me_);
        if (const auto epoch = lease.try_acquire(me_)) {
          spdlog::info("lease: {} takes over as the active supervisor (epoch {}; the last one was {})", me_.name,
                       *epoch, state.holder.name.empty() ? "none" : state.holder.name);
          close();
          return epoch;
        }
        state = lease.state();
        if (!announced) announce();
        announced = true;
      } catch (const std::exception& e) {
        spdlog::warn("standby: cannot read the lease ({}); trying again", e.what());
      }
    }
    zmq::pollitem_t items[] = {{clients_.handle(), 0, ZMQ_POLLIN, 0}, {workers_.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, kPoll);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    answer(state, lease);
  }
  close();
  return std::nullopt;
}

void Standby::answer(const LeaseState& state, Lease& lease) {
  const bool held = !state.holder.name.empty() && state.expires_in > 0;
  const std::string clients_at = held ? state.holder.clients : "";
  const std::string try_text =
      held ? "not active, try " + clients_at : std::string("not active, and no supervisor is active just now: try again");
  for (int n = 0; n < 1000; ++n) {
    auto in = transport::receive(clients_, true);
    if (!in) break;
    if (!in->msg) continue;
    proto::Message reply;
    if (in->msg->type == proto::kSupervisorStatus) {
      try {
        reply = proto::reply_ok(*in->msg, supervisor_status(config_.store, &lease, me_));
      } catch (const std::exception& e) {
        reply = proto::reply_error(*in->msg, e.what());
      }
    } else {
      reply = proto::Message{proto::kNotActive, in->msg->id,
                             Json{{"ok", false}, {"error", try_text}, {"active", clients_at}}};
    }
    transport::send(clients_, reply, &in->routing_id);
  }
  for (int n = 0; n < 1000; ++n) {
    auto in = transport::receive(workers_, true);
    if (!in) break;
    if (!in->msg) continue;
    transport::send(workers_, proto::make_message(proto::NotActive{held ? state.holder.workers : ""}, in->msg->id),
                    &in->routing_id);
  }
}

}  // namespace qube::supervisor
