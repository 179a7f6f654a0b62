// Placement in the farm: which host runs which job's next instance. The rules
// themselves live in the placement library (supervisor/placement/); this file
// feeds it the farm's jobs and hosts, starts what it picks, explains what
// waits, preempts for urgent work, and serves the host and resource verbs.
#include <algorithm>
#include <chrono>
#include <limits>

#include <spdlog/spdlog.h>

#include "farm.hpp"
#include "placement/load.hpp"

namespace qube::supervisor {

namespace {

// How many waiting jobs a scheduling pass explains ("no host matches ..."):
// each explanation asks every host, so a pass bounds the cost; the rest are
// explained by later passes, and `qb show` always explains afresh.
constexpr int kExplainPerPass = 64;
// How many of the most urgent waiting jobs preemption considers per pass.
constexpr int kUrgentPerPass = 4;
// Aggressive preemption looks at most this often (seconds): each look asks
// every running instance, and a kill takes a grace period anyway.
constexpr double kPreemptEvery = 0.5;

bool uninterruptible(const JobSpec& spec) {
  return std::find(spec.flags.begin(), spec.flags.end(), "uninterruptible") != spec.flags.end();
}

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

}  // namespace

// ---------------------------------------------------------------- set-up

void Farm::configure_placement() {
  placer_.fair_share().configure(policy_.placer.fair_share);
  placer_.limits().configure(policy_.placer.limits);
  for (const auto& [name, total] : policy_.global_resources) placer_.globals().set_total(name, total);
}

void Farm::compile_placement(JobState& js) const {
  auto compiled = placement::compile_placement(js.job, js.job.spec.cluster);
  // A license the farm does not have would make the job wait forever.
  for (const auto& [name, quantity] : compiled.reservations.global_resources)
    if (!placer_.globals().find(name))
      throw std::runtime_error("reservations: " + name + " is not defined on this farm (qb resources lists them; " +
                               "an admin adds one with qb resource set " + name + " N)");
  js.placement = std::make_shared<const placement::JobPlacement>(std::move(compiled));
}

void Farm::refresh_host_facts(HostRecord& h) {
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
    settings_changed = true;
    fresh = placement::host_facts_from_json(h.host.name, h.registered_facts);
  }
  fresh.locked = o != overrides_.end() && o->second.locked;
  // What runs there keeps holding what it was granted.
  for (const auto& [id, subid] : h.instances) {
    const JobState* js = job(id);
    if (!js) continue;
    if (auto run = js->running.find(subid); run != js->running.end())
      placement::occupy(fresh, *run->second.placed, run->second.allocation);
  }
  h.facts = std::move(fresh);
  h.host.slots_used = h.facts.slots_total - h.facts.slots_free;
  if (h.host.state != HostState::down) h.host.state = h.facts.locked ? HostState::locked : HostState::active;
  schedule_needed = true;
}

// ---------------------------------------------------------------- scheduling

void Farm::schedule() {
  schedule_needed = false;
  if (placer_.pending().size() > 0) {
    const double now = now_seconds();
    for (auto& [name, h] : hosts_) {
      if (h.host.state != HostState::active) continue;
      // A full host can take only jobs that need no slot (host.processors=0).
      if (h.facts.slots_free <= 0 && zero_slot_jobs_ == 0) continue;
      const std::string& host_name = name;
      const auto has_work_here = [&](const placement::PendingJob& p) {
        return has_work_for_host(jobs_.at(p.id()), host_name);
      };
      while (auto pick = placer_.pick(h.facts, now, has_work_here))
        start_instance(jobs_.at(pick->job->id()), h, pick->allocation);
      if (placer_.pending().size() == 0) break;
    }
  }
  if (policy_.preemption == FarmPolicy::Preemption::aggressive) preempt();
  // Say why jobs still wait, in words a wrangler can act on.
  int budget = kExplainPerPass;
  for (auto it = unexplained_.begin(); it != unexplained_.end() && budget > 0;) {
    JobState* js = find_job(*it);
    it = unexplained_.erase(it);
    if (!js || !js->indexed || !js->running.empty()) continue;
    --budget;
    std::string reason = placement_reason(*js);
    if (js->job.reason != reason) {
      js->job.reason = std::move(reason);
      dirty_jobs.insert(js->job.id);
    }
  }
}

std::string Farm::placement_reason(const JobState& js) const {
  if (!offered_by_active_host(js.job.spec.type))
    return "waiting for a worker that offers job type '" + js.job.spec.type + "'";
  std::vector<const placement::HostFacts*> hosts;
  for (const auto& [name, h] : hosts_)
    if (h.host.state != HostState::down) hosts.push_back(&h.facts);
  if (std::string why = placer_.explain(*js.placement, hosts); !why.empty()) return why;
  return js.job.spec.retrydifferenthost ? "waiting for a free slot on a host where its items have not failed"
                                        : "waiting for a free slot";
}

