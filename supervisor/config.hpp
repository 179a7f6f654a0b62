#pragma once
// qbsupervisor's settings: one typed table of defaults (config.cpp), overridden by
// config/supervisor.yaml, overridden by command-line flags.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace qube::supervisor {

struct Config {
  // Loopback only out of the box: another address needs keys, or `insecure`.
  std::string workers_endpoint = "tcp://127.0.0.1:50001";
  std::string clients_endpoint = "tcp://127.0.0.1:50002";
  // Security (docs/security.md). With keys required, both sockets speak CURVE and
  // every peer must hold a key in <keys>/users or <keys>/workers; the supervisor's
  // own pair is <keys>/supervisor.key(_secret), made at the first start.
  std::filesystem::path keys_dir;  // default: <prefix>/etc/qube/keys
  bool keys_required = false;
  // Lets the daemon bind a non-loopback address without keys (a warning at every start).
  bool insecure = false;
  std::filesystem::path data_dir = "qube-data";
  // Where jobs are stored: "sqlite" (files in data_dir; also when empty) or a
  // postgresql:// URI (docs/high-availability.md). Logs stay in data_dir.
  std::string store;
  // Set by qbsupervisor, not read from the file: this supervisor's name in the
  // lease, and the epoch of the lease it holds (0: SQLite, no lease; lease.hpp).
  std::string supervisor_name;
  std::int64_t lease_epoch = 0;
  double heartbeat_interval = 2.0;  // seconds between worker heartbeats
  int heartbeat_misses = 3;         // missed heartbeats before a worker is down
  std::string log_level = "info";
  // Users who may steer any job and submit for others (qbsub --user).
  std::vector<std::string> admins = {"root"};
  // Callbacks attached to every job: [{triggers, language, code}].
  std::vector<std::map<std::string, std::string>> callbacks;
  double callback_timelimit = 60;  // seconds a shell or python callback may run
  std::string python = "python3";  // interpreter of python callbacks
  std::string smtp_server;         // host:port of the relay for mail callbacks
  std::string mail_from = "qube@localhost";
  // Shell and python callbacks run as their job's owner (needs a root supervisor).
  bool callbacks_run_as_owner = false;
  // Placement (docs/placement.md).
  // Farm-wide counted resources: {license.nuke: 20, global.maya: 10}.
  std::map<std::string, std::int64_t> global_resources;
  bool fair_share = true;               // share equal-priority slots by recent usage
  double fair_share_half_life = 3600;   // seconds for recent usage to count half
  double fair_share_lookahead = 60;     // seconds of use charged at once per running core
  int user_subjob_limit = 0;            // running instances per user (0: no cap)
  int pgrp_subjob_limit = 0;            // running instances per process group (0: no cap)
  std::map<std::string, int> user_subjob_limits;  // per-user overrides
  // What urgent work does to running lower-priority work: passive (it yields
  // its slot after its current item), aggressive (killed now, items back to
  // pending) or disabled.
  std::string preemption = "passive";
  // Bad hosts and auto-wrangling (docs/usage.md, "Bad hosts and auto-wrangling").
  int bad_host_threshold = 3;         // items of one job failed in a row on a host: excluded (0: off)
  int suspect_host_jobs = 3;          // distinct jobs excluding a host within the window: suspect (0: off)
  double suspect_host_window = 3600;  // seconds
  bool suspect_host_lock = false;     // lock a suspect host too
  double max_failure_rate = 0;        // failed / finished attempts that block a job (0: off)
  int failure_rate_min_items = 10;    // finished attempts before the rate counts
  // The HTTP/JSON API (docs/http-api.md): off unless an endpoint is given
  // ("127.0.0.1:50080"; port 0 picks a free one). Off loopback, as the ZeroMQ
  // sockets: only with keys required, or `insecure`.
  std::string http_endpoint;
  bool http_anonymous_read = false;   // GETs without a token, only when bound on loopback
  std::filesystem::path http_tls_cert, http_tls_key;  // both: HTTPS
  std::size_t http_max_body = 64 * 1024 * 1024;       // bytes; larger bodies get 413
  int http_threads = 8;               // HTTP threads; half of them at most serve event streams
  double http_io_timeout = 10;        // seconds a client may take to send a request or read a reply
  double http_reply_timeout = 30;     // seconds to wait for the loop's answer before a 503
  std::filesystem::path dashboard_dir;  // the web dashboard's files; empty: <prefix>/share/qube/dashboard
  // Ended jobs and their logs are removed this many days after they ended (0: kept forever).
  double retention_days = 0;
};

// Reads a YAML file over the defaults; throws std::runtime_error naming the
// file and the key on a bad value. Relative paths are taken from the file's directory.
Config load_config(const std::filesystem::path& file, Config base = {});

}  // namespace qube::supervisor
