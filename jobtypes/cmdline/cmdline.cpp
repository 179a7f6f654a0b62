// cmdline and cmdrange: run the package's `cmdline` (Qube's key) as a process.
// cmdline runs it once per instance (or per item when the job has an agenda);
// cmdrange substitutes QB_FRAME_NUMBER, QB_FRAME_START, QB_FRAME_END and
// QB_FRAME_STEP for each agenda item's frames.
#include <qube/jobtype.hpp>

namespace {

using namespace qube;

class CommandInstance final : public plugin::Instance {
 public:
  explicit CommandInstance(const JobInfo& job) : job_(job) {
    auto it = job.package.find("cmdline");
    if (it == job.package.end() || !it->is_string() || it->get<std::string>().empty())
      throw std::invalid_argument("the package has no 'cmdline' to run");
    cmdline_ = it->get<std::string>();
  }

  WorkResult run(const WorkItem& item, plugin::RunContext& ctx) override {
    std::string line = cmdline_;
    if (!item.name.empty() && line.find("QB_FRAME_") != std::string::npos)
      line = substitute_frames(line, frame_vars(item.name), job_.padding);
    const ProcessResult p = run_process(command_argv(line), ctx.environment(item), job_.cwd,
                                        [&](Stream s, std::string_view d) { ctx.output(s, d); });
    WorkResult r;
    r.cputime = p.cputime;
    r.peak_rss_kb = p.peak_rss_kb;
    if (!p.error.empty()) {
      r.status = WorkStatus::failed;
      r.exitcode = 127;
      r.reason = p.error;
      ctx.output(Stream::err, "qube: " + p.error + "\n");
      return r;
    }
    r.exitcode = p.exitcode;
    r.signal = p.signal;
    r.status = p.exitcode == 0 ? WorkStatus::complete : WorkStatus::failed;
    if (p.signal) r.reason = "killed by signal " + std::to_string(*p.signal);
    else if (p.exitcode != 0) r.reason = "exited with code " + std::to_string(p.exitcode);
    return r;
  }

 private:
  JobInfo job_;
  std::string cmdline_;
};

class CommandType final : public plugin::JobType {
 public:
  std::unique_ptr<plugin::Instance> create_instance(const JobInfo& job) override {
    return std::make_unique<CommandInstance>(job);
  }
};

std::unique_ptr<plugin::JobType> create(const std::string& type) {
  if (type == "cmdline" || type == "cmdrange") return std::make_unique<CommandType>();
  return nullptr;
}

}  // namespace

QUBE_EXPORT_JOBTYPES(create)
