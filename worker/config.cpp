#include "config.hpp"

#include <unistd.h>

#include <stdexcept>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "qube/paths.hpp"

namespace qube::worker {

namespace {
template <typename T>
void read(const YAML::Node& root, const char* key, T& into, const std::filesystem::path& file) {
  if (!root[key]) return;
  try {
    into = root[key].as<T>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error(file.string() + ": key '" + key + "' has a value of the wrong type");
  }
}
}  // namespace

Config load_config(const std::filesystem::path& file, Config c) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("cannot read " + file.string() + ": " + e.what());
  }
  if (!root.IsMap() && !root.IsNull()) throw std::runtime_error(file.string() + ": expected a map of settings");
  const auto dir = std::filesystem::absolute(file).parent_path();
  read(root, "supervisor", c.supervisor, file);
  read(root, "name", c.name, file);
  read(root, "worker_cpus", c.slots, file);
  std::string jobtypes, modules;
  read(root, "jobtypes", jobtypes, file);
  read(root, "modules", modules, file);
  if (!jobtypes.empty()) c.jobtypes = dir / jobtypes;
  if (!modules.empty()) c.modules = dir / modules;
  read(root, "kill_grace", c.kill_grace, file);
  read(root, "log_level", c.log_level, file);
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
}

}  // namespace qube::worker