// ---------------------------------------------------------------- preemption

bool Farm::fits_if_vacated(const JobState& urgent, const JobState& victim, const RunningInstance& run,
                           const HostRecord& h) const {
  const placement::Matcher& matcher = placer_.matcher();
  const placement::JobPlacement& wanted = *urgent.placement;
  if (uninterruptible(victim.job.spec)) return false;
  if (!h.facts.offers_type(wanted.facts.type) || !has_work_for_host(urgent, h.host.name)) return false;
  // Already fits: the scheduler places it without taking anything away.
  if (matcher.can_run(wanted, h.facts, placer_.globals()).ok) return false;
  placement::HostFacts trial = h.facts;
  placement::vacate(trial, *run.placed, run.allocation);
  placement::GlobalResources globals = placer_.globals();
  globals.release(run.allocation.global_resources);
  return matcher.can_run(wanted, trial, globals).ok;
}

bool Farm::should_yield(const JobState& js, const RunningInstance& run, const HostRecord& h) const {
  const int priority = js.job.spec.priority;
  if (policy_.preemption == FarmPolicy::Preemption::passive) {
    int looked = 0;
    for (const QueueKey& key : queue_) {
      // The queue is ordered by priority: past this job's, nothing is more urgent.
      if (key.priority >= priority || ++looked > kUrgentPerPass) break;
      if (fits_if_vacated(jobs_.at(key.id), js, run, h)) return true;
    }
  }
  // Fair share at equal priority: an instance keeps its slot from item to item,
  // so without this a user's 10,000-frame job would hold its slots until it
  // ends. It yields when another user's waiting job has used the farm less
  // lately, by more than this slot's own share of the look-ahead, so that the
  // two do not trade the slot back and forth at every item.
  const placement::FairShare& share = placer_.fair_share();
  if (!share.config().enabled) return false;
  const double now = now_seconds();
  const double charge = share.config().lookahead * run.allocation.slots;
  const double mine_after = share.key(js.job.spec.user, now) - charge;
  int looked = 0;
  for (auto it = queue_.lower_bound(QueueKey{priority, std::numeric_limits<std::int64_t>::min(), 0});
       it != queue_.end() && it->priority == priority && ++looked <= kUrgentPerPass; ++it) {
    const JobState& other = jobs_.at(it->id);
    if (other.job.spec.user == js.job.spec.user) continue;
    if (share.key(other.job.spec.user, now) + charge < mine_after && fits_if_vacated(other, js, run, h)) return true;
  }
  return false;
}

void Farm::preempt() {
  using namespace std::chrono;
  const double now = duration<double>(steady_clock::now().time_since_epoch()).count();
  if (queue_.empty() || now - last_preempt_ < kPreemptEvery) return;
  last_preempt_ = now;
  int looked = 0;
  std::vector<QueueKey> urgent(queue_.begin(), queue_.end());
  for (const QueueKey& key : urgent) {
    if (++looked > kUrgentPerPass) break;
    JobState* wanted = find_job(key.id);
    if (!wanted || !wanted->indexed) continue;
    bool done = false;
    for (auto& [name, h] : hosts_) {
      if (h.host.state != HostState::active) continue;
      for (const auto& [id, subid] : h.instances) {
        JobState& victim = jobs_.at(id);
        if (victim.job.spec.priority <= key.priority) continue;
        if (!fits_if_vacated(*wanted, victim, victim.running.at(subid), h)) continue;
        const std::string reason = "preempted by job " + std::to_string(key.id) + " (priority " +
                                   std::to_string(key.priority) + ")";
        emit(victim, "preempted", "subjob",
             "instance " + std::to_string(id) + "." + std::to_string(subid) + " on " + name + " " + reason);
        evict(victim, subid, reason);
        done = true;
        break;
      }
      if (done) break;
    }
  }
}

void Farm::evict(JobState& js, std::int32_t subid, const std::string& reason) {
  auto run = js.running.find(subid);
  if (run == js.running.end()) return;
  auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
  if (auto h = hosts_.find(inst.host); h != hosts_.end())
    send_worker(h->second.routing_id,
                proto::Message{proto::kKillInstance, 0, Json{{"job", js.job.id}, {"subid", subid}}});
  // Not the work's fault: its item runs again, not counted as a failed attempt,
  // and an agenda-less job is owed the run.
  if (run->second.item) {
    release_item(js, *run->second.item, WorkStatus::pending, reason);
    run->second.item.reset();
  }
  run->second.failed_run = false;
  inst.lost = true;
  end_instance(js, subid, JobStatus::killed, reason);
  schedule_needed = true;
}

