#pragma once
// qbworker's settings: one typed table of defaults (config.cpp), overridden by
// config/worker.yaml, overridden by command-line flags.
#include <filesystem>
#include <string>

namespace qube::worker {

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
};

Config load_config(const std::filesystem::path& file, Config base = {});
// Fills what is still empty: name, slots, directories.
void apply_defaults(Config& c);

}  // namespace qube::worker
