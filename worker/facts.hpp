#pragma once
// What this worker tells the supervisor about itself for placement: facts it
// detects (OS, memory, GPU count) and facts an admin writes in worker.yaml:
//   groups: [render, gpu]          (or "render,gpu": many groups)
//   cluster: /show/seq             (one cluster)
//   restrictions: "/show/+"        (the clusters of jobs it accepts)
//   properties: {maya2024: 1}      (free form; host.maya2024 in requirements)
//   resources: {host.gpu_mem: 2, scoped.nuke: 1}   (counted, reservable)
//   memory_mb: 64000, gpus: 2      (override detection)
// The supervisor reads them back with placement::host_facts_from_json.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "qube/json.hpp"

namespace qube::worker {

struct Facts {
  std::string os = "linux";
  std::uint64_t memory_mb = 0;
  int gpus = 0;
  std::vector<std::string> groups;
  std::string cluster = "/";
  std::string restrictions;
  std::map<std::string, std::string> properties;
  std::map<std::string, std::int64_t> resources;
};

// Detection. `root` is "/" on a real host; tests point it at a fake tree.
std::string detect_os();
std::uint64_t detect_memory_mb(const std::filesystem::path& root = "/");  // /proc/meminfo MemTotal
int detect_gpus(const std::filesystem::path& root = "/");  // /proc/driver/nvidia/gpus/*, else /dev/nvidia<N>

// Reads the keys above from a loaded worker.yaml into `facts`. Throws
// std::runtime_error naming the file and the key.
void read_facts(const YAML::Node& root, const std::filesystem::path& file, Facts& facts);

// Detected facts, then the config file's (if `config_file` is not empty) over them.
Facts load_facts(const std::filesystem::path& config_file, const std::filesystem::path& root = "/");

// The `facts` object of the register message (keys os memory_mb gpus groups
// cluster restrictions properties resources).
Json to_json(const Facts& facts);

}  // namespace qube::worker
