// qb: inspect and steer the farm. Also answers to Qube's tool names (qbjobs,
// qbhosts, qbkill, qbout, qberr, ...): the same binary, dispatched on argv[0].
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "format.hpp"
#include "host_commands.hpp"
#include "qube/client.hpp"
#include "qube/wait.hpp"

namespace {

using namespace qube;

constexpr int kFailed = 1;
constexpr int kUsage = 2;

using qb::UsageError;

// "12" -> {12, -1}; "12.3" -> {12, 3}.
std::pair<JobId, int> parse_job_ref(const std::string& text, bool allow_sub) {
  const auto dot = text.find('.');
  auto number = [&](const std::string& s) -> long long {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("'" + text + "' is not a job id" + (allow_sub ? " (ID or ID.SUB)" : ""));
    return std::stoll(s);
  };
  if (dot != std::string::npos && !allow_sub) throw UsageError("'" + text + "' is not a job id");
  const long long id = number(text.substr(0, dot));
  if (id < 1) throw UsageError("job ids start at 1");
  const int sub = dot == std::string::npos ? -1 : static_cast<int>(number(text.substr(dot + 1)));
  return {static_cast<JobId>(id), sub};
}

std::vector<JobId> parse_ids(const std::vector<std::string>& texts) {
  std::vector<JobId> ids;
  for (const auto& t : texts) ids.push_back(parse_job_ref(t, false).first);
  return ids;
}

// Prints an instance's output as it grows, like tail -f, until its job ends.
bool follow_output(Client& client, Json body) {
  std::uint64_t offset = 0;
  while (true) {
    body["offset"] = offset;
    const Json reply = client.request("output", body);
    const auto parsed = parse_job_status(get_string(reply, "status"));
    std::size_t got = 0;
    for (const auto& p : get_array(reply, "parts")) {
      const auto& bin = p.at("data").get_binary();
      std::cout.write(reinterpret_cast<const char*>(bin.data()), static_cast<std::streamsize>(bin.size()));
      got += bin.size();
    }
    std::cout.flush();
    offset += got;
    // The job's end is read before its output, so once it has ended, an empty
    // read means everything has been printed.
    if (got == 0 && parsed && is_terminal(*parsed)) return true;
    if (got == 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// The supervisor sends at most a slice (4 MiB) of a log per request. A part that
// came short of its size is read on from where it ended, so that `qb out` prints a
// long render log whole. (The size is the one first reported: a log still growing
// is printed as it was then, as `cat` would.)
void read_rest_of_part(Client& client, Json body, Json& part) {
  auto& data = part.at("data").get_binary();
  const auto size = static_cast<std::uint64_t>(get_int(part, "size"));
  if (!body.contains("work")) body["subid"] = get_int(part, "subid");
  while (data.size() < size) {
    body["offset"] = data.size();
    const Json more = client.request("output", body);
    const auto& parts = get_array(more, "parts");
    if (parts.empty()) break;
    const auto& chunk = parts.at(0).at("data").get_binary();
    if (chunk.empty()) break;  // nothing more after all (the job was removed meanwhile)
    data.insert(data.end(), chunk.begin(), chunk.end());
  }
}

// qb modify's fields: each option given becomes one field of the request's `set`.
struct ModifyField {
  const char* flag;
  const char* key;
  const char* help;
  enum Kind { integer, number, text, list, boolean } kind;
  std::string value{};
  CLI::Option* option = nullptr;
};

Json modify_request(const std::vector<ModifyField>& fields) {
  Json set = Json::object();
  for (const auto& f : fields) {
    if (!f.option || f.option->count() == 0) continue;
    try {
      switch (f.kind) {
        case ModifyField::integer: set[f.key] = std::stoll(f.value); break;
        case ModifyField::number: set[f.key] = std::stod(f.value); break;
        case ModifyField::text: set[f.key] = f.value; break;
        case ModifyField::boolean: set[f.key] = f.value == "1" || f.value == "true" || f.value == "yes"; break;
        case ModifyField::list: {
          Json list = Json::array();
          std::size_t start = 0;
          while (start <= f.value.size()) {
            const auto comma = f.value.find(',', start);
            const std::string part = f.value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            if (!part.empty()) list.push_back(part);
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
          set[f.key] = list;
          break;
        }
      }
    } catch (const std::logic_error&) {
      throw UsageError(std::string(f.flag) + ": '" + f.value + "' is not a number");
    }
  }
  if (set.empty()) throw UsageError("modify: nothing to change (e.g. --priority 10)");
  return set;
}

// Qube's tool names map onto subcommands.
std::vector<std::string> arguments(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string self = std::filesystem::path(argv[0]).filename().string();
  if (self.size() > 2 && self.rfind("qb", 0) == 0) args.insert(args.begin(), self.substr(2));
  return args;
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
  CLI::App app{"qb: inspect and steer the Qube farm"};
  app.require_subcommand(1);
  std::string supervisor;
  bool json = false;
  app.add_option("--supervisor", supervisor, "supervisor client endpoint (default: $QB_SUPERVISOR)");

  std::vector<std::string> ids;
  std::string user, status, ref, work, f_name;
  long long f_pgrp = 0;
  double timeout = 0;

  auto* jobs = app.add_subcommand("jobs", "list jobs (qbjobs)");
  jobs->add_option("ids", ids, "job ids (default: all)");
  jobs->add_option("--user", user, "only this user's jobs");
  jobs->add_option("--status", status, "only jobs with this status");
  jobs->add_option("--name", f_name, "only jobs whose name matches this glob");
  jobs->add_option("--pgrp", f_pgrp, "only jobs of this process group");
  auto* show = app.add_subcommand("show", "a job with its agenda and instances");
  show->add_option("id", ref, "job id")->required();
  bool follow = false;
  long long attempt = 0;
  auto* out = app.add_subcommand("out", "a job's standard output (qbout)");
  auto* err = app.add_subcommand("err", "a job's standard error (qberr)");
  for (auto* stream : {out, err}) {
    stream->add_option("id", ref, "ID or ID.SUB")->required();
    stream->add_flag("--follow,-f", follow, "with ID.SUB: keep printing as output arrives, until the job ends");
    stream->add_option("--work", work, "only the output of this agenda item (its latest attempt), e.g. --work 7");
    stream->add_option("--attempt", attempt, "with --work: that attempt (1 is the first)");
  }
  // Verbs that steer jobs: ids and/or Qube's filters, e.g. "kill all my pending
  // jobs": qb kill --user me --status pending. One request per verb; the reply
  // lists the jobs acted on and the errors.
  struct JobVerb {
    const char* name;
    const char* done;  // the reply's key, and the word printed
    const char* help;
    bool work = false;  // takes --work RANGE (item verbs)
    CLI::App* cmd = nullptr;
  };
  std::vector<JobVerb> verbs = {
      {"kill", "killed", "kill jobs: running work is killed (qbkill)"},
      {"block", "blocked", "hold jobs: running work goes back to pending (qbblock)"},
      {"unblock", "unblocked", "release blocked jobs (qbunblock)"},
      {"suspend", "suspended", "stop running processes where they are (SIGSTOP); slots stay held"},
      {"resume", "resumed", "continue suspended jobs (SIGCONT)"},
      {"interrupt", "interrupted", "kill running work now; its items go back to pending"},
      {"remove", "removed", "forget ended jobs and their logs (qbremove)"},
      {"top", "moved", "run first among jobs of the same priority"},
      {"bottom", "moved", "run last among jobs of the same priority"},
      {"modify", "modified", "change jobs while they live (qbmodify)"},
      {"retry", "retried", "failed and killed items back to pending (qbretry)", true},
      {"requeue", "requeued", "like retry, but the job is held blocked so it can be modified first", true},
      {"complete", "completed", "mark items done without running them (OpenCue's eat frames)", true},
      {"satisfy", "satisfied", "release jobs' dependencies by hand: they run now"},
  };
  std::vector<ModifyField> modify_fields = {
      {"--priority", "priority", "1 (most urgent) to 9999", ModifyField::integer},
      {"--cpus", "cpus", "instances to run at once", ModifyField::integer},
      {"--max_cpus", "max_cpus", "may grow into idle slots up to this many instances", ModifyField::integer},
      {"--name", "name", "job name", ModifyField::text},
      {"--retrywork", "retrywork", "retries of a failed item", ModifyField::integer},
      {"--retryworkdelay", "retryworkdelay", "seconds before such a retry", ModifyField::number},
      {"--retrysubjob", "retrysubjob", "retries of an instance that dies", ModifyField::integer},
      {"--timelimit", "timelimit", "seconds the job may run", ModifyField::number},
      {"--agendatimelimit", "agendatimelimit", "seconds one item may run", ModifyField::number},
      {"--hosts", "hosts", "only these hosts (comma separated)", ModifyField::list},
      {"--omithosts", "omithosts", "never these hosts", ModifyField::list},
      {"--groups", "groups", "only hosts in these groups", ModifyField::list},
      {"--omitgroups", "omitgroups", "never hosts in these groups", ModifyField::list},
      {"--requirements", "requirements", "Qube requirements expression", ModifyField::text},
      {"--reservations", "reservations", "Qube reservations", ModifyField::text},
      {"--description", "description", "free text", ModifyField::text},
  };
  for (auto& v : verbs) {
    v.cmd = app.add_subcommand(v.name, v.help);
    v.cmd->add_option("ids", ids, "job ids");
    v.cmd->add_option("--user", user, "only jobs of this user");
    v.cmd->add_option("--name", f_name, "only jobs whose name matches this glob");
    v.cmd->add_option("--status", status, "only jobs with this status");
    v.cmd->add_option("--pgrp", f_pgrp, "only jobs of this process group");
    if (v.work) v.cmd->add_option("--work", work, "only items holding frames of this range, e.g. 100-120");
  }
  JobVerb& modify = verbs[9];
  modify.cmd->remove_option(modify.cmd->get_option("--name"));
  modify.cmd->add_option("--match-name", f_name, "only jobs whose name matches this glob");
  for (auto& f : modify_fields) f.option = modify.cmd->add_option(f.flag, f.value, f.help);
  auto* history = app.add_subcommand("history", "a job's events: submitted, started, failed, modified by whom ...");
  history->add_option("id", ref, "job id")->required();
  bool failed_only = false;
  show->add_flag("--failed", failed_only, "group the failed attempts by host and by exit code");
  auto* wait = app.add_subcommand("wait", "wait for jobs to end; exit 0 if all complete");
  wait->add_option("ids", ids, "job ids")->required();
  wait->add_option("--timeout", timeout, "give up after this many seconds (exit 1)");
  qb::HostCommands host_commands(app, json, supervisor);
  auto* ping = app.add_subcommand("ping", "is the supervisor there? (qbping)");
  std::vector<CLI::App*> all_commands{jobs, show, out, err, history, wait, ping};
  for (auto* c : host_commands.commands()) all_commands.push_back(c);
  for (const auto& v : verbs) all_commands.push_back(v.cmd);
  for (auto* sub : all_commands) {
    sub->add_flag("--json", json, "print JSON");
    sub->add_option("--supervisor", supervisor, "supervisor client endpoint");
  }

  try {
    auto args = arguments(argc, argv);
    std::reverse(args.begin(), args.end());
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsage;
  }

  try {
    Client client(resolve_supervisor(supervisor));
    if (*jobs) {
      Json body{{"ids", parse_ids(ids)}};
      if (!user.empty()) body["user"] = user;
      if (!f_name.empty()) body["name"] = f_name;
      if (f_pgrp > 0) body["pgrp"] = f_pgrp;
      if (!status.empty()) {
        if (!parse_job_status(status)) throw UsageError("--status: unknown status '" + status + "'");
        body["status"] = status;
      }
      if (json) {
        // Straight from the reply's MessagePack to text: no Json tree of every job.
        const std::string text = client.request_text("jobs", body, "jobs", 2);
        std::cout << (text.empty() ? "[]" : text) << "\n";
      } else {
        qb::print_jobs(std::cout, get_array(client.request("jobs", body), "jobs"));
      }
    } else if (*show) {
      const Json reply = client.request("show", Json{{"id", parse_job_ref(ref, false).first}});
      if (failed_only && json) std::cout << qb::failure_summary(get_object(reply, "job")).dump(2) << "\n";
      else if (failed_only) qb::print_failures(std::cout, get_object(reply, "job"));
      else if (json) std::cout << get_object(reply, "job").dump(2) << "\n";
      else qb::print_job(std::cout, get_object(reply, "job"));
    } else if (*out || *err) {
      const auto [id, sub] = parse_job_ref(ref, true);
      Json body{{"id", id}, {"stream", *err ? "err" : "out"}};
      if (sub >= 0) body["subid"] = sub;
      if (attempt != 0 && work.empty()) throw UsageError("--attempt needs --work ITEM");
      if (!work.empty()) {
        if (follow || sub >= 0) throw UsageError("--work reads one item's attempt: give ID, without .SUB or --follow");
        body["work"] = work;
        body["attempt"] = attempt;
      }
      if (follow) {
        if (sub < 0) throw UsageError("--follow needs one instance: ID.SUB");
        return follow_output(client, body) ? 0 : kFailed;
      }
      Json reply = client.request("output", body);
      (void)get_array(reply, "parts");  // checks its type
      for (auto& part : reply["parts"]) read_rest_of_part(client, body, part);
      const Json& parts = reply["parts"];
      if (json) {
        Json list = Json::array();
        for (const auto& p : parts) {
          const auto& bin = p.at("data").get_binary();
          list.push_back(Json{{"subid", get_int(p, "subid")},
                              {"data", std::string(bin.begin(), bin.end())}});
        }
        std::cout << list.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
      } else {
        for (const auto& p : parts) {
          const auto& bin = p.at("data").get_binary();
          if (parts.size() > 1) std::cout << "==> " << id << "." << get_int(p, "subid") << " <==\n";
          std::cout.write(reinterpret_cast<const char*>(bin.data()), static_cast<std::streamsize>(bin.size()));
        }
        std::cout.flush();
      }
    } else if (*history) {
      const Json reply = client.request("history", Json{{"id", parse_job_ref(ref, false).first}});
      if (json) std::cout << get_array(reply, "events").dump(2) << "\n";
      else qb::print_history(std::cout, get_array(reply, "events"));
    } else if (*wait) {
      WaitOptions options;
      options.progress_bar = !json && isatty(STDOUT_FILENO);
      options.quiet = json;
      options.timeout = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
      const auto job_ids = parse_ids(ids);
      const bool ok = wait_for_jobs(client, job_ids, std::cout, options);
      if (json) std::cout << get_array(client.request("jobs", Json{{"ids", job_ids}}), "jobs").dump(2) << "\n";
      return ok ? 0 : kFailed;
    } else if (auto v = std::find_if(verbs.begin(), verbs.end(), [](const JobVerb& v) { return v.cmd->parsed(); });
               v != verbs.end()) {
      Json body{{"ids", parse_ids(ids)}, {"user", current_user()}};
      Json filter = Json::object();
      if (!user.empty()) filter["user"] = user;
      if (!f_name.empty()) filter["name"] = f_name;
      if (!status.empty()) filter["status"] = status;
      if (f_pgrp > 0) filter["pgrp"] = f_pgrp;
      if (!filter.empty()) body["filter"] = filter;
      if (ids.empty() && filter.empty()) throw UsageError(std::string(v->name) + ": give job ids or a filter (--user --name --status --pgrp)");
      if (!work.empty()) body["work"] = work;
      if (v->cmd == modify.cmd) body["set"] = modify_request(modify_fields);
      const Json reply = client.request(v->name, body);
      if (json) {
        std::cout << reply.dump(2) << "\n";
      } else {
        for (const auto& r : get_array(reply, v->done)) {
          if (r.is_object()) std::cout << "job " << get_int(r, "id") << ": " << get_int(r, "items") << " item(s) " << v->done << "\n";
          else std::cout << v->done << " job " << r << "\n";
        }
        for (const auto& e : get_array(reply, "errors")) std::cerr << "qb: " << e.get<std::string>() << "\n";
      }
      return get_array(reply, "errors").empty() ? 0 : kFailed;
    } else if (host_commands.parsed()) {
      return host_commands.run(client);
    } else if (*ping) {
      const Json reply = client.request("ping", Json::object());
      if (json) std::cout << reply.dump(2) << "\n";
      else std::cout << "supervisor at " << client.endpoint() << " is up (version " << get_string(reply, "version") << ")\n";
    }
    return 0;
  } catch (const UsageError& e) {
    std::cerr << "qb: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "qb: " << e.what() << "\n";
    return kFailed;
  }
}
