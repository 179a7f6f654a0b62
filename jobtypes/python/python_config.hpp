#pragma once
// What a Python job type's <type>.yaml says: the script to run and the Python
// to run it with. The worker names the file in $QB_JOBTYPE_CONFIG.
//
//   name: gradient
//   module: libqube_jobtype_python.so
//   script: gradient.py        # required; relative to this file's directory
//   executable: python3        # default python3; the package's `pythonexe` wins
//   args: ["-X", "utf8"]       # before the script
//   pythonpath: [lib]          # searched first; relative to this file's directory
//   item_timeout: 0            # seconds, 0: none; the package's `timeout` wins
//   quit_grace: 10             # after "no more work", and again after SIGTERM
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "qube/app_instance.hpp"
#include "qube/jobtype.hpp"

namespace qube::python_backend {

struct PythonConfig {
  plugin::AppConfig app;                       // executable, args, timeouts
  std::filesystem::path script;                // absolute
  std::vector<std::filesystem::path> pythonpath;  // the yaml's, absolute
};

// Reads $QB_JOBTYPE_CONFIG (or <prefix>/etc/qube/jobtypes/<type>.yaml). Throws
// std::invalid_argument naming the file and key at fault, or the missing script.
PythonConfig load_python_config(const JobInfo& job, const std::filesystem::path& module_file);

// The script's command line: executable, args, script.
std::vector<std::string> script_argv(const PythonConfig& config);

// `env` (an item's environment) with PYTHONPATH = the yaml's directories, then
// what `env` had, then the `qb` module of this installation (<prefix>/api/python,
// found from the running qbinstance, <prefix>/bin), and PYTHONUNBUFFERED=1 so that
// output reaches the log as it is printed.
std::map<std::string, std::string> script_environment(const PythonConfig& config,
                                                      std::map<std::string, std::string> env);

}  // namespace qube::python_backend
