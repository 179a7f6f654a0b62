#pragma once
// Runs shell, python and mail callbacks off the event loop, on a few threads of
// their own: a slow or crashing script never delays dispatch. Each script runs in
// its own process group with a time limit; its output is appended to the job's
// callbacks log and its outcome reported back for the job's history.
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "farm.hpp"
#include "qube/account.hpp"
#include "qube/clock.hpp"

namespace qube::supervisor {

struct CallbackSettings {
  double timelimit = 60;             // seconds a script may run before it is killed
  std::string python = "python3";    // the interpreter for python callbacks
  std::string smtp_server;           // host:port of the mail relay; empty: mail is refused
  std::string mail_from = "qube@localhost";
  std::filesystem::path log_dir;     // <data>/logs: callbacks.log per job
  std::string supervisor_endpoint;   // QB_SUPERVISOR for scripts that call qb
  int threads = 2;
  // Shell and python callbacks run as their job's owner, never as the
  // supervisor's user (only safe once owners are authenticated).
  bool run_as_owner = false;
};

// How scripts reach the HTTP API as their owner (python callbacks use the qb
// module through it): its URL, and a token granted for one run, withdrawn after.
struct ApiAccess {
  std::string url;
  std::function<std::string(const std::string& user)> grant;
  std::function<void(const std::string& token)> withdraw;
};

class CallbackRunner {
 public:
  // `clock`: what a script's time limit is measured by.
  explicit CallbackRunner(CallbackSettings settings, const Clock& clock = Clock::system());
  ~CallbackRunner();
  CallbackRunner(const CallbackRunner&) = delete;
  CallbackRunner& operator=(const CallbackRunner&) = delete;

  void set_supervisor_endpoint(std::string endpoint);
  void set_api(ApiAccess api);
  void submit(ScriptRun run);
  // What finished since the last call; never blocks.
  std::vector<ScriptOutcome> finished();
  bool busy();

 private:
  void work();
  ScriptOutcome execute(const ScriptRun& run);
  // The account a script runs as (nullopt: the supervisor's); throws
  // AccountError when it must not run at all.
  std::optional<Account> script_account(const ScriptRun& run) const;
  ScriptOutcome mail(const ScriptRun& run);

  CallbackSettings settings_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<ScriptRun> queue_;
  std::vector<ScriptOutcome> done_;
  ApiAccess api_;  // url empty: the HTTP API is off
  std::size_t running_ = 0;
  bool stop_ = false;
  Account me_ = current_account();  // the supervisor's own
  std::vector<std::thread> threads_;
};

}  // namespace qube::supervisor
