#include "config.hpp"

#include <stdexcept>

#include <yaml-cpp/yaml.h>

namespace qube::supervisor {

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
  read(root, "workers", c.workers_endpoint, file);
  read(root, "clients", c.clients_endpoint, file);
  std::string data;
  read(root, "data", data, file);
  if (!data.empty()) c.data_dir = std::filesystem::absolute(file).parent_path() / data;
  read(root, "heartbeat_interval", c.heartbeat_interval, file);
  read(root, "heartbeat_misses", c.heartbeat_misses, file);
  read(root, "log_level", c.log_level, file);
  if (c.heartbeat_interval <= 0 || c.heartbeat_interval > 3600)
    throw std::runtime_error(file.string() + ": heartbeat_interval must be between 0 and 3600 seconds");
  if (c.heartbeat_misses < 1) throw std::runtime_error(file.string() + ": heartbeat_misses must be at least 1");
  return c;
}

}  // namespace qube::supervisor
