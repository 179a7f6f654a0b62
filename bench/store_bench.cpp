// Micro-benchmark of the supervisor's store (supervisor/store/sqlite_store.cpp):
// the writes of a 100,000-frame submission (one transaction), then the writes of
// dispatching it (each item stored running, then complete, in group commits of
// `round` items, as the event loop does). Prints rows per second.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "store/store.hpp"

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qube;
  const std::size_t items = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  const std::size_t round = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 500;
  const auto dir = std::filesystem::temp_directory_path() / ("qube-store-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  double submit_s = 0, dispatch_s = 0;
  {
    auto store = supervisor::open_sqlite_store((dir / "qube.db").string());
    Job job;
    job.id = 1;
    job.spec.name = "bench";
    job.spec.range = "1-" + std::to_string(items);
    job.agenda.resize(items);
    for (std::size_t i = 0; i < items; ++i) job.agenda[i].name = std::to_string(i + 1);
    auto t0 = std::chrono::steady_clock::now();
    store->begin();
    store->put_job(job);
    for (std::size_t i = 0; i < items; ++i) store->put_item(job.id, i, job.agenda[i]);
    store->commit();
    submit_s = since(t0);
    t0 = std::chrono::steady_clock::now();
    for (std::size_t first = 0; first < items; first += round) {
      const std::size_t last = std::min(items, first + round);
      store->begin();
      for (std::size_t i = first; i < last; ++i) {
        AgendaItem& item = job.agenda[i];
        item.status = WorkStatus::running;
        item.attempts = 1;
        item.attempt_id = 1;
        item.host = "sim" + std::to_string(i % 1000);
        item.timestart = now_seconds();
        store->put_item(job.id, i, item);
      }
      for (std::size_t i = first; i < last; ++i) {
        AgendaItem& item = job.agenda[i];
        item.status = WorkStatus::complete;
        item.timecomplete = now_seconds();
        item.exitcode = 0;
        store->put_item(job.id, i, item);
      }
      store->put_job(job);
      store->commit();
    }
    dispatch_s = since(t0);
  }
  std::filesystem::remove_all(dir);
  std::printf("{\"items\": %zu, \"submit_rows_per_s\": %.0f, \"dispatch_rows_per_s\": %.0f, \"round\": %zu}\n", items,
              static_cast<double>(items) / submit_s, 2.0 * static_cast<double>(items) / dispatch_s, round);
  return 0;
}