// ---------------------------------------------------------------- verbs

Json Farm::list_hosts(const Json& body) const {
  const bool long_form = get_bool(body, "long");
  Json out = Json::array();
  for (const auto& [name, h] : hosts_) {
    Json j = to_json(h.host);
    if (long_form) j["facts"] = facts_json(h.facts);
    out.push_back(std::move(j));
  }
  return Json{{"hosts", out}};
}

namespace {

void require_admin(const std::set<std::string>& admins, const std::string& who, const std::string& action) {
  if (!admins.count(who))
    throw std::runtime_error("only an admin may " + action + "; " + (who.empty() ? "an unnamed user" : who) +
                             " is not an admin (admins: config/supervisor.yaml)");
}

}  // namespace

Json Farm::lock_hosts(const Json& body, bool lock) {
  const std::string who = get_string(body, "user");
  require_admin(policy_.admins, who, lock ? "lock hosts" : "unlock hosts");
  const bool purge = lock && get_bool(body, "purge");
  Json done = Json::array(), errors = Json::array();
  for (const auto& entry : get_array(body, "hosts")) {
    if (!entry.is_string()) throw std::runtime_error("hosts: expected host names");
    const std::string name = entry.get<std::string>();
    auto it = hosts_.find(name);
    if (it == hosts_.end()) {
      errors.push_back("no host " + name);
      continue;
    }
    HostRecord& h = it->second;
    overrides_[name].locked = lock;
    settings_changed = true;
    refresh_host_facts(h);
    if (purge) {
      const auto instances = h.instances;
      for (const auto& [id, subid] : instances)
        evict(jobs_.at(id), subid, "purged: host " + name + " locked by " + who);
    }
    spdlog::info("host {} {} by {}{}", name, lock ? "locked" : "unlocked", who, purge ? " (purged)" : "");
    done.push_back(name);
  }
  schedule_needed = true;
  return Json{{lock ? "locked" : "unlocked", done}, {"errors", errors}};
}

Json Farm::set_host_facts(const Json& body) {
  const std::string who = get_string(body, "user");
  require_admin(policy_.admins, who, "change a host's facts");
  const std::string name = get_string(body, "host");
  const Json& set = get_object(body, "set");
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
  settings_changed = true;
  refresh_host_facts(h);
  spdlog::info("host {} changed by {}: {}", name, who, set.dump());
  return Json{{"host", name}, {"facts", facts_json(h.facts)}};
}

Json Farm::list_resources() const {
  Json out = Json::array();
  for (const auto& row : placer_.globals().list())
    out.push_back(Json{{"name", row.name}, {"total", row.total}, {"used", row.used}});
  return Json{{"resources", out}};
}

Json Farm::set_resource(const Json& body) {
  const std::string who = get_string(body, "user");
  require_admin(policy_.admins, who, "set farm resources");
  const std::string name = get_string(body, "name");
  const std::int64_t total = get_int(body, "total", -1);
  placer_.globals().set_total(name, total);  // throws for a bad name or total
  resource_overrides_[name] = ResourceOverride{total, configured_total(name)};
  settings_changed = true;
  spdlog::info("resource {} set to {} by {}", name, total, who);
  schedule_needed = true;
  const auto* c = placer_.globals().find(name);
  return Json{{"resource", Json{{"name", name}, {"total", c->total}, {"used", c->used}}}};
}

// ---------------------------------------------------------------- settings

std::optional<std::int64_t> Farm::configured_total(const std::string& resource) const {
  const auto it = policy_.global_resources.find(resource);
  if (it == policy_.global_resources.end()) return std::nullopt;
  return it->second;
}

Json Farm::farm_settings() const {
  Json hosts = Json::object(), resources = Json::object();
  for (const auto& [name, o] : overrides_)
    if (o.locked || !o.facts.empty()) hosts[name] = Json{{"locked", o.locked}, {"facts", o.facts}};
  for (const auto& [name, r] : resource_overrides_)
    resources[name] = Json{{"total", r.total}, {"config", r.config ? Json(*r.config) : Json(nullptr)}};
  return Json{{"hosts", hosts}, {"resources", resources}};
}

void Farm::restore_farm_settings(const Json& settings) {
  // Each entry on its own: one that no longer reads is dropped with a message,
  // never the rest, and never the supervisor's start.
  for (const auto& [name, entry] : get_object(settings, "hosts").items()) {
    try {
      HostOverride o;
      o.locked = get_bool(entry, "locked");
      o.facts = get_object(entry, "facts");
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
      placer_.globals().set_total(name, r.total);
      resource_overrides_[name] = r;
    } catch (const std::exception& e) {
      spdlog::error("stored total of resource {} is unusable ({}); dropped", name, e.what());
    }
  }
}

}  // namespace qube::supervisor
