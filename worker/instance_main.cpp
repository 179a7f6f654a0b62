// qbinstance: one instance of a job, started by qbworker in its own process group.
// It loads the job type's plugin with Boost.DLL, creates one plugin instance for
// the job, and runs agenda items pulled through the worker until told it is done.
// A plugin that crashes takes down only this process; the worker reports it.
//
// Channel (fd given by --fd): first message from the worker is the job (JobInfo);
// then this process sends {t:"request"}, receives {t:"work", index, item, attempt}
// or {t:"done"}, streams {t:"log"} and answers each item with {t:"result"}.
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include <boost/dll/import.hpp>
#include <boost/dll/shared_library.hpp>

#include "channel.hpp"
#include "qube/jobtype.hpp"
#include "qube/range.hpp"

namespace {

using namespace qube;
using qube::worker::read_frame;
using qube::worker::write_frame;

JobInfo job_info_from_json(const Json& j) {
  JobInfo info;
  info.id = static_cast<JobId>(get_int(j, "id"));
  info.subid = static_cast<std::int32_t>(get_int(j, "subid"));
  info.pgrp = static_cast<JobId>(get_int(j, "pgrp"));
  info.name = get_string(j, "name");
  info.type = get_string(j, "type");
  info.user = get_string(j, "user");
  info.package = get_object(j, "package");
  for (const auto& [k, v] : get_object(j, "env").items())
    if (v.is_string()) info.env[k] = v.get<std::string>();
  info.padding = static_cast<int>(get_int(j, "padding"));
  info.cwd = get_string(j, "cwd");
  info.supervisor = get_string(j, "supervisor");
  info.host = get_string(j, "host");
  return info;
}

class Context final : public plugin::RunContext {
 public:
  Context(int fd, JobInfo info) : fd_(fd), info_(std::move(info)), base_env_(current_environment()) {}
  const JobInfo& job() const override { return info_; }

  void output(Stream stream, std::string_view data) override {
    write_frame(fd_, Json{{"t", "log"},
                          {"stream", stream == Stream::err ? "err" : "out"},
                          {"data", Json::binary(std::vector<std::uint8_t>(data.begin(), data.end()))}});
  }

  std::map<std::string, std::string> environment(const WorkItem& item) const override {
    auto env = base_env_;
    for (const auto& [k, v] : info_.env) env[k] = v;
    env["QBJOBID"] = std::to_string(info_.id);
    env["QBSUBID"] = std::to_string(info_.subid);
    env["QBPGRPID"] = std::to_string(info_.pgrp);
    env["QB_SUPERVISOR"] = info_.supervisor;
    env["QB_JOBNAME"] = info_.name;
    // HQueue's names for the same facts, so that imported HQueue jobs run as they did.
    env["JOBID"] = env["QBJOBID"];
    env["HQSERVER"] = info_.supervisor;
    env["HQHOSTS"] = info_.host;
    if (!item.name.empty()) {
      env["QB_ITEM_NAME"] = item.name;
      try {
        const FrameVars f = frame_vars(item.name);
        env["QB_FRAME_NUMBER"] = pad_frame(f.start, info_.padding);
        env["QB_FRAME_START"] = pad_frame(f.start, info_.padding);
        env["QB_FRAME_END"] = pad_frame(f.end, info_.padding);
        env["QB_FRAME_STEP"] = std::to_string(f.step < 0 ? -f.step : f.step);
      } catch (const std::exception&) {
        // An agenda item that is not a frame range has no frame variables.
      }
    }
    return env;
  }

 private:
  int fd_;
  JobInfo info_;
  std::map<std::string, std::string> base_env_;
};

int fatal(int fd, const std::string& reason) {
  write_frame(fd, Json{{"t", "fatal"}, {"reason", reason}});
  std::cerr << "qbinstance: " << reason << "\n";
  return 3;
}

// When the worker dies, so does everything this instance started, however deep:
// the kernel signals this process (the group leader) and it kills its group.
// SIGUSR1 rather than SIGTERM, which the worker uses for a graceful kill.
void on_worker_death(int) { ::kill(0, SIGKILL); }

void die_with_worker(pid_t worker) {
  std::signal(SIGUSR1, on_worker_death);
  prctl(PR_SET_PDEATHSIG, SIGUSR1);
  if (worker > 0 && getppid() != worker) on_worker_death(0);  // it died before we got here
}

}  // namespace

