// qbsub: submit a job. `qbsub [options] command args...`
// Prints each new job's id alone on a line (or JSON with --json).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "qube/client.hpp"
#include "qube/dependency.hpp"
#include "qube/jobfile.hpp"
#include "qube/process.hpp"
#include "qube/validate.hpp"
#include "qube/wait.hpp"
#include "qube/yaml_json.hpp"

namespace {

constexpr int kUsage = 2;
constexpr int kFailed = 1;

// Submits the jobs (all or none), prints their ids, and with --waiton waits.
int send_jobs(qube::Client& client, const qube::Json& jobs, const std::string& submitter, bool json, bool waiton) {
  using namespace qube;
  const Json reply = client.request("submit", Json{{"jobs", jobs}, {"user", submitter}});
  for (const auto& w : get_array(reply, "warnings")) std::cerr << "qbsub: warning: " << w.get<std::string>() << "\n";
  std::vector<JobId> ids;
  for (const auto& id : get_array(reply, "ids")) ids.push_back(id.get<JobId>());
  if (json) {
    const Json listed = client.request("jobs", Json{{"ids", ids}});
    std::cout << get_array(listed, "jobs").dump(2) << std::endl;
  } else {
    for (JobId id : ids) std::cout << id << std::endl;
  }
  if (!waiton) return 0;
  WaitOptions options;
  options.progress_bar = isatty(STDERR_FILENO);
  options.quiet = json;
  return wait_for_jobs(client, ids, std::cerr, options) ? 0 : kFailed;
}

// qbsub --file: a Qube pipeline or an HQueue job spec, as one process group.
int submit_file(const std::string& path, const std::string& submitter, const std::string& for_user, long long parent,
                const std::string& supervisor, bool json, bool waiton) {
  using namespace qube;
  std::ifstream in(path);
  if (!in) {
    std::cerr << "qbsub: cannot read " << path << "\n";
    return kUsage;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Json jobs = Json::array();
  try {
    const JobFile parsed = parse_job_file(text);
    for (std::size_t n = 0; n < parsed.jobs.size(); ++n) {
      JobSpec spec = parsed.jobs[n].spec;
      if (!for_user.empty()) spec.user = for_user;
      if (spec.user.empty()) spec.user = submitter;
      if (auto errors = validate(spec); !errors.empty()) {
        std::cerr << "qbsub: " << path << ": job " << n + 1 << " ('" << spec.name << "'): " << errors[0] << "\n";
        return kUsage;
      }
      Json job = to_json(spec);
      if (!parsed.jobs[n].parent_label.empty()) job["parent_label"] = parsed.jobs[n].parent_label;
      else if (parent > 0) job["pid"] = parent;
      jobs.push_back(std::move(job));
    }
  } catch (const std::exception& e) {
    std::cerr << "qbsub: " << path << ": " << e.what() << "\n";
    return kUsage;
  }
  try {
    Client client(resolve_supervisor(supervisor));
    return send_jobs(client, jobs, submitter, json, waiton);
  } catch (const std::exception& e) {
    std::cerr << "qbsub: " << e.what() << "\n";
    return kFailed;
  }
}

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
  // Placement (docs/placement.md): lists are comma separated.
  app.add_option("--hosts", spec.hosts, "run only on these hosts (a,b)")->delimiter(',')->allow_extra_args(false);
  app.add_option("--omithosts", spec.omithosts, "never run on these hosts")->delimiter(',')->allow_extra_args(false);
  app.add_option("--groups", spec.groups, "run only on hosts in one of these groups")->delimiter(',')->allow_extra_args(false);
  app.add_option("--omitgroups", spec.omitgroups, "never run on hosts in these groups")->delimiter(',')->allow_extra_args(false);
  app.add_option("--service,--services", spec.services, "the host must offer all of these (maya2024,gpu)")
      ->delimiter(',')->allow_extra_args(false);
  app.add_option("--requirements", spec.requirements, "expression over host.* and job.*: 'host.os == linux && host.memory >= 16000'");
  app.add_option("--reservations", spec.reservations, "what an instance holds: host.processors=4,host.memory=8000,license.nuke=1");
  app.add_option("--restrictions", spec.restrictions, "clusters it may run in: /show/seq, /show/*, /show/+");
  app.add_option("--cluster", spec.cluster, "the job's cluster (default /)");
  app.add_option("--flags", spec.flags, "job flags: uninterruptible")->delimiter(',')->allow_extra_args(false);
  app.add_option("--tags", spec.tags, "HQueue exclusivity: single (alone on its host), single:<class>")
      ->delimiter(',')->allow_extra_args(false);
  app.add_option("--max_cpus", spec.max_cpus, "grow into idle slots up to this many instances");
  std::string for_user;
  app.add_option("--user", for_user, "submit on behalf of this user (admins only)");
  app.add_option("--description", spec.description, "free text shown with the job");
  std::vector<std::string> callbacks, mail;
  std::vector<long long> waitfor;
  std::string file;
  long long parent = -1;
  app.add_option("--dependency", spec.dependency,
                 "wait for other jobs: link-<complete|done|failed|killed>-<job|work|subjob>-<id|label>, comma = AND");
  app.add_option("--waitfor", waitfor, "wait until job ID has ended (link-done-job-ID); repeatable")
      ->allow_extra_args(false);
  app.add_option("--callback", callbacks, "'TRIGGERS:LANGUAGE:CODE', e.g. 'complete-job-self:shell:touch done' (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--mail", mail, "mail ADDRESS when the job ends (repeatable)")->allow_extra_args(false);
  app.add_option("--file", file, "submit the jobs of a job file (Qube pipeline YAML/JSON or an HQueue job spec)");
  app.add_option("--pid", parent, "make the job a child of job ID (default: $QBJOBID inside a running job)");
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
  for (long long id : waitfor) {
    if (id < 1) return usage("--waitfor needs a job id");
    spec.dependency += (spec.dependency.empty() ? "" : ",") + waitfor_dependency(static_cast<JobId>(id));
  }
  for (const auto& cb : callbacks) {
    const auto first = cb.find(':');
    const auto second = first == std::string::npos ? std::string::npos : cb.find(':', first + 1);
    if (second == std::string::npos) return usage("--callback needs TRIGGERS:LANGUAGE:CODE, got '" + cb + "'");
    spec.callbacks.push_back(Callback{cb.substr(0, first), cb.substr(first + 1, second - first - 1), cb.substr(second + 1)});
  }
  if (!mail.empty()) {
    std::string to;
    for (const auto& m : mail) to += (to.empty() ? "" : ",") + m;
    spec.mail = mail;
    spec.callbacks.push_back(Callback{"done-job-self", "mail", to});
  }
  if (parent < 0)
    if (const char* inside = std::getenv("QBJOBID"); inside && *inside) parent = std::atoll(inside);
  const std::string submitter = current_user();
  if (!file.empty()) return submit_file(file, submitter, for_user, parent, supervisor, json, waiton);
  if ((spec.type == "cmdline" || spec.type == "cmdrange") && command.empty() &&
      !spec.package.contains("cmdline"))
    return usage("no command given (usage: qbsub [options] command args...)");
  spec.user = for_user.empty() ? submitter : for_user;
  if (!spec.cwd.empty()) spec.cwd = std::filesystem::absolute(spec.cwd).string();
  if (auto errors = validate(spec); !errors.empty()) {
    for (const auto& e : errors) std::cerr << "qbsub: " << e << "\n";
    return kUsage;
  }

  try {
    Client client(resolve_supervisor(supervisor));
    Json job = to_json(spec);
    if (parent > 0) job["pid"] = parent;
    return send_jobs(client, Json::array({job}), submitter, json, waiton);
  } catch (const std::exception& e) {
    std::cerr << "qbsub: " << e.what() << "\n";
    return kFailed;
  }
}
