#pragma once
// The job-type plugin interface, without the macro that exports a plugin's entry
// points (qube/jobtype.hpp): code that only speaks of jobs and work items (the
// protocol, the supervisor) includes this and not Boost.DLL, whose headers cost
// every file that includes them about a second to compile.
//
// The job-type plugin interface. A job type is a shared library that exports,
// with BOOST_DLL_ALIAS (QUBE_EXPORT_JOBTYPES, in qube/jobtype.hpp):
//   qube_sdk_abi_version : int()                       -> kSdkAbiVersion it was built for
//   qube_create_jobtype  : std::unique_ptr<plugin::JobType>(const std::string& type)
// The worker's instance process loads it once, creates one Instance for the job's
// package, and calls run() for each agenda item in turn, so an application the
// instance starts can stay alive between items. Exceptions thrown by run() fail
// that item with the exception's message; they never take the worker down.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "qube/model.hpp"
#include "qube/process.hpp"
#include "qube/version.hpp"

#define QUBE_API __attribute__((visibility("default")))

namespace qube {

// What an instance knows of its job.
struct QUBE_API JobInfo {
  JobId id = 0;
  std::int32_t subid = 0;
  JobId pgrp = 0;
  std::string name;
  std::string type;
  std::string user;
  Json package = Json::object();
  std::map<std::string, std::string> env;  // the job's own environment
  int padding = 0;
  std::string cwd;
  std::string supervisor;  // the supervisor's client endpoint (QB_SUPERVISOR)
  std::string host;        // the worker's name
};

// One agenda item to run. `name` is empty for a job without an agenda, whose
// instances each run the job once.
struct QUBE_API WorkItem {
  std::string name;
  Json package = Json::object();
  std::uint64_t attempt_id = 0;
};

struct QUBE_API WorkResult {
  WorkStatus status = WorkStatus::complete;  // complete or failed
  std::optional<int> exitcode;
  std::optional<int> signal;
  double cputime = 0;
  std::uint64_t peak_rss_kb = 0;
  std::string reason;
  Json resultpackage = Json::object();
};

// The plugin interface proper lives in qube::plugin, apart from the model's
// Instance record (what the supervisor knows of an instance).
namespace plugin {

// Services the worker gives a running item.
class QUBE_API RunContext {
 public:
  virtual ~RunContext() = default;
  virtual const JobInfo& job() const = 0;
  // Streams output into the item's log as it comes.
  virtual void output(Stream stream, std::string_view data) = 0;
  // The environment every process of this item gets: the worker's, then the job's
  // env, then QBJOBID QBSUBID QBPGRPID QB_SUPERVISOR and QB_FRAME_* for `item`.
  virtual std::map<std::string, std::string> environment(const WorkItem& item) const = 0;
};

class QUBE_API Instance {
 public:
  virtual ~Instance() = default;
  virtual WorkResult run(const WorkItem& item, RunContext& context) = 0;
  // Ends whatever the instance keeps alive; called once after the last item.
  virtual void stop() {}
};

class QUBE_API JobType {
 public:
  virtual ~JobType() = default;
  virtual std::unique_ptr<Instance> create_instance(const JobInfo& job) = 0;
};

}  // namespace plugin

// The frames of an agenda item named in Qube range syntax, for substitution:
// first, last and step; number == first.
struct FrameVars {
  std::int64_t start = 0, end = 0, step = 1;
};
// Throws std::invalid_argument when the name is not a single run of frames.
FrameVars frame_vars(const std::string& item_name);

// Replaces QB_FRAME_NUMBER QB_FRAME_START QB_FRAME_END QB_FRAME_STEP in `text`,
// numbers zero-padded to `padding` digits.
std::string substitute_frames(const std::string& text, const FrameVars& f, int padding);

}  // namespace qube

