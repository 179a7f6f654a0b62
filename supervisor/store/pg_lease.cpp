// The lease of a PostgreSQL store (lease.hpp): the `lease` and `supervisors`
// tables of schema version 3 (pg_schema.cpp). Times are the database's own
// (now()), so the supervisors' clocks need not agree.
#include <spdlog/spdlog.h>

#include "lease.hpp"
#include "open_store.hpp"
#include "pg_db.hpp"
#include "pg_schema.hpp"

namespace qube::supervisor {

namespace {

const std::string kLeaseInterval = "make_interval(secs => " + std::to_string(kLeaseSeconds) + ")";

// A supervisor takes the lease once it has expired, or at once from a holder
// that advertised the very endpoints it has just bound: that one is not
// serving any more (a supervisor restarted in place), since a live process,
// even a paused one, would still hold them.
void prepare_lease(pqxx::connection& c) {
  // A commit of the active one holds the row a moment (PgStore's fence); the
  // standby's poll and the active's renewal wait no longer than this, then try again.
  pqxx::nontransaction(c).exec("SET lock_timeout = '500ms'");
  c.prepare("acquire", "UPDATE lease SET holder = $1, clients = $2, workers = $3, epoch = epoch + 1, expires = now() + " +
                           kLeaseInterval + " WHERE id = 1 AND (expires < now() OR (clients = $2 AND workers = $3)) RETURNING epoch");
  c.prepare("renew", "UPDATE lease SET expires = now() + " + kLeaseInterval + " WHERE id = 1 AND epoch = $1");
  c.prepare("release", "UPDATE lease SET expires = '-infinity' WHERE id = 1 AND epoch = $1");
  c.prepare("state", "SELECT holder, clients, workers, epoch, CASE WHEN isfinite(expires) THEN extract(epoch from expires - now()) END FROM lease WHERE id = 1");
  c.prepare("seen", "INSERT INTO supervisors(name, clients, workers, last_seen) VALUES($1, $2, $3, now())"
                    " ON CONFLICT (name) DO UPDATE SET clients = EXCLUDED.clients, workers = EXCLUDED.workers,"
                    " last_seen = EXCLUDED.last_seen");
  c.prepare("supervisors", "SELECT name, clients, workers, extract(epoch from now() - last_seen) FROM supervisors"
                           " WHERE last_seen > now() - make_interval(secs => $1) ORDER BY name");
}

class PgLease final : public Lease {
 public:
  explicit PgLease(const std::string& uri) : link_(uri, "lease " + printable_store_setting(uri), prepare_lease) {
    link_.run([&](pqxx::connection& c) { pg::migrate_store_schema(c, link_.what()); });
  }

  std::optional<std::int64_t> try_acquire(const SupervisorIdentity& me) override {
    std::optional<std::int64_t> epoch;
    transact([&](pqxx::work& t) {
      const pqxx::result r = t.exec_prepared("acquire", me.name, me.clients, me.workers);
      if (!r.empty()) epoch = r[0][0].as<std::int64_t>();
    });
    return epoch;
  }

  bool renew(std::int64_t epoch) override {
    bool held = false;
    transact([&](pqxx::work& t) { held = t.exec_prepared("renew", epoch).affected_rows() == 1; });
    return held;
  }

  void release(std::int64_t epoch) override {
    transact([&](pqxx::work& t) { t.exec_prepared("release", epoch); });
  }

  LeaseState state() override {
    LeaseState s;
    transact([&](pqxx::work& t) {
      const pqxx::result r = t.exec_prepared("state");
      if (r.empty()) return;
      s.holder = {r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>()};
      s.epoch = r[0][3].as<std::int64_t>();
      s.expires_in = r[0][4].is_null() ? -1e9 : r[0][4].as<double>();
    });
    return s;
  }

  void seen(const SupervisorIdentity& me) override {
    transact([&](pqxx::work& t) { t.exec_prepared("seen", me.name, me.clients, me.workers); });
  }

  std::vector<SupervisorSeen> supervisors(double within) override {
    std::vector<SupervisorSeen> out;
    transact([&](pqxx::work& t) {
      for (const auto& r : t.exec_prepared("supervisors", within))
        out.push_back({{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()}, r[3].as<double>()});
    });
    return out;
  }

 private:
  template <class F>
  void transact(F&& f) {
    link_.run([&](pqxx::connection& c) {
      pqxx::work t(c);
      f(t);
      t.commit();
    });
  }

  pg::Link link_;
};

}  // namespace

std::unique_ptr<Lease> open_pg_lease(const std::string& uri) { return std::make_unique<PgLease>(uri); }

}  // namespace qube::supervisor
