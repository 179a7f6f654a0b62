#include "qube/paths.hpp"

namespace qube {

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

std::filesystem::path config_dir_of_prefix(const std::filesystem::path& prefix) {
  return prefix == "/usr" ? std::filesystem::path("/etc/qube") : prefix / "etc/qube";
}

std::filesystem::path default_config_dir() { return config_dir_of_prefix(executable_dir().parent_path()); }

std::filesystem::path default_module_dir() {
  return executable_dir().parent_path() / "lib/qube/jobtypes";
}

}  // namespace qube
