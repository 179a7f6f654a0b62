// The scheduling policy, top to bottom: which jobs wait (the queue), what a
// pass starts, when running work gives way (preemption and fair share), which
// item an instance runs next, and why a job still waits.
#include "scheduler.hpp"

#include <algorithm>
#include <limits>

#include "placement/load.hpp"

namespace qube::supervisor {

namespace {

// How many waiting jobs a pass explains ("no host matches ..."): each
// explanation asks every host, so a pass bounds the cost; the rest are
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

// Runs of an agenda-less job that count: lost instances are owed again.
int runs_started(const Job& job) {
  int n = 0;
  for (const auto& inst : job.instances) n += inst.lost ? 0 : 1;
  return n;
}

// Whether any item has a host it may not run on (else any pending item fits).
bool items_choose_hosts(const JobState& js) {
  return js.job.spec.retrydifferenthost || !js.memory_floor_mb.empty();
}

}  // namespace

void Scheduler::configure(const FarmPolicy& policy) {
  preemption_ = policy.preemption;
  placer_.fair_share().configure(policy.placer.fair_share);
  placer_.limits().configure(policy.placer.limits);
  for (const auto& [name, total] : policy.global_resources) placer_.globals().set_total(name, total);
}

void Scheduler::compile(JobState& js) const {
  auto compiled = placement::compile_placement(js.job, js.job.spec.cluster);
  // A license the farm does not have would make the job wait forever.
  for (const auto& [name, quantity] : compiled.reservations.global_resources)
    if (!placer_.globals().find(name))
      throw std::runtime_error("reservations: " + name + " is not defined on this farm (qb resources lists them; " +
                               "an admin adds one with qb resource set " + name + " N)");
  js.placement = std::make_shared<const placement::JobPlacement>(std::move(compiled));
}

// ---------------------------------------------------------------- the queue

placement::OrderKey Scheduler::key_of(const JobState& js) {
  placement::OrderKey key;
  key.priority = js.job.spec.priority;
  key.rank = js.job.rank;
  key.id = js.job.id;
  return key;
}

bool Scheduler::wants_instance(const JobState& js) const {
  if (js.job.status != JobStatus::pending && js.job.status != JobStatus::running) return false;
  if (js.preexec != JobState::Preexec::none) return false;  // its --preexec has not succeeded yet
  if (js.storing) return false;  // its agenda is still being stored (Farm::agenda_stored)
  const auto running = static_cast<int>(js.running.size());
  // --max_cpus: it may grow past --cpus into idle slots (placed after others).
  if (running >= std::max(js.job.spec.cpus, js.job.spec.max_cpus)) return false;
  if (js.job.agenda.empty()) return running < js.job.spec.cpus && runs_started(js.job) < js.job.spec.cpus;
  std::size_t idle = 0;
  for (const auto& [subid, run] : js.running)
    if (!run.item) ++idle;
  return js.pending.size() > idle;
}

void Scheduler::requeue(JobState& js) {
  if (!wants_instance(js)) {
    unqueue(js);
    return;
  }
  if (queue_.insert(key_of(js)).second) needed_ = true;
  const bool growth = static_cast<int>(js.running.size()) >= js.job.spec.cpus;
  if (js.indexed && js.indexed_growth == growth) return;
  if (!js.indexed) {
    unexplained_.insert(js.job.id);
    if (js.placement->reservations.slots.max == 0) ++zero_slot_jobs_;
  }
  placer_.pending().add(placement::PendingJob{js.placement, js.job.rank, growth});
  js.indexed = true;
  js.indexed_growth = growth;
  needed_ = true;
}

void Scheduler::unqueue(JobState& js) {
  queue_.erase(key_of(js));
  if (!js.indexed) return;
  placer_.pending().remove(js.job.id);
  if (js.placement->reservations.slots.max == 0) --zero_slot_jobs_;
  js.indexed = false;
  unexplained_.erase(js.job.id);
}

// ---------------------------------------------------------------- a pass

void Scheduler::pass(Actions& farm, WallTime now, SteadyTime steady) {
  needed_ = false;
  place(farm, now);
  if (preemption_ == FarmPolicy::Preemption::aggressive) preempt(farm, steady);
  explain_waiting(farm);
}

void Scheduler::place(Actions& farm, WallTime now) {
  if (placer_.pending().size() == 0) return;
  bool deferred = false, started = false;
  for (auto& [name, h] : hosts_) {
    if (h.host.state != HostState::active) continue;
    // A full host can take only jobs that need no slot (host.processors=0).
    if (h.facts.slots_free <= 0 && zero_slot_jobs_ == 0) continue;
    const std::string& host_name = name;
    const auto has_work_here = [&](const placement::PendingJob& p) {
      const JobState& js = jobs_.at(p.id());
      if (!has_work_for_host(js, host_name)) return false;
      if (!preferred_host_free(js, h)) return true;
      deferred = true;
      return false;
    };
    while (auto pick = placer_.pick(h.facts, now.seconds, has_work_here)) {
      farm.start_instance(jobs_.at(pick->job->id()), h, pick->allocation);
      started = true;
    }
    if (placer_.pending().size() == 0) break;
  }
  // A job left for a host it prefers that another job then took: the next
  // pass gives it the next best. Only after progress, so passes cannot loop.
  if (deferred && started) needed_ = true;
}

// --hostorder: whether a host the job prefers to `here` could start it now.
// Asked only for jobs with a host order, of every host: the cost is theirs.
bool Scheduler::preferred_host_free(const JobState& js, const HostRecord& here) const {
  const placement::JobPlacement& p = *js.placement;
  if (p.hostorder.empty()) return false;
  for (const auto& [name, other] : hosts_) {
    if (&other == &here || other.host.state != HostState::active || other.facts.locked) continue;
    if (!p.hostorder.prefers(other.facts, here.facts, p.facts)) continue;
    if (placer_.matcher().can_run(p, other.facts, placer_.globals()).ok && has_work_for_host(js, name)) return true;
  }
  return false;
}

// Says why jobs still wait, in words a wrangler can act on.
void Scheduler::explain_waiting(Actions& farm) {
  int budget = kExplainPerPass;
  for (auto it = unexplained_.begin(); it != unexplained_.end() && budget > 0;) {
    auto js = jobs_.find(*it);
    it = unexplained_.erase(it);
    if (js == jobs_.end() || !js->second.indexed || !js->second.running.empty()) continue;
    --budget;
    farm.explain_wait(js->second, explain(js->second));
  }
}

// ---------------------------------------------------------------- giving way

bool Scheduler::fits_if_vacated(const JobState& urgent, const JobState& victim, const RunningInstance& run,
                                const HostRecord& h) const {
  const placement::Matcher& matcher = placer_.matcher();
  const placement::JobPlacement& wanted = *urgent.placement;
  if (uninterruptible(victim.job.spec)) return false;
  if (!h.facts.offers_type(wanted.facts.type) || !has_work_for_host(urgent, h.host.name)) return false;
  // Already fits: a pass places it without taking anything away.
  if (matcher.can_run(wanted, h.facts, placer_.globals()).ok) return false;
  placement::HostFacts trial = h.facts;
  placement::vacate(trial, *run.placed, run.allocation);
  placement::GlobalResources globals = placer_.globals();
  globals.release(run.allocation.global_resources);
  return matcher.can_run(wanted, trial, globals).ok;
}

bool Scheduler::should_yield(const JobState& js, const RunningInstance& run, const HostRecord& h,
                             WallTime now) const {
  const int priority = js.job.spec.priority;
  if (preemption_ == FarmPolicy::Preemption::passive) {
    int looked = 0;
    for (const auto& key : queue_) {
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
  const double charge = share.config().lookahead * run.allocation.slots;
  const double mine_after = share.key(js.job.spec.user, now.seconds) - charge;
  placement::OrderKey first_of_priority;
  first_of_priority.priority = priority;
  first_of_priority.rank = std::numeric_limits<std::int64_t>::min();
  int looked = 0;
  for (auto it = queue_.lower_bound(first_of_priority);
       it != queue_.end() && it->priority == priority && ++looked <= kUrgentPerPass; ++it) {
    const JobState& other = jobs_.at(it->id);
    if (other.job.spec.user == js.job.spec.user) continue;
    if (share.key(other.job.spec.user, now.seconds) + charge < mine_after && fits_if_vacated(other, js, run, h))
      return true;
  }
  return false;
}

// Aggressive preemption: stops lower-priority work where urgent jobs could run.
void Scheduler::preempt(Actions& farm, SteadyTime now) {
  if (queue_.empty() || now - last_preempt_ < kPreemptEvery) return;
  last_preempt_ = now;
  int looked = 0;
  const std::vector<placement::OrderKey> urgent(queue_.begin(), queue_.end());
  for (const auto& key : urgent) {
    if (++looked > kUrgentPerPass) break;
    auto wanted = jobs_.find(key.id);
    if (wanted == jobs_.end() || !wanted->second.indexed) continue;
    bool done = false;
    for (auto& [name, h] : hosts_) {
      if (h.host.state != HostState::active) continue;
      for (const auto& [id, subid] : h.instances) {
        JobState& victim = jobs_.at(id);
        if (victim.job.spec.priority <= key.priority) continue;
        if (!fits_if_vacated(wanted->second, victim, victim.running.at(subid), h)) continue;
        farm.preempt_instance(victim, subid,
                              "preempted by job " + std::to_string(key.id) + " (priority " +
                                  std::to_string(key.priority) + ")");
        done = true;
        break;
      }
      if (done) break;
    }
  }
}

// ---------------------------------------------------------------- next item

// --retrydifferenthost: an item does not go back to a host it failed on. An
// item killed for memory near its host's runs only on a host with more.
bool Scheduler::item_fits_host(const JobState& js, std::size_t index, const std::string& host) const {
  if (auto floor = js.memory_floor_mb.find(index); floor != js.memory_floor_mb.end()) {
    const auto h = hosts_.find(host);
    if (h == hosts_.end() || h->second.host.memory_mb <= floor->second) return false;
  }
  if (!js.job.spec.retrydifferenthost) return true;
  for (const auto& a : js.job.agenda[index].history)
    if (a.host == host && a.status == WorkStatus::failed) return false;
  return true;
}

bool Scheduler::has_work_for_host(const JobState& js, const std::string& host) const {
  if (js.excludes(host)) return false;  // refused it, or a bad host for it
  if (!items_choose_hosts(js) || js.job.agenda.empty()) return true;
  for (std::size_t i : js.pending)
    if (item_fits_host(js, i, host)) return true;
  return false;
}

bool Scheduler::runnable_elsewhere(const JobState& js, const std::string& host) const {
  std::vector<std::string> others;
  const auto& rules = placer_.matcher().rules();
  for (const auto& [name, h] : hosts_) {
    if (name == host || h.host.state == HostState::down || js.excludes(name)) continue;
    if (std::all_of(rules.begin(), rules.end(), [&](const auto& rule) {
          return !rule->is_static() || rule->ok(*js.placement, h.facts, placer_.globals());
        }))
      others.push_back(name);
  }
  if (others.empty()) return false;
  if (!items_choose_hosts(js)) return true;
  // An item that may run only on some hosts (--retrydifferenthost, a memory
  // floor) must keep one, or it would wait for ever. Asked only when a host is
  // about to be excluded, so the scan of the agenda is rare.
  for (std::size_t i = 0; i < js.job.agenda.size(); ++i) {
    const WorkStatus s = js.job.agenda[i].status;
    if (s != WorkStatus::pending && s != WorkStatus::retrying) continue;
    if (std::none_of(others.begin(), others.end(), [&](const std::string& name) { return item_fits_host(js, i, name); }))
      return false;
  }
  return true;
}

std::optional<std::size_t> Scheduler::next_item(const JobState& js, std::int32_t subid) const {
  if (js.pending.empty()) return std::nullopt;
  const std::string& host = js.job.instances[static_cast<std::size_t>(subid)].host;
  // Excluded while it ran: it takes no new item there.
  if (js.excludes(host)) return std::nullopt;
  if (!items_choose_hosts(js)) return *js.pending.begin();
  for (std::size_t i : js.pending)
    if (item_fits_host(js, i, host)) return i;
  return std::nullopt;
}

// ---------------------------------------------------------------- load

void Scheduler::started(JobState& js, HostRecord& h, const placement::Allocation& allocation, WallTime now) {
  placer_.started(*js.placement, allocation, h.facts, now.seconds);
  h.count_slots_used();
}

void Scheduler::ended(const RunningInstance& run, HostRecord& h, WallTime now) {
  placer_.ended(*run.placed, run.allocation, h.facts, now.seconds);
  h.count_slots_used();
}

void Scheduler::occupy(placement::HostFacts& facts, const HostRecord& h) const {
  // What runs there keeps holding what it was granted.
  for (const auto& [id, subid] : h.instances) {
    auto js = jobs_.find(id);
    if (js == jobs_.end()) continue;
    if (auto run = js->second.running.find(subid); run != js->second.running.end())
      placement::occupy(facts, *run->second.placed, run->second.allocation);
  }
}

// ---------------------------------------------------------------- explanations

bool Scheduler::offered(const std::string& type) const {
  for (const auto& [name, h] : hosts_)
    if (h.host.state != HostState::down)
      for (const auto& t : h.host.jobtypes)
        if (t == type) return true;
  return false;
}

std::string Scheduler::explain(const JobState& js) const {
  if (!offered(js.job.spec.type)) return "waiting for a worker that offers job type '" + js.job.spec.type + "'";
  std::vector<const placement::HostFacts*> hosts;
  for (const auto& [name, h] : hosts_)
    if (h.host.state != HostState::down && !js.bad_host(name)) hosts.push_back(&h.facts);
  if (hosts.empty() && !js.job.excluded_hosts.empty())
    return "every host that could run it is excluded as a bad host (qb show --failed lists them; "
           "qb modify " + std::to_string(js.job.id) + " --clear-bad-hosts lets them back)";
  if (std::string why = placer_.explain(*js.placement, hosts); !why.empty()) return why;
  return js.job.spec.retrydifferenthost ? "waiting for a free slot on a host where its items have not failed"
                                        : "waiting for a free slot";
}

}  // namespace qube::supervisor
