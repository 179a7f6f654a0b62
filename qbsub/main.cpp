// qbsub: submit a job. `qbsub [options] command args...`
// Prints each new job's id alone on a line (or JSON with --json).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "qube/client.hpp"
#include "qube/process.hpp"
#include "qube/validate.hpp"
#include "qube/wait.hpp"
#include "qube/yaml_json.hpp"

namespace {

constexpr int kUsage = 2;
constexpr int kFailed = 1;

}  // namespace

int main(int argc, char** argv) {
  using namespace qube;
  CLI::App app{"qbsub: submit a job to the Qube farm\n\n"
               "  qbsub echo hi                      run a command once\n"
               "  qbsub --range 1-100 --chunk 5 render -s QB_FRAME_START -e QB_FRAME_END\n"};
  JobSpec spec;
  std::string package_text, status, supervisor;
  std::vector<std::string> env;
  bool json = false, waiton = false;
  std::string type;
  app.add_option("--name", spec.name, "job name (default: the command)");
  app.add_option("--priority", spec.priority, "1 (most urgent) to 9999 (default 9999)");
  app.add_option("--cpus", spec.cpus, "instances to run at once (default 1)");
  app.add_option("--range", spec.range, "frame range: 1-100, 1-100x3, 1,3,5, -10--1");
  app.add_option("--chunk", spec.chunk, "frames per agenda item (default 1)");
  app.add_option("--partitions", spec.partitions, "split the range into this many agenda items");
  app.add_option("--padding", spec.padding, "zero-pad substituted frame numbers to N digits");
  app.add_option("--type", type, "job type (default: cmdrange with --range, else cmdline)");
  app.add_option("--package", package_text, "package for the job type: a YAML or JSON map");
  app.add_option("--env", env, "environment variable K=V for the job's processes (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--status", status, "initial status: 'blocked' holds the job until unblocked");
  app.add_option("--retrywork", spec.retrywork, "run a failed agenda item again up to N times");
  app.add_option("--retryworkdelay", spec.retryworkdelay, "seconds to wait before such a retry");
  app.add_option("--timelimit", spec.timelimit, "seconds the job may run before it is killed and failed");
  app.add_option("--agendatimelimit", spec.agendatimelimit, "seconds one agenda item may run before it is killed and failed");
  app.add_option("--label", spec.label, "label naming the job within its process group");
  app.add_option("--cwd", spec.cwd, "working directory of the job's processes (default: the worker's)");
  app.add_option("--retrysubjob", spec.retrysubjob, "start an instance that dies again, up to N times");
  app.add_flag("--retrydifferenthost", spec.retrydifferenthost, "a retried item avoids the hosts it failed on");
  std::string for_user;
  app.add_option("--user", for_user, "submit on behalf of this user (admins only)");
  app.add_option("--description", spec.description, "free text shown with the job");
  app.add_option("--supervisor", supervisor, "supervisor client endpoint (default: $QB_SUPERVISOR)");
  app.add_flag("--json", json, "print the submitted jobs as JSON");
  app.add_flag("--waiton", waiton, "wait until the job ends; exit 0 if complete, 1 if failed or killed");
  app.prefix_command();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsage;
  }
  const std::vector<std::string> command = app.remaining();
  // prefix_command() stops at the first argument it does not know; one that looks
  // like an option is a mistyped option, unless the user separated with "--".
  const bool separated = std::find(argv + 1, argv + argc, std::string("--")) != argv + argc;
  if (!command.empty() && command[0].size() > 1 && command[0][0] == '-' && !separated) {
    std::cerr << "qbsub: unknown option '" << command[0] << "' (put '--' before a command that starts with '-')\n";
    return kUsage;
  }

  auto usage = [&](const std::string& msg) {
    std::cerr << "qbsub: " << msg << "\n";
    return kUsage;
  };
  try {
    if (!package_text.empty()) {
      spec.package = parse_yaml(package_text);
      if (!spec.package.is_object()) return usage("--package must be a map, e.g. '{scenefile: shot.blend}'");
    }
  } catch (const std::exception& e) {
    return usage(std::string("--package is not valid YAML or JSON: ") + e.what());
  }
  if (!command.empty()) spec.package["cmdline"] = shell_join(command);
  spec.type = !type.empty() ? type : spec.range.empty() ? "cmdline" : "cmdrange";
  if (spec.name.empty()) spec.name = command.empty() ? spec.type : command[0];
  if (!status.empty()) {
    if (status != "blocked" && status != "pending") return usage("--status must be 'blocked' or 'pending'");
    spec.blocked = status == "blocked";
  }
  for (const auto& kv : env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return usage("--env needs K=V, got '" + kv + "'");
    spec.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if ((spec.type == "cmdline" || spec.type == "cmdrange") && command.empty() &&
      !spec.package.contains("cmdline"))
    return usage("no command given (usage: qbsub [options] command args...)");
  const std::string submitter = current_user();
  spec.user = for_user.empty() ? submitter : for_user;
  if (!spec.cwd.empty()) spec.cwd = std::filesystem::absolute(spec.cwd).string();
  if (auto errors = validate(spec); !errors.empty()) {
    for (const auto& e : errors) std::cerr << "qbsub: " << e << "\n";
    return kUsage;
  }

  try {
    Client client(resolve_supervisor(supervisor));
    const Json reply = client.request("submit", Json{{"jobs", Json::array({to_json(spec)})}, {"user", submitter}});
    for (const auto& w : get_array(reply, "warnings")) std::cerr << "qbsub: warning: " << w.get<std::string>() << "\n";
    std::vector<JobId> ids;
    for (const auto& id : get_array(reply, "ids")) ids.push_back(id.get<JobId>());
    if (json) {
      const Json jobs = client.request("jobs", Json{{"ids", ids}});
      std::cout << get_array(jobs, "jobs").dump(2) << std::endl;
    } else {
      for (JobId id : ids) std::cout << id << std::endl;
    }
    if (waiton) {
      WaitOptions options;
      options.progress_bar = isatty(STDERR_FILENO);
      options.quiet = json;
      return wait_for_jobs(client, ids, std::cerr, options) ? 0 : kFailed;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "qbsub: " << e.what() << "\n";
    return kFailed;
  }
}
