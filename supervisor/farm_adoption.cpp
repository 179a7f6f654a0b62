// Running instances outlive their supervisor: a standby that takes over, or the
// same supervisor restarted, adopts what the workers report they still run
// instead of running it again (docs/high-availability.md). The store says which
// instances ran where and which item each held (Farm::restore_job keeps them as
// orphans); a worker registering says which it runs and which item it last gave
// each. An instance both name is adopted with its attempt, and the result its
// worker sends again completes it; an instance only the worker names is told to
// end; one only the store names is lost after a grace period, its item pending.
#include <spdlog/spdlog.h>

#include "farm.hpp"
#include "qube/messages.hpp"

namespace qube::supervisor {

namespace {

// What an instance held, from the allocation stored with it (the same
// syntax as reservations: host.processors=4,host.memory=8000,...).
placement::Allocation stored_allocation(const Instance& inst) {
  placement::Allocation a;
  a.slots = inst.slots;
  try {
    const auto r = placement::Reservations::parse(inst.allocation, "allocation");
    a.slots = r.slots.min;
    a.memory_mb = r.memory_mb;
    a.gpus = r.gpus;
    a.host_resources = r.host_resources;
    a.global_resources = r.global_resources;
  } catch (const std::exception& e) {
    spdlog::warn("instance {}: stored allocation '{}' unreadable ({}); counted as {} slot(s)", inst.subid,
                 inst.allocation, e.what(), inst.slots);
  }
  return a;
}

}  // namespace

void Farm::detach_reported(HostRecord& h, const std::vector<proto::RunningReport>& running) {
  for (const auto& r : running) {
    const std::pair<JobId, std::int32_t> key{r.instance.job, r.instance.subid};
    JobState* js = find_job(key.first);
    if (!js || !h.instances.count(key)) continue;
    auto run = js->running.find(key.second);
    if (run == js->running.end()) continue;
    return_held(*js, run->second);  // a worker registering again drops what it held ahead
    orphans_[key] = Orphan{h.host.name, run->second.item, std::nullopt};
    scheduler_.ended(run->second, h, clock_.wall());
    js->running.erase(run);
    h.instances.erase(key);
  }
}

void Farm::adopt_reported(HostRecord& h, const std::vector<proto::RunningReport>& running) {
  for (const auto& r : running) {
    const auto orphan = orphans_.find({r.instance.job, r.instance.subid});
    JobState* js = find_job(r.instance.job);
    if (orphan == orphans_.end() || orphan->second.host != h.host.name || !js) {
      // Not this host's to run any more (written off, killed, never stored).
      spdlog::info("worker {} still runs instance {}.{}, which is not running here: it is told to end",
                   h.host.name, r.instance.job, r.instance.subid);
      send_worker(h.routing_id, proto::make_message(proto::KillInstance{r.instance}));
      continue;
    }
    adopt(*js, h, r);
  }
}

void Farm::adopt(JobState& js, HostRecord& h, const proto::RunningReport& report) {
  const std::int32_t subid = report.instance.subid;
  const auto orphan = orphans_.extract({js.job.id, subid});
  auto& inst = js.job.instances[static_cast<std::size_t>(subid)];
  RunningInstance& run = js.running[subid];
  run.allocation = stored_allocation(inst);
  run.placed = js.placement;
  run.requested = true;
  run.ran_once = js.job.agenda.empty();
  scheduler_.started(js, h, run.allocation, inst.timestart ? WallTime{*inst.timestart} : clock_.wall());
  h.instances.emplace(js.job.id, subid);
  // The item it runs is one stored as its own; any other stored running on it
  // goes back: one it moved on from (its result was never stored: it runs
  // again), or one held ahead that its worker dropped when it registered.
  for (const auto& stored : {orphan.mapped().item, orphan.mapped().second}) {
    if (!stored) continue;
    const AgendaItem& item = js.job.agenda[*stored];
    if (!run.item && report.index == static_cast<std::int64_t>(*stored) && report.attempt == item.attempt_id) {
      run.item = stored;
    } else {
      release_item(js, *stored, WorkStatus::pending, "requeued: its instance moved on while the supervisor changed");
      mark_item(js.job.id, *stored);
    }
  }
  update_status(js);
  scheduler_.requeue(js);
  spdlog::info("instance {}.{} on {} adopted{}", js.job.id, subid, h.host.name,
               run.item ? " with item " + js.job.agenda[*run.item].name : std::string());
}

void Farm::write_off_orphans(double grace) {
  if (orphans_.empty() || clock_.steady() - restored_at_ <= grace) return;
  const auto orphans = std::exchange(orphans_, {});
  for (const auto& [key, orphan] : orphans) {
    JobState* js = find_job(key.first);
    if (!js) continue;
    const std::string reason = "requeued: the supervisor restarted while it ran, and worker " + orphan.host +
                               " did not report it still running";
    for (const auto& stored : {orphan.item, orphan.second}) {
      if (!stored) continue;
      release_item(*js, *stored, WorkStatus::pending, reason);
      mark_item(js->job.id, *stored);
    }
    auto& inst = js->job.instances[static_cast<std::size_t>(key.second)];
    inst.status = JobStatus::failed;
    inst.lost = true;
    inst.reason = reason;
    inst.timecomplete = now();
    mark_instance(js->job.id, key.second);
    update_status(*js);
    scheduler_.requeue(*js);
    spdlog::warn("instance {}.{}: {}", key.first, key.second, reason);
  }
  scheduler_.need();
}

}  // namespace qube::supervisor
