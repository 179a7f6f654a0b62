// qb: inspect and steer the farm. Also answers to Qube's tool names (qbjobs,
// qbhosts, qbkill, qbout, qberr, ...): the same binary, dispatched on argv[0].
// This file is qb's command line; the commands themselves are in
// job_commands.cpp, output.cpp and host_commands.cpp.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "admin_commands.hpp"
#include "exit_codes.hpp"
#include "host_commands.hpp"
#include "job_commands.hpp"
#include "key_commands.hpp"
#include "normalise_options.hpp"
#include "qube/client.hpp"

namespace {

using namespace qube;

using qb::kFailed;
using qb::kUsage;
using qb::UsageError;

// qb's command line: its subcommands, and the values they fill.
struct Cli {
  CLI::App app{"qb: inspect and steer the Qube farm"};
  std::string supervisor;
  qb::JobOptions o;
  CLI::App *jobs = nullptr, *show = nullptr, *out = nullptr, *err = nullptr;
  CLI::App *history = nullptr, *wait = nullptr, *ping = nullptr;
  std::vector<CLI::App*> verbs;  // one for each of qb::job_verbs(), in its order
  std::vector<qb::ModifyField> modify_fields = qb::modify_fields();
  std::vector<CLI::Option*> modify_options;  // one for each of modify_fields
  std::optional<qb::HostCommands> hosts;
  std::optional<qb::KeyCommands> keys;
  std::optional<qb::AdminCommands> admin;
};

// jobs, show, out and err.
void add_reading_commands(Cli& c) {
  qb::JobOptions& o = c.o;
  c.jobs = c.app.add_subcommand("jobs", "list jobs (qbjobs)");
  c.jobs->add_option("ids", o.ids, "job ids (default: all)");
  c.jobs->add_option("--user", o.user, "only this user's jobs");
  c.jobs->add_option("--status", o.status, "only jobs with this status");
  c.jobs->add_option("--name", o.name, "only jobs whose name matches this glob");
  c.jobs->add_option("--pgrp", o.pgrp, "only jobs of this process group");
  c.jobs->add_option("--token", o.token, "only the jobs that the submission with this token made (qbsub --token)");
  c.jobs->add_option("--kind", o.kind, "only jobs of this kind (qbsub --kind)");
  c.jobs->add_option("--account", o.account, "only jobs billed to this account (qbsub --account)");
  c.jobs->add_option("--domain", o.domain, "only jobs of this domain (qbsub --domain)");
  c.show = c.app.add_subcommand("show", "a job with its agenda and instances");
  c.show->add_option("id", o.ref, "job id")->required();
  c.show->add_flag("--failed", o.failed_only, "group the failed attempts by host and by exit code");
  c.show->add_option("--work", o.work, "only items holding frames of this range, e.g. 100-120");
  c.out = c.app.add_subcommand("out", "a job's standard output (qbout)");
  c.err = c.app.add_subcommand("err", "a job's standard error (qberr)");
  for (auto* stream : {c.out, c.err}) {
    stream->add_option("id", o.ref, "ID or ID.SUB")->required();
    stream->add_flag("--follow,-f", o.follow, "with ID.SUB: keep printing as output arrives, until the job ends");
    stream->add_option("--work", o.work, "only the output of this agenda item (its latest attempt), e.g. --work 7");
    stream->add_option("--attempt", o.attempt, "with --work: that attempt (1 is the first)");
  }
}

// The verbs that steer jobs, each with Qube's filters; modify also with its fields.
void add_verb_commands(Cli& c) {
  qb::JobOptions& o = c.o;
  for (const auto& v : qb::job_verbs()) {
    CLI::App* cmd = c.app.add_subcommand(v.name, v.help);
    cmd->add_option("ids", o.ids, "job ids");
    cmd->add_option("--user", o.user, "only jobs of this user");
    cmd->add_option("--name", o.name, "only jobs whose name matches this glob");
    cmd->add_option("--status", o.status, "only jobs with this status");
    cmd->add_option("--pgrp", o.pgrp, "only jobs of this process group");
    if (v.work) cmd->add_option("--work", o.work, "only items holding frames of this range, e.g. 100-120");
    c.verbs.push_back(cmd);
  }
  // --name is modify's field: its name filter is --match-name.
  CLI::App* modify = c.app.get_subcommand("modify");
  modify->remove_option(modify->get_option("--name"));
  modify->add_option("--match-name", o.name, "only jobs whose name matches this glob");
  CLI::App* append = c.app.get_subcommand("append");
  append->add_option("--range", o.range, "frames to add, as qbsub --range: 101-200, 1-100x3");
  append->add_option("--chunk", o.chunk, "frames per new item (default 1)");
  append->add_option("--items", o.items, "item names to add (comma separated)")->delimiter(',');
  for (auto& f : c.modify_fields)
    c.modify_options.push_back(f.kind == qb::ModifyField::no_value ? modify->add_flag(f.flag, f.value, f.help)
                                                               : modify->add_option(f.flag, f.value, f.help));
}

// history, wait, the host commands and ping; then qb's shared options on every subcommand.
void add_other_commands(Cli& c) {
  qb::JobOptions& o = c.o;
  c.history = c.app.add_subcommand("history", "a job's events: submitted, started, failed, modified by whom ...");
  c.history->add_option("id", o.ref, "job id")->required();
  c.wait = c.app.add_subcommand("wait", "wait for jobs to end; exit 0 if all complete");
  c.wait->add_option("ids", o.ids, "job ids")->required();
  c.wait->add_option("--timeout", o.timeout, "give up after this many seconds (exit 1)");
  c.hosts.emplace(c.app, o.json, c.supervisor);
  c.keys.emplace(c.app, o.json);
  c.admin.emplace(c.app, o.json);
  c.ping = c.app.add_subcommand("ping", "is the supervisor there? (qbping)");
  std::vector<CLI::App*> all{c.jobs, c.show, c.out, c.err, c.history, c.wait, c.ping};
  for (auto* h : c.hosts->commands()) all.push_back(h);
  for (auto* k : c.keys->commands()) all.push_back(k);
  for (auto* a : c.admin->commands()) all.push_back(a);
  all.insert(all.end(), c.verbs.begin(), c.verbs.end());
  for (auto* sub : all) {
    sub->add_flag("--json", o.json, "print JSON");
    sub->add_option("--supervisor", c.supervisor, "supervisor client endpoint");
  }
}

// Qube's tool names map onto subcommands; its work tools (qbblockwork
// qbkillwork ...) onto the item verbs, which take their JOB:RANGE arguments.
std::vector<std::string> arguments(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string self = std::filesystem::path(argv[0]).filename().string();
  if (self.size() <= 2 || self.rfind("qb", 0) != 0) return args;
  std::string verb = self.substr(2);
  constexpr std::string_view kWork = "work";
  if (verb.size() > kWork.size() && verb.ends_with(kWork)) {
    const std::string stem = verb.substr(0, verb.size() - kWork.size());
    for (const auto& v : qb::job_verbs())
      if (v.work && stem == v.name) verb = stem;
  }
  args.insert(args.begin(), verb);
  return args;
}

// The exit code when the command line ends qb already (--help, or a mistake).
std::optional<int> parse(Cli& c, int argc, char** argv) {
  try {
    // Qube!'s forms first: qbmodify -priority 5 12, qb modify -pri 5 12.
    auto args = cli::normalise_options(c.app, arguments(argc, argv), cli::Words::arguments);
    std::reverse(args.begin(), args.end());
    c.app.parse(args);
  } catch (const CLI::ParseError& e) {
    return c.app.exit(e) == 0 ? 0 : kUsage;
  } catch (const cli::AmbiguousOption& e) {
    std::cerr << "qb: " << e.what() << "\n";
    return kUsage;
  }
  return std::nullopt;
}

int run_verb(Cli& c, Client& client, std::size_t index) {
  const qb::JobVerb& verb = qb::job_verbs().at(index);
  if (c.verbs[index] != c.app.get_subcommand("modify")) return qb::run_verb(client, verb, c.o, nullptr);
  for (std::size_t f = 0; f < c.modify_fields.size(); ++f)
    c.modify_fields[f].given = c.modify_options[f]->count() > 0;
  return qb::run_verb(client, verb, c.o, &c.modify_fields);
}

// Runs the one subcommand given; returns qb's exit code.
int dispatch(Cli& c, Client& client) {
  if (*c.jobs) return qb::list_jobs(client, c.o);
  if (*c.show) return qb::show_job(client, c.o);
  if (*c.out || *c.err) return qb::print_output(client, c.o, *c.err ? "err" : "out");
  if (*c.history) return qb::show_history(client, c.o);
  if (*c.wait) return qb::wait_for(client, c.o);
  for (std::size_t i = 0; i < c.verbs.size(); ++i)
    if (c.verbs[i]->parsed()) return run_verb(c, client, i);
  if (c.hosts->parsed()) return c.hosts->run(client);
  if (c.keys->parsed()) return c.keys->run(client);
  if (c.admin->parsed()) return c.admin->run(client);
  if (*c.ping) return qb::ping(client, c.o);
  return 0;
}

// A mistake in the options is exit code 2; a failed request, 1.
int run(Cli& c) {
  try {
    if (c.keys->parsed())
      if (auto code = c.keys->run_local()) return *code;
    Client client(resolve_supervisor(c.supervisor));
    return dispatch(c, client);
  } catch (const UsageError& e) {
    std::cerr << "qb: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "qb: " << e.what() << "\n";
    return kFailed;
  }
}

// Large listings (qb jobs --json of 10,000 jobs is 11 MB of text) spent a third
// of their time in page faults on fresh heap memory (perf, docs/performance.md).
// glibc's malloc backs its heap with transparent huge pages when asked, but reads
// that setting only from the environment at start-up: qb sets it and starts
// itself again, once. If the exec fails, qb simply goes on as it is.
void use_huge_pages_for_malloc(char** argv) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.hugetlb")) return;
  const std::string value = (tunables && *tunables ? std::string(tunables) + ":" : std::string()) +
                            "glibc.malloc.hugetlb=1";
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) == 0) execv("/proc/self/exe", argv);
}

}  // namespace

int main(int argc, char** argv) {
  use_huge_pages_for_malloc(argv);
  Cli cli;
  cli.app.require_subcommand(1);
  cli.app.add_option("--supervisor", cli.supervisor, "supervisor client endpoint (default: $QB_SUPERVISOR)");
  add_reading_commands(cli);
  add_verb_commands(cli);
  add_other_commands(cli);
  if (auto code = parse(cli, argc, argv)) return *code;
  return run(cli);
}
