#pragma once
// qbworker's settings: one typed table of defaults (config.cpp), overridden by
// config/worker.yaml, overridden by command-line flags.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace qube::worker {

// Whose account an instance runs as (docs/security.md, "Run-as modes").
enum class RunAs : std::uint8_t {
  owner,  // the job's user
  proxy,  // one configured account (proxy_user) for every job
  self,   // this daemon's own user, whoever owns the job
};
std::optional<RunAs> parse_run_as(std::string_view text);
const char* to_string(RunAs mode);
// Running as the owner is only safe once the owner's name is authenticated:
// without keys a request's user is merely claimed.
RunAs default_run_as(bool keys_on);

struct Config {
  std::string supervisor = "tcp://127.0.0.1:50001";
  std::string name;                 // default: the host name
  int slots = 0;                    // 0: number of cores
  std::filesystem::path jobtypes;   // default: <prefix>/etc/qube/jobtypes
  std::filesystem::path modules;    // default: <prefix>/lib/qube/jobtypes
  double kill_grace = 5.0;          // seconds between SIGTERM and SIGKILL
  std::string log_level = "info";
  // Key directory: with supervisor.key in it, the worker talks CURVE, as the key
  // pair worker.key(_secret) there (docs/security.md); without, plaintext.
  std::filesystem::path keys_dir;  // default: <prefix>/etc/qube/keys
  std::optional<RunAs> run_as;      // unset: default_run_as(keys), by apply_defaults
  std::string proxy_user;           // the account of run_as: proxy
  bool allow_root_jobs = false;     // run jobs whose run-as account is uid 0 (owner, proxy)
  // On SIGTERM: true, running items finish first (qbworker --drain); false, they
  // are killed and handed back to the supervisor, which requeues them at once.
  bool drain_on_stop = false;
  // Where GET /metrics is served ("HOST:PORT", or "PORT" on 127.0.0.1); empty: not served.
  std::string metrics;
};

Config load_config(const std::filesystem::path& file, Config base = {});
// Fills what is still empty: name, slots, directories, run_as (from whether
// this worker uses keys).
void apply_defaults(Config& c);
// Whether the worker talks CURVE: its key directory holds the supervisor's key.
bool uses_keys(const Config& c);

}  // namespace qube::worker
