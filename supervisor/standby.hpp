#pragma once
// A supervisor waiting for the lease (lease.hpp, docs/high-availability.md). It
// binds the same endpoints the active one would, so that clients and workers
// given a list of supervisors find out at once where to go: every request gets
// "not active, try <the active one>" (proto::kNotActive), except a status
// request (`qb admin status`), which it answers. It serves nothing else and
// writes nothing but its own `supervisors` row.
#include <atomic>
#include <cstdint>
#include <optional>

#include <zmq.hpp>

#include "config.hpp"
#include "lease.hpp"
#include "security.hpp"

namespace qube::supervisor {

class Standby {
 public:
  // Binds config's endpoints (as the Server would, keys included).
  Standby(const Config& config, std::string name);
  ~Standby();
  // Polls the lease until this supervisor takes it (its epoch) or `stop`
  // becomes true (nullopt). The sockets are closed before it returns.
  std::optional<std::int64_t> wait(Lease& lease, const std::atomic<bool>& stop);
  // This supervisor as the lease names it, with the endpoints really bound
  // (a port 0 in the configuration is the one the system chose).
  const SupervisorIdentity& identity() const { return me_; }
  const std::string& workers_bound() const { return workers_bound_; }
  const std::string& clients_bound() const { return clients_bound_; }

 private:
  void answer(const LeaseState& lease, Lease& store);
  // Once it did not get the lease at once: endpoints.json in the data
  // directory (scripts and tests that bind port 0 read it) and the log.
  void announce();
  void close();

  const Config& config_;
  SupervisorIdentity me_;
  std::string workers_bound_, clients_bound_;
  zmq::context_t ctx_{1};
  zmq::socket_t workers_{ctx_, zmq::socket_type::router};
  zmq::socket_t clients_{ctx_, zmq::socket_type::router};
  std::unique_ptr<Security> security_;
};

// An endpoint as bound ("tcp://0.0.0.0:50001") as others reach it: a wildcard
// address becomes this host's name.
std::string advertised_endpoint(const std::string& bound);

}  // namespace qube::supervisor
