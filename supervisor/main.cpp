// qbsupervisor: holds the jobs, matches them to workers, records every result.
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "config.hpp"
#include "lease_keeper.hpp"
#include "standby.hpp"
#include "qube/config_file.hpp"
#include "qube/service.hpp"
#include "server.hpp"
#include "store/open_store.hpp"

namespace {
std::atomic<bool> g_stop{false};
// The event loop's stop: a signal, or (PostgreSQL) the lease lost.
std::atomic<bool> g_leave{false};
void on_signal(int) {
  g_stop = true;
  g_leave = true;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"qbsupervisor: the Qube supervisor daemon"};
  std::string config_file, data, store, workers, clients, log_level, keys, http, dashboard_dir;
  bool keys_required = false, insecure = false, check_config = false;
  app.add_option("--config", config_file, "configuration file (default: <prefix>/etc/qube/supervisor.yaml)");
  app.add_option("--data", data, "directory for the store and logs");
  app.add_option("--store", store, "where jobs are stored: sqlite (default) or a postgresql:// URI");
  app.add_option("--workers", workers, "endpoint workers connect to, e.g. tcp://*:50001");
  app.add_option("--clients", clients, "endpoint qbsub and qb connect to, e.g. tcp://*:50002");
  app.add_option("--http", http, "serve the HTTP/JSON API at HOST:PORT, e.g. 127.0.0.1:50080 (docs/http-api.md)");
  app.add_option("--dashboard-dir", dashboard_dir, "the web dashboard's files (default: <prefix>/share/qube/dashboard; docs/dashboard.md)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  app.add_option("--keys", keys, "key directory (default: <prefix>/etc/qube/keys; docs/security.md)");
  app.add_flag("--keys-required", keys_required, "CURVE on both sockets; only known keys get in");
  app.add_flag("--insecure", insecure, "allow a non-loopback address without keys (anyone reaching it runs anything)");
  app.add_flag("--check-config", check_config, "validate the configuration and exit: 0 when valid, 2 with the error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  using namespace qube::supervisor;
  Config config;
  std::filesystem::path file;
  try {
    file = qube::choose_config_file(config_file, "supervisor.yaml");
    if (!file.empty()) config = load_config(file);
  } catch (const std::exception& e) {
    std::cerr << "qbsupervisor: " << e.what() << "\n";
    return 2;
  }
  if (const char* d = std::getenv("QB_DATA"); d && data.empty()) data = d;
  if (!data.empty()) config.data_dir = data;
  if (!store.empty()) config.store = store;
  if (!qube::supervisor::is_store_setting(config.store)) {
    std::cerr << "qbsupervisor: --store must be sqlite or a postgresql:// URI, not '" << config.store << "'\n";
    return 2;
  }
  if (!workers.empty()) config.workers_endpoint = workers;
  if (!clients.empty()) config.clients_endpoint = clients;
  if (!http.empty()) config.http_endpoint = http;
  if (!dashboard_dir.empty()) config.dashboard_dir = std::filesystem::absolute(dashboard_dir);
  if (!log_level.empty()) config.log_level = log_level;
  if (!keys.empty()) config.keys_dir = std::filesystem::absolute(keys);
  if (keys_required) config.keys_required = true;
  if (insecure) config.insecure = true;
  if (!qube::set_log_level(config.log_level)) {
    std::cerr << argv[0] << ": unknown log level '" << config.log_level
              << "' (trace, debug, info, warn, error, critical, off)\n";
    return 2;
  }
  if (check_config) return qube::service::report_valid_config("qbsupervisor", file);
  qube::service::log_to_journal_under_systemd("qbsupervisor");

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto lease = open_lease(config.store);  // PostgreSQL: a pair, or more (docs/high-availability.md)
    if (!lease) {
      Server server(config);
      qube::service::notify_ready();  // bound and restored
      server.run(g_stop);
      qube::service::notify_stopping();
      return 0;
    }
    config.supervisor_name = supervisor_name();
    // Standby until it holds the lease; active until it stops or loses it; a
    // supervisor that lost it (fenced) is a standby again, with nothing written.
    while (!g_stop) {
      std::optional<std::int64_t> epoch;
      {
        Standby standby(config, config.supervisor_name);
        // A port 0 stays the port the system chose, active or standby.
        config.workers_endpoint = standby.workers_bound();
        config.clients_endpoint = standby.clients_bound();
        epoch = standby.wait(*lease, g_stop);
        if (!epoch) break;
        config.lease_epoch = *epoch;
        g_leave = g_stop.load();
        LeaseKeeper keeper(*lease, *epoch, standby.identity(), g_leave);
        try {
          Server server(config);
          spdlog::info("qbsupervisor {} is active (epoch {})", config.supervisor_name, *epoch);
          server.run(g_leave);
        } catch (const Fenced& e) {
          spdlog::critical("{}; stepping down to standby", e.what());
          continue;
        }
        if (keeper.lost()) continue;  // stepped down: a standby again
      }
      lease->release(*epoch);  // stopped: a standby need not wait for it to expire
    }
    qube::service::notify_stopping();
  } catch (const std::exception& e) {
    spdlog::critical("qbsupervisor: {}", e.what());
    return 1;
  }
  return 0;
}
