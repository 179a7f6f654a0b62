#pragma once
// Reading the daemons' YAML configuration files: one place for locating the file,
// loading it, reading typed keys with errors that name the file and the key, and
// checking the log level.
#include <filesystem>
#include <stdexcept>
#include <string>

#include <yaml-cpp/yaml.h>

namespace qube {

// `flag` if given, else <prefix>/etc/qube/<default_name> if it exists, else empty.
std::filesystem::path choose_config_file(const std::string& flag, const char* default_name);

// Loads a map of settings; throws std::runtime_error naming the file.
YAML::Node load_config_map(const std::filesystem::path& file);

// Reads `key` into `into` when present; a value of the wrong type throws.
template <typename T>
void read_key(const YAML::Node& root, const char* key, T& into, const std::filesystem::path& file) {
  if (!root[key]) return;
  try {
    into = root[key].as<T>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error(file.string() + ": key '" + key + "' has a value of the wrong type");
  }
}

// Sets spdlog's level; false (nothing changed) for a word spdlog does not know.
bool set_log_level(const std::string& level);

}  // namespace qube
