#pragma once
// Which store the supervisor keeps its jobs in: SQLite files in the data
// directory (the default), or a PostgreSQL database named by a URI
// (docs/high-availability.md). Chosen by `--store` or the `store:` key.
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "event_log.hpp"
#include "store.hpp"

namespace qube::supervisor {

// The store cannot be reached just now (PostgreSQL stopped, the network down):
// the write or read did not happen, and the store tries to reconnect, with
// backoff, at the next call. Any other failure is a plain std::runtime_error.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store refused a commit because another supervisor has taken the lease
// since (a higher epoch, docs/high-availability.md): nothing of it was written,
// and this supervisor must stop serving.
class Fenced : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OpenedStore {
  std::unique_ptr<Store> store;
  std::unique_ptr<EventLog> events;
};

// `setting`: "" or "sqlite" (qube.db and events.db in `data_dir`), or a
// postgresql:// (postgres://) URI. Throws std::runtime_error for anything else,
// and for a URI when this qbsupervisor was built without libpqxx. `epoch`: the
// lease this supervisor holds (lease.hpp); a PostgreSQL store then commits only
// while the lease is still that epoch's, else throws Fenced. 0: no fencing.
OpenedStore open_store(const std::string& setting, const std::filesystem::path& data_dir, std::int64_t epoch = 0);

// Whether `setting` names a store open_store() knows (not whether it is reachable).
bool is_store_setting(const std::string& setting);

// The setting to show in logs and `qb admin status`: a URI's password masked.
std::string printable_store_setting(const std::string& setting);

// Whether this build has the PostgreSQL store (libpqxx at configure time).
bool postgresql_built_in();

}  // namespace qube::supervisor
