#include "config.hpp"

#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "qube/config_file.hpp"

#include "qube/curve.hpp"
#include "qube/paths.hpp"
#include "metrics_server.hpp"

namespace qube::worker {

std::optional<RunAs> parse_run_as(std::string_view text) {
  for (RunAs mode : {RunAs::owner, RunAs::proxy, RunAs::self})
    if (text == to_string(mode)) return mode;
  return std::nullopt;
}

const char* to_string(RunAs mode) {
  switch (mode) {
    case RunAs::owner: return "owner";
    case RunAs::proxy: return "proxy";
    case RunAs::self: return "self";
  }
  return "?";
}

RunAs default_run_as(bool keys_on) { return keys_on ? RunAs::owner : RunAs::self; }

Config load_config(const std::filesystem::path& file, Config c) {
  const YAML::Node root = load_config_map(file);
  const auto dir = std::filesystem::absolute(file).parent_path();
  read_key(root, "supervisor", c.supervisor, file);
  read_key(root, "name", c.name, file);
  read_key(root, "worker_cpus", c.slots, file);
  std::string jobtypes, modules, keys;
  read_key(root, "jobtypes", jobtypes, file);
  read_key(root, "modules", modules, file);
  read_key(root, "keys", keys, file);
  if (!jobtypes.empty()) c.jobtypes = dir / jobtypes;
  if (!modules.empty()) c.modules = dir / modules;
  if (!keys.empty()) c.keys_dir = dir / keys;
  read_key(root, "kill_grace", c.kill_grace, file);
  read_key(root, "log_level", c.log_level, file);
  std::string run_as;
  read_key(root, "run_as", run_as, file);
  if (!run_as.empty()) {
    c.run_as = parse_run_as(run_as);
    if (!c.run_as) throw std::runtime_error(file.string() + ": run_as must be owner, proxy or self, not '" + run_as + "'");
  }
  read_key(root, "proxy_user", c.proxy_user, file);
  read_key(root, "allow_root_jobs", c.allow_root_jobs, file);
  read_key(root, "drain_on_stop", c.drain_on_stop, file);
  read_key(root, "metrics", c.metrics, file);
  if (!c.metrics.empty()) {
    try {
      c.metrics = metrics_endpoint(c.metrics);
    } catch (const std::exception& e) {
      throw std::runtime_error(file.string() + ": " + e.what());
    }
  }
  if (c.run_as == RunAs::proxy && c.proxy_user.empty())
    throw std::runtime_error(file.string() + ": run_as: proxy needs a proxy_user");
  if (c.kill_grace < 0 || c.kill_grace > 3600)
    throw std::runtime_error(file.string() + ": kill_grace must be between 0 and 3600 seconds");
  if (c.slots < 0) throw std::runtime_error(file.string() + ": worker_cpus must not be negative");
  return c;
}

bool uses_keys(const Config& c) {
  std::error_code ec;
  return std::filesystem::exists(c.keys_dir / curve::kSupervisorKeyFile, ec);
}

void apply_defaults(Config& c) {
  if (c.name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    c.name = host[0] ? host : "localhost";
  }
  if (c.slots <= 0) c.slots = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (c.jobtypes.empty()) c.jobtypes = default_config_dir() / "jobtypes";
  if (c.modules.empty()) c.modules = default_module_dir();
  if (c.keys_dir.empty()) c.keys_dir = curve::default_daemon_key_dir();
  if (!c.run_as) c.run_as = default_run_as(uses_keys(c));
}

}  // namespace qube::worker
