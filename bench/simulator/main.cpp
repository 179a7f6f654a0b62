// qbsim: a farm of simulated workers in one process, plus the client drivers of
// the benchmarks in bench/run_suite.sh. See bench/README.md.
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "driver.hpp"
#include "shard.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// endpoints.json, written by a supervisor bound to port 0.
std::pair<std::string, std::string> read_endpoints(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  const qube::Json e = qube::Json::parse(in);
  return {qube::get_string(e, "workers"), qube::get_string(e, "clients")};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qube::sim;
  CLI::App app{"qbsim: simulated workers and benchmark drivers against a real qbsupervisor"};
  std::string scenario = "farm", endpoints_file, prefix = "sim";
  SimConfig config;
  DriverOptions d;
  std::string clients_endpoint;
  int workers = 0, first = 0, threads = 2, io_threads = 1;
  double ramp = 1.0, ready_timeout = 120, run_for = 0;
  app.add_option("scenario", scenario, "farm, dispatch, latency, submit, wait or query")
      ->check(CLI::IsMember({"farm", "dispatch", "latency", "submit", "wait", "query"}));
  app.add_option("--endpoints", endpoints_file, "the supervisor's endpoints.json (from its --data directory)");
  app.add_option("--workers-endpoint", config.endpoint, "the supervisor's worker endpoint");
  app.add_option("--clients-endpoint", clients_endpoint, "the supervisor's client endpoint");
  app.add_option("--workers", workers, "simulated workers to run");
  app.add_option("--first", first, "number of the first worker's name (several qbsim processes, one farm)");
  app.add_option("--prefix", prefix, "worker name prefix");
  app.add_option("--slots", config.slots, "slots per simulated worker");
  app.add_option("--keys", config.keys_dir, "the supervisor's key directory: simulated workers add their keys there");
  app.add_option("--item-seconds", config.item_seconds, "how long each agenda item runs");
  app.add_option("--heartbeat", config.heartbeat, "heartbeat interval in seconds (default: the supervisor's)");
  app.add_option("--threads", threads, "threads sharing the simulated workers");
  app.add_option("--io-threads", io_threads, "ZeroMQ I/O threads");
  app.add_option("--ramp", ramp, "seconds over which the workers first register");
  app.add_option("--ready-timeout", ready_timeout, "seconds to wait for every worker to register");
  app.add_option("--for", run_for, "farm: seconds to run (default: until SIGINT/SIGTERM)");
  app.add_option("--items", d.items, "agenda items per job (0: a job without agenda)");
  app.add_option("--cpus", d.cpus, "instances per job (dispatch default: every simulated slot)");
  app.add_option("--priority", d.priority, "job priority (1 most urgent)");
  app.add_option("--jobs", d.jobs, "submit: jobs to submit");
  app.add_option("--batch", d.batch, "submit: jobs per request")->check(CLI::Range(1, 100000));
  app.add_option("--type", d.type, "submit: job type");
  app.add_flag("--blocked", d.blocked, "submit: submit the jobs blocked");
  app.add_option("--samples", d.samples, "latency and query: samples");
  app.add_option("--timeout", d.timeout, "seconds before a run is cut short and reported as partial");
  app.add_option("--job", d.job, "wait: the job id");
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (!endpoints_file.empty()) {
      auto [w, c] = read_endpoints(endpoints_file);
      if (config.endpoint.empty()) config.endpoint = w;
      if (clients_endpoint.empty()) clients_endpoint = c;
    }
    Events events;
    zmq::context_t ctx;
    ctx.set(zmq::ctxopt::io_threads, std::max(1, io_threads));
    ctx.set(zmq::ctxopt::max_sockets, workers + 64);  // the default, 1023, is far too few
    std::vector<std::unique_ptr<Shard>> shards;
    threads = std::max(1, std::min(threads, std::max(1, workers)));
    for (int t = 0, made = 0; t < threads && workers > 0; ++t) {
      const int count = workers / threads + (t < workers % threads ? 1 : 0);
      shards.push_back(std::make_unique<Shard>(ctx, config, events, prefix, first + made, count, ramp));
      made += count;
    }
    for (auto& s : shards) s->start(g_stop);

    auto stop_all = [&] {
      g_stop = true;
      for (auto& s : shards) s->join();
    };
    const double t0 = steady_now();
    while (events.registered() < workers && !g_stop) {
      if (steady_now() - t0 > ready_timeout) {
        std::cerr << "qbsim: only " << events.registered() << " of " << workers << " workers registered\n";
        stop_all();
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    qube::Json out{{"scenario", scenario}, {"workers", workers}, {"slots", config.slots},
                   {"register_s", steady_now() - t0}};
    if (scenario == "farm") {
      std::cout << qube::Json{{"ready", events.registered()}, {"register_s", steady_now() - t0}}.dump() << std::endl;
      const double until = steady_now() + run_for;
      while (!g_stop && (run_for <= 0 || steady_now() < until))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else {
      qube::Client client(clients_endpoint, std::chrono::seconds(300));
      if (scenario == "dispatch") out["result"] = run_dispatch(client, events, d, workers * config.slots);
      if (scenario == "latency") out["result"] = run_latency(client, events, d);
      if (scenario == "submit") out["result"] = run_submit(client, d);
      if (scenario == "wait") out["result"] = run_wait(client, d);
      if (scenario == "query") out["result"] = run_query(client, d);
    }
    stop_all();
    out["registered_at_end"] = events.registered();
    out["malformed_messages"] = events.malformed_count();
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "qbsim: " << e.what() << "\n";
    g_stop = true;
    return 1;
  }
  return 0;
}
