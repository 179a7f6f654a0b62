// qbinstance: one instance of a job, started by qbworker in its own process group.
// It loads the job type's plugin with Boost.DLL, creates one plugin instance for
// the job, and runs agenda items pulled through the worker until told it is done.
// A plugin that crashes takes down only this process; the worker reports it.
//
// Channel (fd given by --fd; the messages are in qube/messages.hpp): first the
// worker sends the job (StartInstance); then this process sends an ItemRequest,
// receives a WorkReply (an item, or done), streams LogOutput and answers each
// item with a WorkResult.
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>

#include <cstdlib>
#include <iostream>

#include <boost/dll/import.hpp>
#include <boost/dll/shared_library.hpp>

#include "channel.hpp"
#include "instance_hooks.hpp"
#include "qube/clock.hpp"
#include "qube/jobtype.hpp"
#include "qube/messages.hpp"
#include "qube/range.hpp"

namespace {

using namespace qube;
using qube::worker::read_frame;
using qube::worker::run_hooks;
using qube::worker::write_frame;

class Context final : public plugin::RunContext {
 public:
  Context(int fd, JobInfo info) : fd_(fd), info_(std::move(info)), base_env_(current_environment()) {}
  const JobInfo& job() const override { return info_; }

  void output(Stream stream, std::string_view data) override {
    write_frame(fd_, proto::to_json(proto::FromInstance{proto::LogOutput{stream, std::string(data)}}));
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

// Why this instance cannot go on: main tells the worker (fatal) and exits.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int fatal(int fd, const std::string& reason) {
  write_frame(fd, proto::to_json(proto::FromInstance{proto::Fatal{reason}}));
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

struct Args {
  int fd = -1;
  pid_t worker = 0;
  std::string module;
};

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--fd") args.fd = std::atoi(argv[i + 1]);
    else if (flag == "--module") args.module = argv[i + 1];
    else if (flag == "--worker-pid") args.worker = static_cast<pid_t>(std::atoi(argv[i + 1]));
  }
  return args;
}

// The job and its hooks, the worker's first message; none if the worker is gone.
std::optional<proto::StartInstance> read_job(int fd) {
  try {
    const auto first = read_frame(fd);
    if (!first) return std::nullopt;
    return proto::decode_start_instance(*first);
  } catch (const std::exception& e) {
    throw Failure(std::string("bad job description: ") + e.what());
  }
}

// The plugin, loaded once. Members end in reverse order: everything made from
// the library ends before it is unloaded.
struct LoadedJobType {
  boost::dll::shared_library library;
  std::unique_ptr<plugin::JobType> type;
  std::unique_ptr<plugin::Instance> instance;
};

LoadedJobType load_job_type(const std::string& module, const JobInfo& info) {
  LoadedJobType loaded;
  try {
    auto& lib = loaded.library;
    lib.load(module, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (!lib.has("qube_sdk_abi_version") || !lib.has("qube_create_jobtype"))
      throw Failure("module " + module + " is not a Qube job type (missing qube_sdk_abi_version or qube_create_jobtype)");
    auto abi = lib.get_alias<int()>("qube_sdk_abi_version")();
    if (abi != kSdkAbiVersion)
      throw Failure("module " + module + " was built for sdk ABI " + std::to_string(abi) + ", this worker has ABI " +
                    std::to_string(kSdkAbiVersion) + "; rebuild the plugin");
    auto create = lib.get_alias<std::unique_ptr<plugin::JobType>(const std::string&)>("qube_create_jobtype");
    loaded.type = create(info.type);
    if (!loaded.type) throw Failure("module " + module + " does not provide job type '" + info.type + "'");
    loaded.instance = loaded.type->create_instance(info);
    if (!loaded.instance) throw Failure("job type '" + info.type + "' made no instance");
  } catch (const Failure&) {
    throw;
  } catch (const std::exception& e) {
    throw Failure("cannot load job type '" + info.type + "' from " + module + ": " + e.what());
  }
  return loaded;
}

// Runs a hook list with the environment of `item`'s processes, output into the log.
std::optional<worker::HookFailure> run_job_hooks(const std::string& kind, const std::vector<std::string>& commands,
                                                 Context& context, const WorkItem& item, bool stop_at_failure) {
  if (commands.empty()) return std::nullopt;
  return run_hooks(kind, commands, context.environment(item), context.job().cwd,
                   [&](Stream s, std::string_view d) { context.output(s, d); }, stop_at_failure);
}

// One item through the job type, between its agenda hooks; an exception fails
// the item with its message, and so does a failing agenda preflight (the job
// type is not asked). A failing agenda postflight is only logged.
proto::WorkResult run_item(plugin::Instance& instance, const proto::Assignment& assignment, Context& context,
                           const proto::InstanceHooks& hooks) {
  WorkItem item;
  item.name = assignment.item;
  item.attempt_id = assignment.attempt;
  proto::WorkResult result;
  result.index = assignment.index;
  result.attempt = assignment.attempt;
  const Clock& clock = Clock::system();
  const SteadyTime started = clock.steady();
  if (auto failed = run_job_hooks("agenda_preflight", hooks.agenda_preflights, context, item, true)) {
    result.outcome.status = WorkStatus::failed;
    result.outcome.exitcode = failed->exitcode;
    result.outcome.reason = failed->reason;
    result.walltime = clock.steady() - started;
    return result;
  }
  try {
    result.outcome = instance.run(item, context);
  } catch (const std::exception& e) {
    result.outcome.status = WorkStatus::failed;
    result.outcome.reason = e.what();
  }
  run_job_hooks("agenda_postflight", hooks.agenda_postflights, context, item, false);
  result.walltime = clock.steady() - started;
  return result;
}

// Asks for items and runs them until told it is done; the exit code.
int serve_items(int fd, plugin::Instance& instance, Context& context, const proto::InstanceHooks& hooks) {
  while (write_frame(fd, proto::to_json(proto::FromInstance{proto::ItemRequest{}}))) {
    std::optional<proto::Assignment> assignment;
    try {
      const auto reply = read_frame(fd);
      if (!reply) return 0;  // the worker is gone
      assignment = proto::decode_work_reply(*reply).assignment;
    } catch (const std::exception& e) {
      return fatal(fd, std::string("bad message from the worker: ") + e.what());
    }
    if (!assignment) return 0;  // done
    if (!write_frame(fd, proto::to_json(proto::FromInstance{run_item(instance, *assignment, context, hooks)})))
      return 0;
  }
  return 0;
}

void stop(plugin::Instance& instance) {
  try {
    instance.stop();
  } catch (const std::exception& e) {
    std::cerr << "qbinstance: stopping the job type failed: " << e.what() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  die_with_worker(args.worker);
  if (args.fd < 0 || args.module.empty()) {
    std::cerr << "usage: qbinstance --fd N --module PATH (started by qbworker)\n";
    return 2;
  }
  // The channel is this process's alone: frames and applications it starts must
  // not inherit it (a job writing to fd 3 would speak the worker's protocol).
  fcntl(args.fd, F_SETFD, fcntl(args.fd, F_GETFD) | FD_CLOEXEC);
  try {
    const std::optional<proto::StartInstance> start = read_job(args.fd);
    if (!start) return 1;
    const proto::InstanceHooks& hooks = start->hooks;
    Context context(args.fd, start->job);
    // Preflights come first, so that they may prepare what the job type needs.
    if (auto failed = run_job_hooks("preflight", hooks.preflights, context, WorkItem{}, true))
      return fatal(args.fd, "instance not started: " + failed->reason);
    LoadedJobType loaded = load_job_type(args.module, start->job);
    const int rc = serve_items(args.fd, *loaded.instance, context, hooks);
    stop(*loaded.instance);
    run_job_hooks("postflight", hooks.postflights, context, WorkItem{}, false);
    return rc;
  } catch (const Failure& e) {
    return fatal(args.fd, e.what());
  }
}
