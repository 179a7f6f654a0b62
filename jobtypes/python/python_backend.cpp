// python: job types written in Python, as Qube!'s back-end API has them. Any
// type whose <type>.yaml names this module and a `script` runs that script
// once per instance; inside it qb.jobobj(), qb.requestwork(), qb.reportwork()
// and qb.reportjob() (api/python/qb/backend.py) talk to this instance over a
// private channel (script_process.hpp). Each run() hands the waiting script
// one item and returns when the script reports it.
#include <iostream>
#include <sstream>

#include "python_config.hpp"
#include "script_process.hpp"

namespace {

using namespace qube;
using namespace qube::python_backend;

const int module_anchor = 0;  // an address inside this module, to find its files

std::string seconds_text(Seconds s) {
  std::ostringstream out;
  out << s.count() << " s";
  return out.str();
}

std::string item_text(const WorkItem& item) { return item.name.empty() ? "the job" : "item " + item.name; }

// What qb.requestwork() returns when there is no more work: Qube!'s scripts
// leave their loop on status "complete".
Json no_more_work() {
  return Json{{"name", ""}, {"status", "complete"}, {"package", Json::object()}, {"resultpackage", Json::object()}};
}

class PythonInstance final : public plugin::Instance {
 public:
  explicit PythonInstance(const JobInfo& job)
      : job_(job), config_(load_python_config(job, module_path_of(&module_anchor))) {}

  WorkResult run(const WorkItem& item, plugin::RunContext& context) override {
    const OutputSink sink = [&](Stream s, std::string_view d) { context.output(s, d); };
    if (!script_) {
      try {
        script_ = std::make_unique<ScriptProcess>(script_argv(config_),
                                                  script_environment(config_, context.environment(item)), job_.cwd);
      } catch (const std::exception& e) {
        return failed(std::string("python job type script: ") + e.what());
      }
      waiting_for_work_ = false;
    }
    bool handed = false;
    auto hand_over = [&] {
      script_->reply(Json{{"work", work_dict(item)}});
      handed = true;
      waiting_for_work_ = false;
    };
    if (waiting_for_work_) hand_over();
    std::optional<SteadyClock::time_point> deadline;
    if (config_.app.item_timeout.count() > 0)
      deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(config_.app.item_timeout);
    while (true) {
      const ScriptEvent ev = script_->next(sink, deadline);
      switch (ev.kind) {
        case ScriptEvent::Kind::exited: {
          std::string reason = "python job type script " + script_->exit_text() + " before " +
                               (handed ? "reporting " + item_text(item) : std::string("asking for work"));
          if (const auto line = script_->last_error_line(); !line.empty()) reason += ": " + line;
          return end_script(std::move(reason), sink);
        }
        case ScriptEvent::Kind::deadline:
          return end_script("python job type script did not report " + item_text(item) +
                                " within the item timeout of " + seconds_text(config_.app.item_timeout) +
                                ": killed; it is started again for the next item",
                            sink);
        case ScriptEvent::Kind::bad_message:
          return end_script("python job type script broke the back-end protocol: " + ev.error, sink);
        case ScriptEvent::Kind::message:
          break;
      }
      const std::string op = ev.message["op"].get<std::string>();
      if (op == "requestwork" && !handed) {
        hand_over();
      } else if (op == "requestwork") {
        waiting_for_work_ = true;  // the next item is its answer
        return failed("python job type script asked for more work before reporting " + item_text(item));
      } else if (op == "reportwork" && handed) {
        script_->reply(Json{{"ok", true}});
        return reported(ev.message.contains("work") ? ev.message["work"] : Json(), item);
      } else {
        answer_other(op);
      }
    }
  }

