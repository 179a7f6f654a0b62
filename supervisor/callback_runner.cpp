#include "callback_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "mail.hpp"
#include "qube/process.hpp"

namespace qube::supervisor {

namespace {

double steady_now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// The last line of a script's output, for the history line.
std::string last_line(const std::string& output) {
  std::string text = output;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.rfind('\n');
  text = nl == std::string::npos ? text : text.substr(nl + 1);
  return text.size() > 200 ? text.substr(0, 200) + "..." : text;
}

struct ScriptResult {
  int status = -1;
  bool timed_out = false;
  std::string output;
  std::string error;
  double seconds = 0;
};

// Runs argv in a process group of its own, output (both streams) collected, killed
// with its whole group at the deadline.
ScriptResult run_script(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                        double timelimit) {
  ScriptResult r;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    r.error = "cannot create a pipe";
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_lines;
  for (const auto& [k, v] : env) env_lines.push_back(k + "=" + v);
  for (auto& e : env_lines) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const double start = steady_now();
  const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    r.error = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  const double deadline = start + timelimit;
  while (true) {
    const double left = deadline - steady_now();
    if (left <= 0) {
      ::kill(-pid, SIGKILL);
      r.timed_out = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    // Keep the last 64 KiB: enough for the history line; the log has it all.
    r.output.append(buf, static_cast<std::size_t>(n));
    if (r.output.size() > 128 * 1024) r.output.erase(0, r.output.size() - 64 * 1024);
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::kill(-pid, SIGKILL);  // anything it left behind in its group
  r.status = status;
  r.seconds = steady_now() - start;
  return r;
}

}  // namespace

CallbackRunner::CallbackRunner(CallbackSettings settings) : settings_(std::move(settings)) {
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
      outcome = ScriptOutcome{run.job, std::string("callback failed: ") + e.what()};
    }
    std::lock_guard lock(mutex_);
    --running_;
    done_.push_back(std::move(outcome));
  }
}

ScriptOutcome CallbackRunner::execute(const ScriptRun& run) {
  std::map<std::string, std::string> env = current_environment();
  for (const auto& [k, v] : run.env) env[k] = v;
  std::string endpoint;
  {
    std::lock_guard lock(mutex_);
    endpoint = settings_.supervisor_endpoint;
  }
  if (!endpoint.empty()) env["QB_SUPERVISOR"] = endpoint;
  const std::vector<std::string> argv = run.language == "python"
                                            ? std::vector<std::string>{settings_.python, "-c", run.code}
                                            : std::vector<std::string>{"/bin/sh", "-c", run.code};
  const ScriptResult r = run_script(argv, env, settings_.timelimit);
  // Each job's callback output is kept beside its instances' logs.
  const auto dir = settings_.log_dir / std::to_string(run.job);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream(dir / "callbacks.log", std::ios::app)
      << "==> " << run.language << " callback '" << run.triggers << "' on " << run.env.at("QBEVENT") << " of job "
      << run.env.at("QBJOBID") << "\n"
      << r.output << (r.output.empty() || r.output.back() == '\n' ? "" : "\n");
  std::string text = "callback '" + run.triggers + "' (" + run.language + ") ";
  if (!r.error.empty()) text += r.error;
  else if (r.timed_out) text += "exceeded its time limit of " + fmt::format("{:g}", settings_.timelimit) + " s and was killed";
  else if (WIFEXITED(r.status)) text += "exited " + std::to_string(WEXITSTATUS(r.status));
  else if (WIFSIGNALED(r.status)) text += "killed by signal " + std::to_string(WTERMSIG(r.status));
  text += fmt::format(" after {:.2f} s", r.seconds);
  if (const std::string line = last_line(r.output); !line.empty()) text += ": " + line;
  return ScriptOutcome{run.job, text};
}

ScriptOutcome CallbackRunner::mail(const ScriptRun& run) {
  if (settings_.smtp_server.empty())
    return ScriptOutcome{run.job, "mail callback: no smtp_server in the supervisor's configuration"};
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
  return ScriptOutcome{run.job, "mail sent to " + run.code + " on " + run.env.at("QBEVENT")};
}

}  // namespace qube::supervisor
