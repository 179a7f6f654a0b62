#include "lease.hpp"

#include <unistd.h>

#include "store/open_store.hpp"

namespace qube::supervisor {

#ifdef QUBE_HAVE_PQXX
std::unique_ptr<Lease> open_pg_lease(const std::string& uri);  // store/pg_lease.cpp
#endif

std::unique_ptr<Lease> open_lease(const std::string& store_setting) {
  if (store_setting.empty() || store_setting == "sqlite") return nullptr;
#ifdef QUBE_HAVE_PQXX
  return open_pg_lease(store_setting);
#else
  return nullptr;
#endif
}

std::string supervisor_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
  return std::string(host) + ":" + std::to_string(getpid());
}

Json supervisor_status(const std::string& store_setting, Lease* lease, const SupervisorIdentity& me) {
  const auto identity = [](const SupervisorIdentity& s) {
    return Json{{"name", s.name}, {"clients", s.clients}, {"workers", s.workers}};
  };
  Json out{{"store", printable_store_setting(store_setting)}, {"this", me.name}};
  if (!lease) {
    out["active"] = identity(me);
    out["epoch"] = nullptr;
    out["lease"] = false;
    out["standbys"] = Json::array();
    return out;
  }
  const LeaseState s = lease->state();
  const bool held = !s.holder.name.empty() && s.expires_in > 0;
  out["lease"] = true;
  out["active"] = held ? identity(s.holder) : Json(nullptr);
  out["epoch"] = s.epoch;
  out["expires_in"] = held ? Json(s.expires_in) : Json(nullptr);
  Json standbys = Json::array();
  // Seen within two polls' worth of a standby's interval.
  for (const auto& seen : lease->supervisors(3 * kLeaseRenewEvery))
    if (!held || seen.who.name != s.holder.name) {
      Json one = identity(seen.who);
      one["seen_ago"] = seen.seen_ago;
      standbys.push_back(std::move(one));
    }
  out["standbys"] = std::move(standbys);
  return out;
}

}  // namespace qube::supervisor
