#include "driver.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace qube::sim {

namespace {

Json job_spec(const std::string& name, const std::string& type, std::int64_t items, int cpus, int priority,
              bool blocked) {
  Json spec{{"name", name},       {"type", type},         {"user", "bench"},
            {"priority", priority}, {"cpus", std::max(1, cpus)}, {"blocked", blocked},
            {"package", Json{{"cmdline", "true"}}}};
  if (items > 0) spec["range"] = "1-" + std::to_string(items);
  return spec;
}

std::uint64_t submit_one(Client& client, const Json& spec) {
  const Json reply = client.request("submit", Json{{"jobs", Json::array({spec})}});
  return get_array(reply, "ids").at(0).get<std::uint64_t>();
}

// The job's summary as the supervisor last committed it.
Json summary(Client& client, std::uint64_t id) {
  return get_array(client.request("jobs", Json{{"ids", Json::array({id})}}), "jobs").at(0);
}

bool ended(const Json& job) {
  const auto s = parse_job_status(get_string(job, "status"));
  return s && is_terminal(*s);
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

Json distribution(const std::vector<double>& seconds) {
  double sum = 0;
  for (double s : seconds) sum += s;
  return Json{{"p50_ms", percentile(seconds, 0.50) * 1e3},
              {"p99_ms", percentile(seconds, 0.99) * 1e3},
              {"max_ms", percentile(seconds, 1.0) * 1e3},
              {"mean_ms", seconds.empty() ? 0 : sum / static_cast<double>(seconds.size()) * 1e3}};
}

}  // namespace

Json run_dispatch(Client& client, Events& events, const DriverOptions& o, int slots_total) {
  const int cpus = o.cpus > 0 ? o.cpus : slots_total;
  const std::uint64_t results_before = events.results();
  const double t0 = steady_now();
  const std::uint64_t id = submit_one(client, job_spec("bench-dispatch", "cmdrange", o.items, cpus, o.priority, false));
  const double accepted = steady_now();
  // Poll gently while results are still being produced, then closely: the
  // polls cost the supervisor time that the measurement should not include.
  Json job;
  while (true) {
    const bool all_sent = events.results() >= results_before + static_cast<std::uint64_t>(o.items);
    job = summary(client, id);
    if (ended(job) || steady_now() - t0 > o.timeout) break;
    sleep_s(all_sent ? 0.001 : 0.05);
  }
  const double done = steady_now();
  const Json& p = get_object(job, "progress");
  const auto complete = get_int(p, "complete");
  const bool finished = ended(job);
  return Json{{"job", id},
              {"items", o.items},
              {"cpus", cpus},
              {"status", get_string(job, "status")},
              {"finished", finished},
              {"complete_items", complete},
              {"submit_s", accepted - t0},
              {"seconds", done - t0},
              {"items_per_s", static_cast<double>(complete) / (done - t0)},
              {"results_sent", events.results() - results_before}};
}

Json run_latency(Client& client, Events& events, const DriverOptions& o) {
  std::vector<double> to_start, to_accept, to_complete;
  int missed = 0;
  for (int i = 0; i < o.samples; ++i) {
    const double t0 = steady_now();
    const std::uint64_t id = submit_one(client, job_spec("bench-latency", "cmdrange", 1, 1, o.priority, false));
    to_accept.push_back(steady_now() - t0);
    const auto started = events.wait_first_start(id, 10.0);
    if (!started) {
      ++missed;
      continue;
    }
    to_start.push_back(*started - t0);
    // The next sample starts on an idle farm: this job is done and recorded.
    while (!ended(summary(client, id)) && steady_now() - t0 < 10.0) sleep_s(0.0005);
    to_complete.push_back(steady_now() - t0);
  }
  return Json{{"samples", o.samples},
              {"missed", missed},
              {"submit_to_first_start", distribution(to_start)},
              {"submit_to_accepted", distribution(to_accept)},
              {"submit_to_complete", distribution(to_complete)}};
}

Json run_submit(Client& client, const DriverOptions& o) {
  const double t0 = steady_now();
  std::int64_t done = 0;
  std::vector<double> per_request;
  while (done < o.jobs) {
    Json specs = Json::array();
    for (int b = 0; b < o.batch && done + b < o.jobs; ++b)
      specs.push_back(job_spec("bench-bulk", o.type, o.items, o.cpus, o.priority, o.blocked));
    const double r0 = steady_now();
    client.request("submit", Json{{"jobs", specs}});
    per_request.push_back(steady_now() - r0);
    done += static_cast<std::int64_t>(specs.size());
  }
  const double seconds = steady_now() - t0;
  return Json{{"jobs", o.jobs},
              {"items_per_job", o.items},
              {"seconds", seconds},
              {"items_per_s", static_cast<double>(o.jobs * std::max<std::int64_t>(o.items, 1)) / seconds},
              {"request", distribution(per_request)}};
}

Json run_wait(Client& client, const DriverOptions& o) {
  const double t0 = steady_now();
  Json job = summary(client, o.job);
  while (!ended(job) && steady_now() - t0 < o.timeout) {
    sleep_s(0.002);
    job = summary(client, o.job);
  }
  return Json{{"job", o.job}, {"status", get_string(job, "status")}, {"seconds", steady_now() - t0}};
}

Json run_query(Client& client, const DriverOptions& o) {
  std::vector<double> seconds;
  std::size_t listed = 0;
  for (int i = 0; i < std::max(1, o.samples); ++i) {
    const double t0 = steady_now();
    listed = get_array(client.request("jobs", Json::object()), "jobs").size();
    seconds.push_back(steady_now() - t0);
  }
  return Json{{"jobs_listed", listed}, {"request", distribution(seconds)}};
}

}  // namespace qube::sim
