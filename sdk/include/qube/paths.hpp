#pragma once
// Where an installed (or built) Qube finds its files: binaries in <prefix>/bin,
// plugins in <prefix>/lib/qube/jobtypes, configuration in <prefix>/etc/qube.
// The build tree has the same layout.
#include <filesystem>

namespace qube {

std::filesystem::path executable_dir();      // directory of the running binary
std::filesystem::path default_config_dir();  // <prefix>/etc/qube
std::filesystem::path default_module_dir();  // <prefix>/lib/qube/jobtypes

}  // namespace qube