  // Tells a script waiting for work that there is none (Qube!'s "complete"),
  // lets it finish (qb.reportjob) for quit_grace, then ends it.
  void stop() override {
    if (!script_) return;
    const OutputSink sink = [](Stream s, std::string_view d) { (s == Stream::err ? std::cerr : std::cout) << d; };
    const auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(config_.app.quit_grace);
    const auto deadline = SteadyClock::now() + grace;
    if (waiting_for_work_) script_->reply(Json{{"work", no_more_work()}});
    waiting_for_work_ = false;
    while (true) {
      const ScriptEvent ev = script_->next(sink, deadline);
      if (ev.kind == ScriptEvent::Kind::exited) break;
      if (ev.kind != ScriptEvent::Kind::message) {
        script_->terminate(grace, sink);
        break;
      }
      const std::string op = ev.message["op"].get<std::string>();
      if (op == "requestwork") script_->reply(Json{{"work", no_more_work()}});
      else answer_other(op);
    }
    script_.reset();
  }

 private:
  // Requests whose answer does not depend on an item.
  void answer_other(const std::string& op) {
    if (op == "jobobj") {
      script_->reply(Json{{"job", job_dict()}});
    } else if (op == "reportjob") {
      // The instance's outcome is its items'; the status is only acknowledged.
      script_->reply(Json{{"ok", true}});
    } else if (op == "reportwork") {
      script_->reply(Json{{"error", "no work to report: qb.requestwork() first"}});
    } else {
      script_->reply(Json{{"error", "unknown request '" + op + "'"}});
    }
  }

  Json job_dict() const {
    return Json{{"id", job_.id},         {"subid", job_.subid},     {"pgrp", job_.pgrp},
                {"name", job_.name},     {"prototype", job_.type},  {"type", job_.type},
                {"user", job_.user},     {"package", job_.package}, {"env", job_.env},
                {"cwd", job_.cwd},       {"padding", job_.padding}, {"host", job_.host},
                {"status", "running"}};
  }

  Json work_dict(const WorkItem& item) const {
    return Json{{"name", item.name},          {"status", "running"}, {"package", item.package},
                {"resultpackage", Json::object()}, {"subid", job_.subid}, {"host", job_.host}};
  }

  // The item as the script reported it: only "complete" completes it.
  WorkResult reported(const Json& work, const WorkItem& item) const {
    WorkResult r;
    const std::string status = work.is_object() && work.contains("status") && work["status"].is_string()
                                   ? work["status"].get<std::string>()
                                   : std::string();
    if (status != "complete") {
      r.status = WorkStatus::failed;
      r.reason = status == "failed" ? "the python job type script reported " + item_text(item) + " failed"
                                    : "the python job type script reported " + item_text(item) + " as '" + status +
                                          "' (only complete and failed end an item)";
    }
    if (work.is_object() && work.contains("resultpackage") && work["resultpackage"].is_object())
      r.resultpackage = work["resultpackage"];
    r.resultpackage.emplace("pid", script_->pid());
    return r;
  }

  WorkResult failed(std::string reason) const {
    WorkResult r;
    r.status = WorkStatus::failed;
    r.reason = std::move(reason);
    if (script_) r.resultpackage["pid"] = script_->pid();
    return r;
  }

  // Fails the item and ends the script; the next item starts it again.
  WorkResult end_script(std::string reason, const OutputSink& sink) {
    script_->terminate(std::chrono::duration_cast<std::chrono::milliseconds>(config_.app.quit_grace), sink);
    WorkResult r = failed(std::move(reason));
    r.exitcode = script_->exitcode();
    r.signal = script_->signal();
    script_.reset();
    waiting_for_work_ = false;
    return r;
  }

  JobInfo job_;
  PythonConfig config_;
  std::unique_ptr<ScriptProcess> script_;
  bool waiting_for_work_ = false;  // a requestwork not answered yet
};

// Every type registered with this module is a Python job type; its yaml says
// which script.
std::unique_ptr<plugin::JobType> create(const std::string&) {
  return std::make_unique<plugin::SimpleJobType<PythonInstance>>();
}

}  // namespace

QUBE_EXPORT_JOBTYPES(create)
