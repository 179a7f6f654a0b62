#include "callback_runner.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "mail.hpp"
#include "qube/launcher.hpp"
#include "qube/paths.hpp"
#include "qube/process.hpp"

namespace qube::supervisor {

namespace {

// The last line of a script's output, for the history line.
std::string last_line(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.rfind('\n');
  text = nl == std::string::npos ? text : text.substr(nl + 1);
  return text.size() > 200 ? text.substr(0, 200) + "..." : text;
}

// How the history and the log name a script: "preexec", "callback 'complete-job-self' (shell)".
std::string script_name(const ScriptRun& run) {
  return run.hook.empty() ? "callback '" + run.triggers + "' (" + run.language + ")" : run.hook;
}

struct ScriptResult {
  int status = -1;
  bool timed_out = false;
  std::string output;
  std::string error;
  double seconds = 0;
};

// A script: stdin empty, both output streams in one pipe, in a process group of
// its own so that one kill ends everything it started. Signal dispositions are
// the supervisor's (SIGPIPE ignored), as they always were for callbacks.
LaunchSpec script_spec(const std::string& program, const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env) {
  LaunchSpec spec;
  spec.program = program;
  spec.argv = argv;
  spec.env = env;
  spec.err = ChildStream::as_stdout;
  spec.own_process_group = true;
  spec.default_signals = false;
  return spec;
}

// Collects what comes from `out` until it closes or `deadline` passes; then
// kills the script's whole group. Closes `out`.
void collect_output(int out, pid_t pid, SteadyTime deadline, const Clock& clock, ScriptResult& r) {
  while (true) {
    const double left = deadline - clock.steady();
    if (left <= 0) {
      ::kill(-pid, SIGKILL);
      r.timed_out = true;
      break;
    }
    pollfd p{out, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out, buf, sizeof buf);
    if (n <= 0) break;
    // Keep the last 64 KiB: enough for the history line; the log has it all.
    r.output.append(buf, static_cast<std::size_t>(n));
    if (r.output.size() > 128 * 1024) r.output.erase(0, r.output.size() - 64 * 1024);
  }
  ::close(out);
}

// Runs argv in a process group of its own, output (both streams) collected, killed
// with its whole group at the deadline.
ScriptResult run_script(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                        const std::optional<Account>& run_as, double timelimit, const Clock& clock) {
  ScriptResult r;
  const auto program = find_program(argv[0], search_path(env), "");
  if (!program) {
    r.error = "cannot start " + argv[0] + ": " + std::strerror(ENOENT);
    return r;
  }
  const SteadyTime start = clock.steady();
  LaunchSpec spec = script_spec(*program, argv, env);
  if (run_as) run_as_login(spec, *run_as);
  const Launched child = launch(spec);
  if (!child.started()) {
    const std::string as = run_as ? " as '" + run_as->name + "'" : "";
    const std::string step = child.failed_step == "start" ? "" : child.failed_step + ": ";
    r.error = child.failed_step == "pipe" ? "cannot create a pipe"
                                          : "cannot start " + argv[0] + as + ": " + step + std::strerror(child.error);
    return r;
  }
  collect_output(child.out, child.pid, start + timelimit, clock, r);
  int status = 0;
  ::waitpid(child.pid, &status, 0);
  ::kill(-child.pid, SIGKILL);  // anything it left behind in its group
  r.status = status;
  r.seconds = clock.steady() - start;
  return r;
}

}  // namespace

CallbackRunner::CallbackRunner(CallbackSettings settings, const Clock& clock)
    : settings_(std::move(settings)), clock_(clock) {
  for (int i = 0; i < std::max(1, settings_.threads); ++i) threads_.emplace_back([this] { work(); });
}

CallbackRunner::~CallbackRunner() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void CallbackRunner::set_supervisor_endpoint(std::string endpoint) {
  std::lock_guard lock(mutex_);
  settings_.supervisor_endpoint = std::move(endpoint);
}

void CallbackRunner::set_api(ApiAccess api) {
  std::lock_guard lock(mutex_);
  api_ = std::move(api);
}

void CallbackRunner::submit(ScriptRun run) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(run));
  }
  wake_.notify_one();
}

std::vector<ScriptOutcome> CallbackRunner::finished() {
  std::lock_guard lock(mutex_);
  return std::exchange(done_, {});
}

bool CallbackRunner::busy() {
  std::lock_guard lock(mutex_);
  return running_ > 0 || !queue_.empty() || !done_.empty();
}

void CallbackRunner::work() {
  while (true) {
    ScriptRun run;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      run = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    ScriptOutcome outcome;
    try {
      outcome = run.language == "mail" ? mail(run) : execute(run);
    } catch (const std::exception& e) {
      outcome = ScriptOutcome{run.job, std::string("callback failed: ") + e.what(), run.hook};
    }
    std::lock_guard lock(mutex_);
    --running_;
    done_.push_back(std::move(outcome));
  }
}

