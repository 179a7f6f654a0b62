#pragma once
// Where an installed (or built) Qube finds its files: binaries in <prefix>/bin,
// plugins in <prefix>/lib/qube/jobtypes, configuration in <prefix>/etc/qube.
// The build tree has the same layout.
#include <filesystem>

namespace qube {

std::filesystem::path executable_dir();      // directory of the running binary
std::filesystem::path default_config_dir();  // <prefix>/etc/qube
// <prefix>/etc/qube, except /etc/qube for the prefix /usr: installed from the
// .deb packages, the configuration is where Debian keeps it (as GNUInstallDirs
// places it).
std::filesystem::path config_dir_of_prefix(const std::filesystem::path& prefix);
std::filesystem::path default_module_dir();  // <prefix>/lib/qube/jobtypes

}  // namespace qube
