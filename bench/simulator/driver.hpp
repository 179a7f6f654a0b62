#pragma once
// The client side of each benchmark: submits through the real client API, waits
// for the outcome the way `qb wait` would (only faster), and returns the figures
// as a JSON object. A job counts as done when a `jobs` reply says so; the
// supervisor sends replies only after the round's commit, so "complete" in a
// reply means every result of the job is durably recorded.
#include <cstdint>
#include <string>

#include "events.hpp"
#include "qube/client.hpp"

namespace qube::sim {

struct DriverOptions {
  std::int64_t items = 6000;       // agenda items of the measured job (0: no agenda)
  int cpus = 0;                    // instances wanted; 0: every simulated slot
  int priority = 9999;
  std::int64_t jobs = 1;           // submit: how many jobs
  int batch = 1;                   // submit: jobs per request
  std::string type = "cmdrange";   // submit: job type (one no worker offers keeps them pending)
  bool blocked = false;            // submit: held
  int samples = 200;               // latency
  double timeout = 120;            // seconds before a run is reported as partial
  std::uint64_t job = 0;           // wait: the job to wait for
};

Json run_dispatch(Client& client, Events& events, const DriverOptions& o, int slots_total);
Json run_latency(Client& client, Events& events, const DriverOptions& o);
Json run_submit(Client& client, const DriverOptions& o);
Json run_wait(Client& client, const DriverOptions& o);
// Times the raw `jobs` request (no ids: every job), without qb's formatting.
Json run_query(Client& client, const DriverOptions& o);

}  // namespace qube::sim
