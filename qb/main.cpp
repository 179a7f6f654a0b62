// qb: inspect and steer the farm. Also answers to Qube's tool names (qbjobs,
// qbhosts, qbkill, qbout, qberr, ...): the same binary, dispatched on argv[0].
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "format.hpp"
#include "qube/client.hpp"
#include "qube/wait.hpp"

namespace {

using namespace qube;

constexpr int kFailed = 1;
constexpr int kUsage = 2;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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

// Qube's tool names map onto subcommands.
std::vector<std::string> arguments(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string self = std::filesystem::path(argv[0]).filename().string();
  if (self.size() > 2 && self.rfind("qb", 0) == 0) args.insert(args.begin(), self.substr(2));
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"qb: inspect and steer the Qube farm"};
  app.require_subcommand(1);
  std::string supervisor;
  bool json = false;
  app.add_option("--supervisor", supervisor, "supervisor client endpoint (default: $QB_SUPERVISOR)");

  std::vector<std::string> ids;
  std::string user, status, ref;
  bool all = false;
  double timeout = 0;

  auto* jobs = app.add_subcommand("jobs", "list jobs (qbjobs)");
  jobs->add_option("ids", ids, "job ids (default: all)");
  jobs->add_option("--user", user, "only this user's jobs");
  jobs->add_option("--status", status, "only jobs with this status");
  auto* show = app.add_subcommand("show", "a job with its agenda and instances");
  show->add_option("id", ref, "job id")->required();
  bool follow = false;
  auto* out = app.add_subcommand("out", "a job's standard output (qbout)");
  auto* err = app.add_subcommand("err", "a job's standard error (qberr)");
  for (auto* stream : {out, err}) {
    stream->add_option("id", ref, "ID or ID.SUB")->required();
    stream->add_flag("--follow,-f", follow, "with ID.SUB: keep printing as output arrives, until the job ends");
  }
  auto* kill = app.add_subcommand("kill", "kill jobs (qbkill)");
  kill->add_option("ids", ids, "job ids")->required();
  std::string work;
  auto* retry = app.add_subcommand("retry", "failed and killed items back to pending (qbretry)");
  retry->add_option("ids", ids, "job ids")->required();
  retry->add_option("--work", work, "only items holding frames of this range, e.g. 100-120");
  auto* complete = app.add_subcommand("complete", "mark items done without running them");
  complete->add_option("ids", ids, "job ids")->required();
  complete->add_option("--work", work, "only items holding frames of this range, e.g. 115,118");
  auto* interrupt = app.add_subcommand("interrupt", "kill running work now; its items go back to pending");
  interrupt->add_option("ids", ids, "job ids")->required();
  auto* remove = app.add_subcommand("remove", "forget ended jobs and their logs (qbremove)");
  remove->add_option("ids", ids, "job ids")->required();
  auto* block = app.add_subcommand("block", "hold jobs: running work goes back to pending (qbblock)");
  block->add_option("ids", ids, "job ids")->required();
  auto* unblock = app.add_subcommand("unblock", "release blocked jobs (qbunblock)");
  unblock->add_option("ids", ids, "job ids")->required();
  auto* wait = app.add_subcommand("wait", "wait for jobs to end; exit 0 if all complete");
  wait->add_option("ids", ids, "job ids")->required();
  wait->add_option("--timeout", timeout, "give up after this many seconds (exit 1)");
  auto* hosts = app.add_subcommand("hosts", "list workers (qbhosts)");
  auto* ping = app.add_subcommand("ping", "is the supervisor there? (qbping)");
  for (auto* sub : {jobs, show, out, err, kill, retry, complete, interrupt, remove, block, unblock, wait, hosts, ping}) {
    sub->add_flag("--json", json, "print JSON");
    sub->add_option("--supervisor", supervisor, "supervisor client endpoint");
  }
  (void)all;

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
      if (!status.empty()) {
        if (!parse_job_status(status)) throw UsageError("--status: unknown status '" + status + "'");
        body["status"] = status;
      }
      const Json reply = client.request("jobs", body);
      if (json) std::cout << get_array(reply, "jobs").dump(2) << "\n";
      else qb::print_jobs(std::cout, get_array(reply, "jobs"));
    } else if (*show) {
      const Json reply = client.request("show", Json{{"id", parse_job_ref(ref, false).first}});
      if (json) std::cout << get_object(reply, "job").dump(2) << "\n";
      else qb::print_job(std::cout, get_object(reply, "job"));
    } else if (*out || *err) {
      const auto [id, sub] = parse_job_ref(ref, true);
      Json body{{"id", id}, {"stream", *err ? "err" : "out"}};
      if (sub >= 0) body["subid"] = sub;
      if (follow) {
        if (sub < 0) throw UsageError("--follow needs one instance: ID.SUB");
        return follow_output(client, body) ? 0 : kFailed;
      }
      const Json reply = client.request("output", body);
      const Json& parts = get_array(reply, "parts");
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
    } else if (*kill || *block || *unblock || *interrupt || *remove) {
      // One request per verb; the reply lists the jobs acted on and the errors.
      const char* verb = *kill ? "kill" : *block ? "block" : *unblock ? "unblock" : *interrupt ? "interrupt" : "remove";
      const char* done = *kill ? "killed" : *block ? "blocked" : *unblock ? "unblocked" : *interrupt ? "interrupted" : "removed";
      const Json reply = client.request(verb, Json{{"ids", parse_ids(ids)}, {"user", current_user()}});
      if (json) {
        std::cout << reply.dump(2) << "\n";
      } else {
        for (const auto& id : get_array(reply, done)) std::cout << done << " job " << id << "\n";
        for (const auto& e : get_array(reply, "errors")) std::cerr << "qb: " << e.get<std::string>() << "\n";
      }
      return get_array(reply, "errors").empty() ? 0 : kFailed;
    } else if (*retry || *complete) {
      Json body{{"ids", parse_ids(ids)}, {"user", current_user()}};
      if (!work.empty()) body["work"] = work;
      const Json reply = client.request(*retry ? "retry" : "complete", body);
      if (json) {
        std::cout << reply.dump(2) << "\n";
      } else {
        for (const auto& r : get_array(reply, *retry ? "retried" : "completed"))
          std::cout << "job " << get_int(r, "id") << ": " << get_int(r, "items") << " item(s) "
                    << (*retry ? "back to pending" : "marked done") << "\n";
        for (const auto& e : get_array(reply, "errors")) std::cerr << "qb: " << e.get<std::string>() << "\n";
      }
      return get_array(reply, "errors").empty() ? 0 : kFailed;
    } else if (*wait) {
      WaitOptions options;
      options.progress_bar = !json && isatty(STDOUT_FILENO);
      options.quiet = json;
      options.timeout = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
      const auto job_ids = parse_ids(ids);
      const bool ok = wait_for_jobs(client, job_ids, std::cout, options);
      if (json) std::cout << get_array(client.request("jobs", Json{{"ids", job_ids}}), "jobs").dump(2) << "\n";
      return ok ? 0 : kFailed;
    } else if (*hosts) {
      const Json reply = client.request("hosts", Json::object());
      if (json) std::cout << get_array(reply, "hosts").dump(2) << "\n";
      else qb::print_hosts(std::cout, get_array(reply, "hosts"));
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
