// qbworker: runs instances of jobs on this host for the supervisor.
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "config.hpp"
#include "jobtype_registry.hpp"
#include "metrics_server.hpp"
#include "qube/clock.hpp"
#include "qube/config_file.hpp"
#include "qube/service.hpp"
#include "worker.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"qbworker: the Qube worker daemon"};
  std::string config_file, supervisor, name, jobtypes, modules, log_level, keys, metrics;
  int slots = 0;
  bool check_config = false, drain = false;
  app.add_option("--config", config_file, "configuration file (default: <prefix>/etc/qube/worker.yaml)");
  app.add_option("--supervisor", supervisor, "the supervisor's worker endpoint, e.g. tcp://farm:50001");
  app.add_option("--name", name, "name to register under (default: host name)");
  app.add_option("--slots", slots, "instances to run at once (default: cores)")->check(CLI::Range(1, 100000));
  app.add_option("--jobtypes", jobtypes, "directory of job-type descriptions (*.yaml)");
  app.add_option("--modules", modules, "directory where job-type modules named by file name are found");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  app.add_option("--keys", keys, "key directory: worker.key_secret and supervisor.key (docs/security.md)");
  app.add_option("--metrics", metrics,
                 "serve Prometheus metrics at http://HOST:PORT/metrics; a bare PORT means 127.0.0.1 (default: off)");
  app.add_flag("--drain", drain, "on SIGTERM, let running items finish before exiting (config: drain_on_stop)");
  app.add_flag("--check-config", check_config, "validate the configuration and exit: 0 when valid, 2 with the error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  using namespace qube::worker;
  Config config;
  Facts facts;
  std::filesystem::path file;
  try {
    file = qube::choose_config_file(config_file, "worker.yaml");
    if (!file.empty()) config = load_config(file);
    facts = load_facts(file);  // detection, then worker.yaml's groups, cluster, properties ...
  } catch (const std::exception& e) {
    std::cerr << "qbworker: " << e.what() << "\n";
    return 2;
  }
  if (!supervisor.empty()) config.supervisor = supervisor;
  if (!name.empty()) config.name = name;
  if (slots > 0) config.slots = slots;
  if (!jobtypes.empty()) config.jobtypes = std::filesystem::absolute(jobtypes);
  if (!modules.empty()) config.modules = std::filesystem::absolute(modules);
  if (!log_level.empty()) config.log_level = log_level;
  if (!keys.empty()) config.keys_dir = std::filesystem::absolute(keys);
  if (drain) config.drain_on_stop = true;
  if (!metrics.empty()) {
    try {
      config.metrics = metrics_endpoint(metrics);
    } catch (const std::exception& e) {
      std::cerr << "qbworker: --metrics: " << e.what() << "\n";
      return 2;
    }
  }
  apply_defaults(config);
  if (!qube::set_log_level(config.log_level)) {
    std::cerr << argv[0] << ": unknown log level '" << config.log_level
              << "' (trace, debug, info, warn, error, critical, off)\n";
    return 2;
  }
  if (check_config) return qube::service::report_valid_config("qbworker", file);
  qube::service::log_to_journal_under_systemd("qbworker");

  std::vector<std::string> problems;
  auto types = scan_jobtypes(config.jobtypes, config.modules, problems);
  for (const auto& p : problems) spdlog::warn("job types: {}", p);
  if (types.empty()) spdlog::warn("no job types found in {}: this worker can run nothing", config.jobtypes.string());

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    const qube::Clock& clock = qube::Clock::system();
    Worker worker(clock, config, std::move(types), std::move(facts));
    std::optional<MetricsServer> metrics_server;
    if (!config.metrics.empty()) {
      metrics_server.emplace(config.metrics,
                             [&] { return render_worker_metrics(worker.metrics().read(), clock.steady()); });
      spdlog::info("metrics at {}", metrics_server->url());
    }
    qube::service::notify_ready();
    worker.run(g_stop);
    qube::service::notify_stopping();
  } catch (const std::exception& e) {
    spdlog::critical("qbworker: {}", e.what());
    return 1;
  }
  return 0;
}
