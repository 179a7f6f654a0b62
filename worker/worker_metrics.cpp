#include "worker_metrics.hpp"

#include <algorithm>

#include "qube/prometheus_text.hpp"

namespace qube::worker {

std::string render_worker_metrics(const WorkerCounters& c, SteadyTime now) {
  using prometheus::single;
  auto number = [](std::uint64_t n) { return static_cast<double>(n); };
  std::string out;
  single(out, "qube_worker_instances_running", "gauge", "Instances running on this worker.",
         number(c.instances_running));
  single(out, "qube_worker_slots_used", "gauge", "Slots the running instances hold.", number(c.slots_used));
  single(out, "qube_worker_slots_total", "gauge", "Slots this worker offers.", number(c.slots_total));
  single(out, "qube_worker_items_run_total", "counter", "Agenda items whose result this worker reported.",
         number(c.items_run));
  single(out, "qube_worker_items_failed_total", "counter", "Agenda items reported failed.", number(c.items_failed));
  single(out, "qube_worker_instances_started_total", "counter", "Instance processes started.",
         number(c.instances_started));
  single(out, "qube_worker_instances_failed_total", "counter", "Instances that could not start or ended failed.",
         number(c.instances_failed));
  single(out, "qube_worker_connected", "gauge", "1 while registered with the supervisor, else 0.",
         c.connected ? 1 : 0);
  single(out, "qube_worker_heartbeat_age_seconds", "gauge",
         "Seconds since the last heartbeat or registration was sent.", std::max(0.0, now - c.last_heartbeat));
  return out;
}

}  // namespace qube::worker
