#pragma once
// What a requirements expression may read of a job (`job.*`). Plain values,
// filled once when the job's placement is compiled.
#include <cstdint>
#include <string>

namespace qube::placement {

struct JobFacts {
  std::uint64_t id = 0;
  std::string name;
  std::string user;
  std::string type;     // Qube's prototype
  std::string label;
  std::string cluster = "/";
  int priority = 9999;
  int cpus = 1;
  std::uint64_t pgrp = 0;
  std::uint64_t pid = 0;
};

}  // namespace qube::placement
