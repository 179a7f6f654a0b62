#include "qube/config_file.hpp"

#include <spdlog/spdlog.h>

#include "qube/paths.hpp"

namespace qube {

std::filesystem::path choose_config_file(const std::string& flag, const char* default_name) {
  if (!flag.empty()) return flag;
  const auto fallback = default_config_dir() / default_name;
  std::error_code ec;
  return std::filesystem::exists(fallback, ec) ? fallback : std::filesystem::path();
}

YAML::Node load_config_map(const std::filesystem::path& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("cannot read " + file.string() + ": " + e.what());
  }
  if (!root.IsMap() && !root.IsNull()) throw std::runtime_error(file.string() + ": expected a map of settings");
  return root;
}

bool set_log_level(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::set_level(parsed);
  return true;
}

}  // namespace qube
