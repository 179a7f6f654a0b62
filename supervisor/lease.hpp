#pragma once
// Which of several supervisors sharing one PostgreSQL store is active
// (docs/high-availability.md): a lease row with an epoch. The active renews it
// every second; a standby takes it over once it has expired, raising the epoch,
// and every commit of the active is fenced by its epoch (open_store.hpp,
// Fenced), so a supervisor that was paused past its lease cannot write. A
// SQLite store has no lease: its supervisor is always active.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qube/json.hpp"
#include "qube/protocol.hpp"

namespace qube::supervisor {

// How long a lease lasts unless renewed (the workers count on it too), and how
// often the active renews it.
inline constexpr double kLeaseSeconds = proto::kLeaseSeconds;
inline constexpr double kLeaseRenewEvery = 1.0;

// A supervisor as the others see it: its name and where it serves.
struct SupervisorIdentity {
  std::string name;     // host:pid, unique among those sharing a store
  std::string clients;  // its client endpoint, connectable
  std::string workers;  // its worker endpoint, connectable
};

struct LeaseState {
  SupervisorIdentity holder;  // empty name: never held
  std::int64_t epoch = 0;
  double expires_in = 0;      // seconds; negative: expired
};

struct SupervisorSeen {
  SupervisorIdentity who;
  double seen_ago = 0;  // seconds since it last polled or renewed
};

class Lease {
 public:
  virtual ~Lease() = default;
  // Takes the lease if it is free or expired (the new epoch), else nullopt.
  virtual std::optional<std::int64_t> try_acquire(const SupervisorIdentity& me) = 0;
  // Extends it by kLeaseSeconds while it is still `epoch`'s; false when it is not.
  virtual bool renew(std::int64_t epoch) = 0;
  // Gives it up (a clean stop), so that a standby need not wait for it to expire.
  virtual void release(std::int64_t epoch) = 0;
  virtual LeaseState state() = 0;
  // Records that `me` is alive (standbys and active alike: `qb admin status`).
  virtual void seen(const SupervisorIdentity& me) = 0;
  // Those seen within `within` seconds.
  virtual std::vector<SupervisorSeen> supervisors(double within) = 0;
};

// The lease of a PostgreSQL store (its own connection); nullptr for SQLite.
std::unique_ptr<Lease> open_lease(const std::string& store_setting);

// `qb admin status`: which supervisor is active, its epoch, the store (password
// hidden) and the standbys. `lease`: nullptr for SQLite (`me` is active).
Json supervisor_status(const std::string& store_setting, Lease* lease, const SupervisorIdentity& me);

// This host's name and pid: a supervisor's name in the lease.
std::string supervisor_name();

}  // namespace qube::supervisor
