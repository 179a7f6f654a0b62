#pragma once
// A job type for a kept-alive application, on top of AppSession: the instance
// starts the application at its first item and keeps it for the next ones. A job
// type for another application is then one small file saying how to start it,
// how to talk to it, and which commands render one item (jobtypes/maya/maya.cpp,
// and the plugin guide, docs/plugin-guide.md).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qube/app_session.hpp"
#include "qube/jobtype.hpp"
#include "qube/range.hpp"

namespace qube {

// The file of the shared library holding `address` (any function or object of
// a plugin): job types find files installed beside them with it.
std::filesystem::path module_path_of(const void* address);

namespace plugin {

// What config/jobtypes/<type>.yaml says about the application, with the
// package's overrides applied.
struct AppConfig {
  std::string executable;
  std::vector<std::string> args;  // default arguments, before the job type's own
  Seconds item_timeout{0};
  Seconds startup_timeout{0};
  Seconds quit_grace{10};
};

// Reads the type's YAML file: $QB_JOBTYPE_CONFIG when set, else
// <prefix>/etc/qube/jobtypes/<type>.yaml for the module at `module_file`
// (<prefix>/lib/qube/jobtypes/...). Keys: executable, args, item_timeout,
// startup_timeout, quit_grace (seconds); missing keys keep their defaults
// (executable: the type's name), a missing file keeps them all. Then the
// package's `exe_key` (e.g. "mayaexe") replaces the executable and its `timeout`
// the item timeout. Throws std::invalid_argument naming the file or key at fault.
AppConfig load_app_config(const JobInfo& job, const std::string& exe_key, const std::filesystem::path& module_file);

// The session options a config gives: argv {executable, args...} and timeouts.
AppSessionOptions session_options(const AppConfig& config);

// A package key as text: a string, or a number written out; `fallback` when
// missing or empty. Throws std::invalid_argument for other types.
std::string package_string(const Json& package, const char* key, const std::string& fallback = {});
// The same for a key the job type cannot do without: missing or empty throws
// std::invalid_argument naming the key and the type, so the instance fails to
// start with that reason.
std::string required_package_string(const JobInfo& job, const char* key);
// A whole number (given as a number or as text); nullopt when missing or empty.
// Throws std::invalid_argument naming the key for anything else.
std::optional<int> package_int(const Json& package, const char* key);
// A package key holding names: a list of strings, or one string of names
// separated by commas; empty when missing.
std::vector<std::string> package_names(const Json& package, const char* key);

// An instance keeping one application alive across its items. Subclasses give
// the session options (`env` holds only their additions: the first item's
// environment is the base) and the commands of one item.
class QUBE_API AppInstance : public Instance {
 public:
  AppInstance(const JobInfo& job, AppSessionOptions options);
  // Per item: resultpackage {"outputs": [files written], "pid": application pid}.
  WorkResult run(const WorkItem& item, RunContext& context) final;
  void stop() final;

 protected:
  // The commands that render the item's frames, one per line sent.
  virtual std::vector<std::string> item_commands(const FrameRun& frames) = 0;
  const JobInfo& job() const { return job_; }

 private:
  JobInfo job_;
  AppSessionOptions options_;
  std::unique_ptr<AppSession> session_;
};

// A job type whose instances are `InstanceT(job)`: what most plugins need.
template <typename InstanceT>
class SimpleJobType final : public JobType {
 public:
  std::unique_ptr<Instance> create_instance(const JobInfo& job) override { return std::make_unique<InstanceT>(job); }
};

}  // namespace plugin

}  // namespace qube
