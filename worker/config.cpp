#include "config.hpp"

#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "qube/config_file.hpp"

#include "qube/curve.hpp"
#include "qube/paths.hpp"

namespace qube::worker {

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
  if (c.kill_grace < 0 || c.kill_grace > 3600)
    throw std::runtime_error(file.string() + ": kill_grace must be between 0 and 3600 seconds");
  if (c.slots < 0) throw std::runtime_error(file.string() + ": worker_cpus must not be negative");
  return c;
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
}

}  // namespace qube::worker
