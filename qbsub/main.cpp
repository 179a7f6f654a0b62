// qbsub: submit a job. `qbsub [options] command args...`
// Prints each new job's id alone on a line (or JSON with --json).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include <CLI/CLI.hpp>

#include "job_archive.hpp"
#include "normalise_options.hpp"
#include "options.hpp"
#include "preview_split.hpp"
#include "qube/client.hpp"
#include "qube/dependency.hpp"
#include "qube/jobfile.hpp"
#include "qube/process.hpp"
#include "qube/validate.hpp"
#include "qube/wait.hpp"
#include "qube/yaml_json.hpp"

namespace {

using namespace qube;
using qbsub::OptionSpec;
using qbsub::Submission;
using qbsub::split_preview;
using qbsub::read_job_archive;
using qbsub::write_job_archive;

constexpr int kUsage = 2;
constexpr int kFailed = 1;

// A mistake on qbsub's command line: printed as "qbsub: <what>", exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The options to CLI11: an option, a flag for a bool, a repeatable or comma list.
void add_options(CLI::App& app, const std::vector<OptionSpec>& options) {
  for (const auto& o : options) {
    CLI::Option* option = std::visit(
        [&](auto* target) {
          if constexpr (std::is_same_v<decltype(target), bool*>) return app.add_flag(o.names, *target, o.help);
          else return app.add_option(o.names, *target, o.help);
        },
        o.target);
    if (o.shape == OptionSpec::comma_list) option->delimiter(',');
    if (o.shape != OptionSpec::one) option->allow_extra_args(false);
  }
}

// 128 random bits in hex, naming one submission.
std::string random_token() {
  std::random_device bits;  // /dev/urandom
  std::string token;
  for (int i = 0; i < 4; ++i) {
    char word[9];
    std::snprintf(word, sizeof word, "%08x", static_cast<unsigned>(bits()));
    token += word;
  }
  return token;
}

// Sends the submission. With no answer, sends it once more: that is safe
// because of the token (the supervisor answers a submission it already made with
// the same ids), and it rescues a reply lost while the supervisor was busy.
Json send_submission(Client& client, const Json& body) {
  const std::string token = body.at("token").get<std::string>();
  for (int tries = 1;; ++tries) {
    try {
      return client.request_stored("submit", body);
    } catch (const ClientNoAnswer& e) {
      if (tries == 2)
        throw ClientError(std::string(e.what()) + "; the job may have been submitted all the same: `qb jobs --token " +
                          token + "` lists it");
      std::cerr << "qbsub: " << e.what() << "; asking again (token " << token << ")\n";
    }
  }
}

// Submits the jobs (all or none), prints their ids, and with --waiton waits.
int send_jobs(Client& client, const Json& jobs, const std::string& submitter, const std::string& token, bool json,
              bool waiton) {
  const Json reply = send_submission(client, Json{{"jobs", jobs}, {"user", submitter}, {"token", token}});
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

// Connects and sends: a supervisor that cannot be reached, or refuses, is exit code 1.
int submit(const Submission& s, const Json& jobs, const std::string& submitter) {
  try {
    Client client(resolve_supervisor(s.supervisor));
    return send_jobs(client, jobs, submitter, s.token.empty() ? random_token() : s.token, s.json, s.waiton);
  } catch (const std::exception& e) {
    std::cerr << "qbsub: " << e.what() << "\n";
    return kFailed;
  }
}

// How a job joins the farm: under a parent (a job of the same file by label, or
// an existing job), and in an existing process group (--pgrp).
void add_family(Json& job, const Submission& s, const std::string& parent_label) {
  if (!parent_label.empty()) job["parent_label"] = parent_label;
  else if (s.parent > 0) job["pid"] = s.parent;
  if (s.pgrp > 0) job["pgrp"] = s.pgrp;
}

// The jobs of a job file, each with its submitter and parent; the first invalid
// one is a UsageError naming it.
Json jobs_of_file(const std::string& text, const Submission& s, const std::string& submitter) {
  const JobFile parsed = parse_job_file(text);
  Json jobs = Json::array();
  for (std::size_t n = 0; n < parsed.jobs.size(); ++n) {
    JobSpec spec = parsed.jobs[n].spec;
    if (!s.for_user.empty()) spec.user = s.for_user;
    if (spec.user.empty()) spec.user = submitter;
    if (auto errors = validate(spec); !errors.empty())
      throw UsageError(s.file + ": job " + std::to_string(n + 1) + " ('" + spec.name + "'): " + errors[0]);
    Json job = to_json(spec);
    add_family(job, s, parsed.jobs[n].parent_label);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

// qbsub --file: a Qube pipeline or an HQueue job spec, as one process group.
Json file_jobs(const Submission& s, const std::string& submitter) {
  std::ifstream in(s.file);
  if (!in) throw UsageError("cannot read " + s.file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return jobs_of_file(text, s, submitter);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError(s.file + ": " + e.what());
  }
}

// prefix_command() stops at the first argument it does not know; one that looks
// like an option is a mistyped option, unless the user separated with "--".
// A leading "--" (which CLI11 leaves in the command) only separates; a command
// that is empty or blank is a mistake, not a job that fails with exit 127.
std::vector<std::string> checked_command(std::vector<std::string> command, const std::vector<std::string>& args) {
  const bool separated = std::find(args.begin(), args.end(), std::string("--")) != args.end();
  if (!command.empty() && command[0].size() > 1 && command[0][0] == '-' && command[0] != "--" && !separated)
    throw UsageError("unknown option '" + command[0] + "' (put '--' before a command that starts with '-')");
  if (separated && !command.empty() && command[0] == "--") command.erase(command.begin());
  if (!command.empty() && command[0].find_first_not_of(" \t\n") == std::string::npos)
    throw UsageError("the command is empty (usage: qbsub [options] command args...)");
  return command;
}

void read_package(Submission& s) {
  if (s.package_text.empty()) return;
  try {
    s.spec.package = parse_yaml(s.package_text);
  } catch (const std::exception& e) {
    throw UsageError(std::string("--package is not valid YAML or JSON: ") + e.what());
  }
  if (!s.spec.package.is_object()) throw UsageError("--package must be a map, e.g. '{scenefile: shot.blend}'");
}

// The command, type, name and status the job gets from the command line.
void apply_command(Submission& s) {
  JobSpec& spec = s.spec;
  const std::vector<std::string>& command = s.command;
  if (!command.empty()) spec.package["cmdline"] = shell_join(command);
  spec.type = !s.type.empty() ? s.type : spec.range.empty() ? "cmdline" : "cmdrange";
  if (spec.name.empty()) spec.name = command.empty() ? spec.type : command[0];
  if (!s.status.empty()) {
    if (s.status != "blocked" && s.status != "pending") throw UsageError("--status must be 'blocked' or 'pending'");
    spec.blocked = s.status == "blocked";
  }
}

bool has_flag(const JobSpec& spec, const std::string& flag) {
  return std::find(spec.flags.begin(), spec.flags.end(), flag) != spec.flags.end();
}

void apply_env_and_waitfor(Submission& s) {
  for (const auto& kv : s.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--env needs K=V, got '" + kv + "'");
    s.spec.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // Qube!'s export_environment: qbsub's environment, under what --env (or an
  // imported job) set. Names a shell cannot export (BASH_FUNC_x%%) stay behind.
  if (has_flag(s.spec, "export_environment"))
    for (auto& [name, value] : current_environment())
      if (is_valid_env_name(name)) s.spec.env.emplace(name, std::move(value));
  for (long long id : s.waitfor) {
    if (id < 1) throw UsageError("--waitfor needs a job id");
    s.spec.dependency += (s.spec.dependency.empty() ? "" : ",") + waitfor_dependency(static_cast<JobId>(id));
  }
}

std::string comma_joined(const std::vector<std::string>& words) {
  std::string joined;
  for (const auto& w : words) joined += (joined.empty() ? "" : ",") + w;
  return joined;
}

void apply_callbacks_and_mail(Submission& s) {
  for (const auto& cb : s.callbacks) {
    const auto first = cb.find(':');
    const auto second = first == std::string::npos ? std::string::npos : cb.find(':', first + 1);
    if (second == std::string::npos) throw UsageError("--callback needs TRIGGERS:LANGUAGE:CODE, got '" + cb + "'");
    s.spec.callbacks.push_back(
        Callback{cb.substr(0, first), cb.substr(first + 1, second - first - 1), cb.substr(second + 1)});
  }
  std::vector<std::string> to = s.mail;
  to.insert(to.end(), s.addresses.begin(), s.addresses.end());
  if (to.empty()) return;
  // New addresses replace an imported job's, and its mail callback with them.
  const Callback before{"done-job-self", "mail", comma_joined(s.spec.mail)};
  std::erase_if(s.spec.callbacks, [&](const Callback& c) {
    return c.triggers == before.triggers && c.language == before.language && c.code == before.code;
  });
  s.spec.mail = to;
  s.spec.callbacks.push_back(Callback{"done-job-self", "mail", comma_joined(to)});
}

// The job of a command line, checked (two with a preview job of its own); every
// problem is a line of the UsageError.
Json command_jobs(Submission& s, const std::string& submitter) {
  JobSpec& spec = s.spec;
  if (s.reverse && s.binary) throw UsageError("--reverse and --binary: give one order");
  if (s.reverse) spec.order = "reverse";
  if (s.binary) spec.order = "binary";
  if (!spec.preview.empty() && !has_flag(spec, "p_agenda")) spec.flags.push_back("p_agenda");
  if (s.p_priority < 0 || s.p_cpus < 0) throw UsageError("--p_priority and --p_cpus must be positive");
  if ((spec.type == "cmdline" || spec.type == "cmdrange") && s.command.empty() && !spec.package.contains("cmdline"))
    throw UsageError("no command given (usage: qbsub [options] command args...)");
  spec.user = s.for_user.empty() ? submitter : s.for_user;
  if (!spec.cwd.empty()) spec.cwd = std::filesystem::absolute(spec.cwd).string();
  if (auto errors = validate(spec); !errors.empty()) {
    std::string all = errors[0];
    for (std::size_t n = 1; n < errors.size(); ++n) all += "\nqbsub: " + errors[n];
    throw UsageError(all);
  }
  Json jobs = Json::array();
  for (const JobSpec& part : split_preview(spec, s.p_priority, s.p_cpus)) {
    Json job = to_json(part);
    add_family(job, s, s.parent_label);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

// The options turned into the job: package, command, environment, callbacks, parent.
void apply_options(Submission& s) {
  read_package(s);
  apply_command(s);
  apply_env_and_waitfor(s);
  apply_callbacks_and_mail(s);
  if (s.pgrp < 0) throw UsageError("--pgrp needs a process group id");
  if (s.parent < 0)
    if (const char* inside = std::getenv("QBJOBID"); inside && *inside) s.parent = std::atoll(inside);
}

// Everything after parsing: the jobs built from the options (one for each
// imported job, or those of --file, or the command line's), then submitted or
// exported. Options that concern the submission itself come from the first.
int run(std::vector<Submission>& submissions) {
  const std::string submitter = current_user();
  Json jobs = Json::array();
  for (Submission& s : submissions) {
    apply_options(s);
    if (!s.file.empty()) jobs = file_jobs(s, submitter);
    else
      for (auto& job : command_jobs(s, submitter)) jobs.push_back(std::move(job));
  }
  const Submission& first = submissions.front();
  if (first.export_file.empty()) return submit(first, jobs, submitter);
  try {
    write_job_archive(first.export_file, jobs);
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  return 0;
}

// One reading of the command line into `s`: Qube!'s forms (-priority, -pri)
// written out, then CLI11. An exit code if that ends qbsub (--help, a mistake).
std::optional<int> read_command_line(Submission& s, const std::vector<std::string>& args) {
  CLI::App app{"qbsub: submit a job to the Qube farm\n\n"
               "  qbsub echo hi                      run a command once\n"
               "  qbsub --range 1-100 --chunk 5 render -s QB_FRAME_START -e QB_FRAME_END\n"
               "Options may be written with one dash and abbreviated: qbsub -pri 10 -cl /show ...\n"};
  add_options(app, option_specs(s));
  app.prefix_command();
  std::vector<std::string> words;
  try {
    words = cli::normalise_options(app, args, cli::Words::end_options);
  } catch (const cli::AmbiguousOption& e) {
    throw UsageError(e.what());
  }
  try {
    std::vector<std::string> reversed(words.rbegin(), words.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsage;
  }
  s.command = checked_command(app.remaining(), words);
  return std::nullopt;
}

// An imported job as the starting point of a submission: the command line is
// read over it, so that its options replace the job's values. The job becomes
// the importer's (or --user's).
Submission starting_from(const Json& job) {
  Submission s;
  try {
    s.spec = spec_from_json(job);
  } catch (const std::exception& e) {
    throw UsageError("--import: " + std::string(e.what()));
  }
  s.spec.user.clear();
  s.type = s.spec.type;
  if (job.contains("pid")) s.parent = get_int(job, "pid");
  s.pgrp = get_int(job, "pgrp");
  s.parent_label = get_string(job, "parent_label");
  return s;
}

// --import FILE: one submission for each job of the file, each read over by the
// same command line.
std::vector<Submission> imported(const Submission& first, const std::vector<std::string>& args) {
  if (!first.file.empty()) throw UsageError("--import and --file cannot be combined");
  Json jobs;
  try {
    jobs = read_job_archive(first.import_file);
  } catch (const std::exception& e) {
    throw UsageError(std::string("--import ") + e.what());
  }
  std::vector<Submission> submissions;
  for (const Json& job : jobs) {
    Submission s = starting_from(job);
    read_command_line(s, args);  // read once already: neither --help nor a mistake
    submissions.push_back(std::move(s));
  }
  return submissions;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    std::vector<Submission> submissions(1);
    if (auto code = read_command_line(submissions.front(), args)) return *code;
    if (!submissions.front().import_file.empty()) submissions = imported(submissions.front(), args);
    return run(submissions);
  } catch (const UsageError& e) {
    std::cerr << "qbsub: " << e.what() << "\n";
    return kUsage;
  }
}