std::optional<Account> CallbackRunner::script_account(const ScriptRun& run) const {
  if (!settings_.run_as_owner) return std::nullopt;
  Account owner = lookup_account(run.owner, "the supervisor's host");
  if (!can_become(me_, owner))
    throw AccountError("the supervisor runs as '" + me_.name + "', not root: it cannot run callbacks as '" + run.owner +
                       "' (callbacks_run_as_owner)");
  return owner;
}

ScriptOutcome CallbackRunner::execute(const ScriptRun& run) {
  std::optional<Account> run_as;
  try {
    run_as = script_account(run);
  } catch (const AccountError& e) {
    // Never as the supervisor's user instead: the callback does not run.
    spdlog::warn("job {}: {} not run: {}", run.job, script_name(run), e.what());
    return ScriptOutcome{run.job, script_name(run) + " not run: " + e.what(), run.hook};
  }
  std::map<std::string, std::string> env = current_environment();
  for (const auto& [k, v] : run.env) env[k] = v;
  std::string endpoint;
  ApiAccess api;
  {
    std::lock_guard lock(mutex_);
    endpoint = settings_.supervisor_endpoint;
    api = api_;
  }
  if (!endpoint.empty()) env["QB_SUPERVISOR"] = endpoint;
  // As in Qube!, `import qb` works in a callback and acts as the job's owner.
  const std::string prefix = executable_dir().parent_path().string();
  env["QBDIR"] = prefix;
  const std::string python_dir = prefix + "/api/python";
  env["PYTHONPATH"] = env.count("PYTHONPATH") && !env["PYTHONPATH"].empty() ? python_dir + ":" + env["PYTHONPATH"]
                                                                            : python_dir;
  std::string token;
  if (!api.url.empty() && api.grant) {
    try {
      token = api.grant(run.owner);
      env["QB_API_URL"] = api.url;
      env["QB_TOKEN"] = token;
    } catch (const std::exception& e) {
      spdlog::warn("job {}: {} gets no API token: {}", run.job, script_name(run), e.what());
    }
  }
  // Withdrawn however the run ends.
  struct Withdraw {
    const ApiAccess& api;
    const std::string& token;
    ~Withdraw() {
      if (!token.empty() && api.withdraw) api.withdraw(token);
    }
  } const withdraw{api, token};
  const std::vector<std::string> argv = run.language == "python"
                                            ? std::vector<std::string>{settings_.python, "-c", run.code}
                                            : std::vector<std::string>{"/bin/sh", "-c", run.code};
  const ScriptResult r = run_script(argv, env, run_as, settings_.timelimit, clock_);
  // Each job's callback output is kept beside its instances' logs.
  const auto dir = settings_.log_dir / std::to_string(run.job);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream(dir / "callbacks.log", std::ios::app)
      << "==> " << script_name(run) << " on " << run.env.at("QBEVENT") << " of job " << run.env.at("QBJOBID") << "\n"
      << r.output << (r.output.empty() || r.output.back() == '\n' ? "" : "\n");
  std::string text = script_name(run) + " ";
  if (!r.error.empty()) text += r.error;
  else if (r.timed_out) text += "exceeded its time limit of " + fmt::format("{:g}", settings_.timelimit) + " s and was killed";
  else if (WIFEXITED(r.status)) text += "exited " + std::to_string(WEXITSTATUS(r.status));
  else if (WIFSIGNALED(r.status)) text += "killed by signal " + std::to_string(WTERMSIG(r.status));
  text += fmt::format(" after {:.2f} s", r.seconds);
  if (const std::string line = last_line(r.output); !line.empty()) text += ": " + line;
  const bool succeeded = r.error.empty() && !r.timed_out && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
  return ScriptOutcome{run.job, text, run.hook, succeeded};
}

ScriptOutcome CallbackRunner::mail(const ScriptRun& run) {
  if (settings_.smtp_server.empty())
    return ScriptOutcome{run.job, "mail callback: no smtp_server in the supervisor's configuration", run.hook};
  MailMessage m;
  m.from = settings_.mail_from;
  std::string list = run.code;
  for (char& c : list)
    if (c == ';' || c == ' ') c = ',';
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    const std::string to = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!to.empty()) m.to.push_back(to);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const std::string job = run.env.at("QBJOBID");
  const std::string name = run.env.count("QBJOBNAME") ? run.env.at("QBJOBNAME") : "";
  m.subject = "[qube] job " + job + " '" + name + "': " + run.env.at("QBEVENT") + " (" + run.env.at("QBSTATUS") + ")";
  m.body = "Job " + job + " '" + name + "' of " + run.env.at("QBUSER") + ": " + run.event.value("text", "") +
           ".\nStatus: " + run.env.at("QBSTATUS") + "\nEvent: " + run.env.at("QBEVENT") +
           (run.env.at("QBWORKNAME").empty() ? "" : " (item " + run.env.at("QBWORKNAME") + ")") +
           "\n\nLogs: " + (settings_.log_dir / job).string() + "/  (qb out " + job + ", qb err " + job +
           ", qb history " + job + ")\nDetails: qb show " + job + "\n";
  send_mail(settings_.smtp_server, m);
  return ScriptOutcome{run.job, "mail sent to " + run.code + " on " + run.env.at("QBEVENT"), run.hook, true};
}

}  // namespace qube::supervisor
