// Hosts as an admin sees them (host_admin.hpp).
#include <spdlog/spdlog.h>

#include "host_admin.hpp"

namespace qube::supervisor {

namespace {

Json counted_json(const std::map<std::string, placement::Counted, std::less<>>& table) {
  Json out = Json::object();
  for (const auto& [name, c] : table) out[name] = Json{{"total", c.total}, {"used", c.used}};
  return out;
}

// Everything placement knows of a host, for `qb hosts --long` and --json.
Json facts_json(const placement::HostFacts& f) {
  Json props = Json::object();
  for (const auto& [k, v] : f.properties) props[k] = v;
  return Json{{"os", f.os},
              {"cluster", f.cluster},
              {"restrictions", f.restrictions.text()},
              {"groups", f.groups},
              {"properties", props},
              {"resources", counted_json(f.resources)},
              {"memory_free_mb", f.memory_free_mb},
              {"gpus", f.gpus_total},
              {"gpus_free", f.gpus_free},
              {"slots_free", f.slots_free},
              {"locked", f.locked},
              {"running_jobs", f.duty}};
}

void require_admin(const std::set<std::string>& admins, const std::string& who, const std::string& action) {
  if (!admins.count(who))
    throw std::runtime_error("only an admin may " + action + "; " + (who.empty() ? "an unnamed user" : who) +
                             " is not an admin (admins: config/supervisor.yaml)");
}

}  // namespace

Json HostAdmin::list_hosts(const Json& body) const {
  const bool long_form = get_bool(body, "long");
  Json out = Json::array();
  for (const auto& [name, h] : hosts_) {
    Json j = to_json(h.host);
    // Beside the state, not a state of its own: a suspect host is active or locked.
    j["suspect"] = !h.suspect.empty();
    j["suspect_reason"] = h.suspect;
    j["draining"] = h.draining;
    if (long_form) j["facts"] = facts_json(h.facts);
    out.push_back(std::move(j));
  }
  return Json{{"hosts", out}};
}

Json HostAdmin::lock(const HostLock& request, bool lock, const Purge& purge_host) {
  const std::string& who = request.who;
  require_admin(admins_, who, lock ? "lock hosts" : "unlock hosts");
  const bool purge = lock && request.purge;
  Json done = Json::array(), errors = Json::array();
  for (const std::string& name : request.hosts) {
    auto it = hosts_.find(name);
    if (it == hosts_.end()) {
      errors.push_back("no host " + name);
      continue;
    }
    HostRecord& h = it->second;
    overrides_[name].locked = lock;
    overrides_[name].draining = lock && request.drain;
    // An admin who unlocks a host has looked at it: it is no longer suspect.
    if (!lock) overrides_[name].suspect.clear();
    fx_.settings_changed = true;
    refresh(h);
    if (purge) purge_host(h, "purged: host " + name + " locked by " + who);
    spdlog::info("host {} {} by {}{}", name, lock ? "locked" : "unlocked", who,
                 purge ? " (purged)" : lock && request.drain ? " (draining)" : "");
    done.push_back(name);
  }
  scheduler_.need();
  return Json{{lock ? "locked" : "unlocked", done}, {"errors", errors}};
}

bool HostAdmin::mark_suspect(const std::string& host, const std::string& reason, bool lock) {
  HostOverride& o = overrides_[host];
  if (!o.suspect.empty()) return false;
  o.suspect = reason;
  o.locked = o.locked || lock;
  fx_.settings_changed = true;
  if (auto it = hosts_.find(host); it != hosts_.end()) refresh(it->second);
  spdlog::warn("host {} is suspect{}: {}", host, lock ? " and locked" : "", reason);
  return true;
}

Json HostAdmin::set_facts(const HostChange& request) {
  const std::string& who = request.who;
  require_admin(admins_, who, "change a host's facts");
  const std::string& name = request.host;
  const Json& set = request.set;
  static const std::set<std::string> changeable{"groups", "cluster", "restrictions", "properties", "resources"};
  for (const auto& [key, value] : set.items())
    if (!changeable.count(key))
      throw std::runtime_error("'" + key + "' cannot be set (groups, cluster, restrictions, properties, resources)");
  auto it = hosts_.find(name);
  if (it == hosts_.end()) throw std::runtime_error("no host " + name);
  HostRecord& h = it->second;
  HostOverride& o = overrides_[name];
  Json changed = o.facts;
  for (const auto& [key, value] : set.items()) {
    // Properties and resources merge key by key; the rest is replaced.
    if ((key == "properties" || key == "resources") && value.is_object()) {
      Json merged = changed.contains(key) ? changed[key] : get_object(h.registered_facts, key.c_str());
      for (const auto& [k, v] : value.items()) merged[k] = v;
      changed[key] = std::move(merged);
    } else {
      changed[key] = value;
    }
  }
  Json trial = h.registered_facts;
  for (const auto& [key, value] : changed.items()) trial[key] = value;
  (void)placement::host_facts_from_json(name, trial);  // throws naming the bad key
  o.facts = std::move(changed);
  fx_.settings_changed = true;
  refresh(h);
  spdlog::info("host {} changed by {}: {}", name, who, set.dump());
  return Json{{"host", name}, {"facts", facts_json(h.facts)}};
}

Json HostAdmin::list_resources() const {
  Json out = Json::array();
  for (const auto& row : scheduler_.globals().list())
    out.push_back(Json{{"name", row.name}, {"total", row.total}, {"used", row.used}});
  return Json{{"resources", out}};
}

Json HostAdmin::set_resource(const ResourceTotal& request) {
  const std::string& who = request.who;
  require_admin(admins_, who, "set farm resources");
  const std::string& name = request.name;
  const std::int64_t total = request.total;
  scheduler_.globals().set_total(name, total);  // throws for a bad name or total
  resource_overrides_[name] = ResourceOverride{total, configured_total(name)};
  fx_.settings_changed = true;
  spdlog::info("resource {} set to {} by {}", name, total, who);
  scheduler_.need();
  const auto* c = scheduler_.globals().find(name);
  return Json{{"resource", Json{{"name", name}, {"total", c->total}, {"used", c->used}}}};
}

void HostAdmin::configure(const FarmPolicy& policy) {
  admins_ = policy.admins;
  configured_ = policy.global_resources;
}

std::optional<std::int64_t> HostAdmin::configured_total(const std::string& resource) const {
  const auto it = configured_.find(resource);
  if (it == configured_.end()) return std::nullopt;
  return it->second;
}

Json HostAdmin::settings() const {
  Json hosts = Json::object(), resources = Json::object();
  for (const auto& [name, o] : overrides_)
    if (o.locked || !o.facts.empty() || !o.suspect.empty())
      hosts[name] = Json{{"locked", o.locked}, {"draining", o.draining}, {"facts", o.facts}, {"suspect", o.suspect}};
  for (const auto& [name, r] : resource_overrides_)
    resources[name] = Json{{"total", r.total}, {"config", r.config ? Json(*r.config) : Json(nullptr)}};
  return Json{{"hosts", hosts}, {"resources", resources}};
}

void HostAdmin::restore(const Json& settings) {
  // Each entry on its own: one that no longer reads is dropped with a message,
  // never the rest, and never the supervisor's start.
  for (const auto& [name, entry] : get_object(settings, "hosts").items()) {
    try {
      HostOverride o;
      o.locked = get_bool(entry, "locked");
      o.draining = get_bool(entry, "draining");
      o.facts = get_object(entry, "facts");
      o.suspect = get_string(entry, "suspect");  // absent in settings stored before suspects existed
      overrides_[name] = std::move(o);
    } catch (const std::exception& e) {
      spdlog::error("stored changes to host {} are unusable ({}); dropped", name, e.what());
    }
  }
  for (const auto& [name, entry] : get_object(settings, "resources").items()) {
    try {
      ResourceOverride r;
      r.total = get_int(entry, "total");
      if (entry.contains("config") && !entry["config"].is_null()) r.config = get_int(entry, "config");
      if (configured_total(name) != r.config) {
        spdlog::info("resource {}: the config changed since qb resource set made it {}; the config's value stands",
                     name, r.total);
        continue;
      }
      scheduler_.globals().set_total(name, r.total);
      resource_overrides_[name] = r;
    } catch (const std::exception& e) {
      spdlog::error("stored total of resource {} is unusable ({}); dropped", name, e.what());
    }
  }
}

void HostAdmin::refresh(HostRecord& h) {
  Json merged = h.registered_facts;
  const auto o = overrides_.find(h.host.name);
  if (o != overrides_.end())
    for (const auto& [key, value] : o->second.facts.items()) merged[key] = value;
  placement::HostFacts fresh;
  try {
    fresh = placement::host_facts_from_json(h.host.name, merged);
  } catch (const std::exception& e) {
    // The admin's changes no longer fit what the worker now registers (they were
    // checked against its earlier facts): the worker's own facts win.
    spdlog::warn("host {}: qb host set changes dropped ({})", h.host.name, e.what());
    if (o != overrides_.end()) o->second.facts = Json::object();
    fx_.settings_changed = true;
    fresh = placement::host_facts_from_json(h.host.name, h.registered_facts);
  }
  fresh.locked = o != overrides_.end() && o->second.locked;
  h.suspect = o != overrides_.end() ? o->second.suspect : std::string();
  h.draining = (fresh.locked && o->second.draining) || h.stopping;
  scheduler_.occupy(fresh, h);
  h.facts = std::move(fresh);
  h.count_slots_used();
  if (h.host.state != HostState::down)
    h.host.state = h.facts.locked || h.stopping ? HostState::locked : HostState::active;
  scheduler_.need();
}

}  // namespace qube::supervisor
