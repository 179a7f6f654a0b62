#pragma once
// Hosts as an admin sees them: listing with placement facts, locks, changes to
// a running worker's facts (qb host set), farm-wide resources and licenses, and
// the admin's word on all of these kept by the store across restarts. What a
// host offers placement is what its worker registers with the admin's changes
// over it; refresh() builds that view whenever either changes.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "client_requests.hpp"
#include "effects.hpp"
#include "farm_state.hpp"
#include "scheduler.hpp"

namespace qube::supervisor {

class HostAdmin {
 public:
  HostAdmin(std::map<std::string, HostRecord>& hosts, Scheduler& scheduler, Effects& fx)
      : hosts_(hosts), scheduler_(scheduler), fx_(fx) {}
  void configure(const FarmPolicy& policy);

  // The placer's view of a host: its registered facts, the admin's changes, and
  // what runs there.
  void refresh(HostRecord& h);

  // qb hosts; with body.long the placement facts of each host too.
  Json list_hosts(const Json& body) const;
  // qb lock / qb unlock (admins). A purge stops what runs on the host; the
  // farm does that (its work goes back to pending).
  using Purge = std::function<void(HostRecord& host, const std::string& reason)>;
  Json lock(const HostLock& request, bool lock, const Purge& purge);
  // Several jobs excluded the host as a bad host: `qb hosts` shows it suspect
  // (and locked, with `lock`) until an admin unlocks it. False if it already was.
  bool mark_suspect(const std::string& host, const std::string& reason, bool lock);
  // qb host set (admins).
  Json set_facts(const HostChange& request);
  // qb resources / qb resource set (admins).
  Json list_resources() const;
  Json set_resource(const ResourceTotal& request);

  // The stored form of the admin's word; effects().settings_changed says when
  // it must be stored again. Restored before the jobs, whose reservations may
  // name a resource an admin added.
  Json settings() const;
  void restore(const Json& settings);

 private:
  // The supervisor.yaml total of a global resource, if it defines one.
  std::optional<std::int64_t> configured_total(const std::string& resource) const;

  std::map<std::string, HostRecord>& hosts_;
  Scheduler& scheduler_;
  Effects& fx_;
  std::set<std::string> admins_;
  std::map<std::string, std::int64_t> configured_;  // supervisor.yaml's global_resources
  // qb host set / qb lock: the admin's word on a host, by name, over what it registers.
  struct HostOverride {
    Json facts = Json::object();  // groups, properties, resources ...
    bool locked = false;
    bool draining = false;  // locked with --drain; cleared by qb unlock
    std::string suspect;  // why it is suspect; cleared by qb unlock
  };
  std::map<std::string, HostOverride> overrides_;
  // qb resource set: the total an admin gave, and the config's total at the time
  // (a config edited since then wins on restart: the edit is the newer word).
  struct ResourceOverride {
    std::int64_t total = 0;
    std::optional<std::int64_t> config;
  };
  std::map<std::string, ResourceOverride> resource_overrides_;
};

}  // namespace qube::supervisor