int main(int argc, char** argv) {
  int fd = -1;
  pid_t worker = 0;
  std::string module;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--fd") fd = std::atoi(argv[i + 1]);
    else if (flag == "--module") module = argv[i + 1];
    else if (flag == "--worker-pid") worker = static_cast<pid_t>(std::atoi(argv[i + 1]));
  }
  die_with_worker(worker);
  if (fd < 0 || module.empty()) {
    std::cerr << "usage: qbinstance --fd N --module PATH (started by qbworker)\n";
    return 2;
  }
  // The channel is this process's alone: frames and applications it starts must
  // not inherit it (a job writing to fd 3 would speak the worker's protocol).
  fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  JobInfo info;
  try {
    auto first = read_frame(fd);
    if (!first) return 1;
    info = job_info_from_json(get_object(*first, "job"));
  } catch (const std::exception& e) {
    return fatal(fd, std::string("bad job description: ") + e.what());
  }

  // Load the plugin once; everything made from it lives while `lib` does.
  boost::dll::shared_library lib;
  std::unique_ptr<plugin::JobType> type;
  std::unique_ptr<plugin::Instance> instance;
  try {
    lib.load(module, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (!lib.has("qube_sdk_abi_version") || !lib.has("qube_create_jobtype"))
      return fatal(fd, "module " + module + " is not a Qube job type (missing qube_sdk_abi_version or qube_create_jobtype)");
    auto abi = lib.get_alias<int()>("qube_sdk_abi_version")();
    if (abi != kSdkAbiVersion)
      return fatal(fd, "module " + module + " was built for sdk ABI " + std::to_string(abi) +
                           ", this worker has ABI " + std::to_string(kSdkAbiVersion) + "; rebuild the plugin");
    auto create = lib.get_alias<std::unique_ptr<plugin::JobType>(const std::string&)>("qube_create_jobtype");
    type = create(info.type);
    if (!type) return fatal(fd, "module " + module + " does not provide job type '" + info.type + "'");
    instance = type->create_instance(info);
  } catch (const std::exception& e) {
    return fatal(fd, "cannot load job type '" + info.type + "' from " + module + ": " + e.what());
  }

  Context context(fd, info);
  int rc = 0;
  while (true) {
    if (!write_frame(fd, Json{{"t", "request"}})) break;
    std::optional<Json> msg;
    try {
      msg = read_frame(fd);
    } catch (const std::exception& e) {
      rc = fatal(fd, std::string("bad message from the worker: ") + e.what());
      break;
    }
    if (!msg || get_string(*msg, "t") != "work") break;  // done, or the worker is gone
    WorkItem item;
    item.name = get_string(*msg, "item");
    item.attempt_id = static_cast<std::uint64_t>(get_int(*msg, "attempt"));
    const auto started = std::chrono::steady_clock::now();
    WorkResult result;
    try {
      result = instance->run(item, context);
    } catch (const std::exception& e) {
      result.status = WorkStatus::failed;
      result.reason = e.what();
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Json r{{"t", "result"},
           {"index", get_int(*msg, "index")},
           {"attempt", item.attempt_id},
           {"status", to_string(result.status)},
           {"exitcode", result.exitcode ? Json(*result.exitcode) : Json(nullptr)},
           {"signal", result.signal ? Json(*result.signal) : Json(nullptr)},
           {"walltime", wall},
           {"cputime", result.cputime},
           {"peak_rss_kb", result.peak_rss_kb},
           {"reason", result.reason},
           {"resultpackage", result.resultpackage.is_object() ? result.resultpackage : Json::object()}};
    if (!write_frame(fd, r)) break;
  }
  try {
    instance->stop();
  } catch (const std::exception& e) {
    std::cerr << "qbinstance: stopping the job type failed: " << e.what() << "\n";
  }
  instance.reset();
  type.reset();
  return rc;
}
