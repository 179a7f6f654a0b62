#pragma once
// The job types a worker offers: one <type>.yaml per type in its jobtypes
// directory, each naming the plugin module that runs it.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace qube::worker {

struct JobTypeEntry {
  std::string name;
  std::filesystem::path module;  // resolved path of the shared library
  std::string yaml;              // the description file, for messages
};

// Reads every *.yaml in `dir`. A file that cannot be read, or names a module
// or a `script` (a Python job type's, relative to the file) that does not
// exist, is reported in `problems` and skipped. The module reads its other
// settings from the file itself, which the worker names in QB_JOBTYPE_CONFIG.
std::map<std::string, JobTypeEntry> scan_jobtypes(const std::filesystem::path& dir,
                                                  const std::filesystem::path& module_dir,
                                                  std::vector<std::string>& problems);

}  // namespace qube::worker
