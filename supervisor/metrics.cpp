#include "metrics.hpp"

#include <fmt/format.h>

#include "qube/prometheus_text.hpp"

namespace qube::supervisor {

using prometheus::by_label;
using prometheus::escaped;
using prometheus::header;
using prometheus::single;

void Histogram::observe(double value) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) {
      ++counts_[i];
      break;
    }
  ++count_;
  sum_ += value;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view help) const {
  header(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

std::string render_metrics(const LoopMetrics& loop, const FarmCensus& farm) {
  std::string out;
  by_label(out, "qube_jobs", "status", "Jobs by status.", farm.jobs_by_status);
  by_label(out, "qube_items", "status", "Agenda items by status, over all jobs.", farm.items_by_status);
  by_label(out, "qube_workers", "state", "Workers by state.", farm.hosts_by_state);
  single(out, "qube_slots_total", "gauge", "Slots of the workers that are up.", static_cast<double>(farm.slots_total));
  single(out, "qube_slots_used", "gauge", "Slots in use.", static_cast<double>(farm.slots_used));
  header(out, "qube_resource_total", "gauge", "Farm-wide resources (licenses, global.*): their totals.");
  for (const auto& r : farm.resources) out += fmt::format("qube_resource_total{{name=\"{}\"}} {}\n", escaped(r.name), r.total);
  header(out, "qube_resource_used", "gauge", "Farm-wide resources: in use.");
  for (const auto& r : farm.resources) out += fmt::format("qube_resource_used{{name=\"{}\"}} {}\n", escaped(r.name), r.used);
  single(out, "qube_items_dispatched_total", "counter", "Agenda items sent to instances.",
         static_cast<double>(loop.items_dispatched));
  header(out, "qube_item_events_total", "counter", "Items ending an attempt, by how (complete, failed, killed ...).");
  for (const auto& [event, n] : loop.work_events)
    out += fmt::format("qube_item_events_total{{event=\"{}\"}} {}\n", escaped(event), n);
  single(out, "qube_callbacks_run_total", "counter", "Shell, python and mail callbacks run.",
         static_cast<double>(loop.callbacks_run));
  single(out, "qube_callbacks_failed_total", "counter", "Callbacks that failed or were not run.",
         static_cast<double>(loop.callbacks_failed));
  loop.round_seconds.render(out, "qube_loop_round_seconds",
                            "How long each round of the event loop held it (the longest stall a request saw).");
  loop.commit_seconds.render(out, "qube_store_commit_seconds", "Store commit time per round.");
  loop.dispatch_seconds.render(out, "qube_dispatch_latency_seconds",
                               "From the round that received a work request to the item's send.");
  return out;
}

}  // namespace qube::supervisor
