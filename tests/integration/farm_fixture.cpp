#include "farm_fixture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef QUBE_BIN_DIR
#error "QUBE_BIN_DIR must name the directory of the built tools"
#endif

extern char** environ;

namespace qube_it {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The test's own environment without anything that would point the farm's
// processes at another supervisor or configuration.
std::map<std::string, std::string> clean_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    std::string key(*e, static_cast<std::size_t>(eq - *e));
    if (key.rfind("QB", 0) == 0) continue;  // QB_SUPERVISOR, QB_CONFIG, QB_DATA, QBJOBID, ...
    env.emplace(std::move(key), std::string(eq + 1));
  }
  return env;
}

// argv and envp as the char* arrays exec wants, prepared before fork so that the
// child only calls async-signal-safe functions.
struct ExecArgs {
  std::vector<std::string> storage_argv, storage_env;
  std::vector<char*> argv, envp;
  ExecArgs(const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
      : storage_argv(args) {
    for (const auto& [k, v] : env) storage_env.push_back(k + "=" + v);
    for (auto& s : storage_argv) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : storage_env) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
};

// fork + exec in a new process group with the given stdout and stderr.
pid_t spawn(const ExecArgs& args, int out_fd, int err_fd) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    // Dies with the test binary even when it is killed before TearDown (ctest's
    // timeout, a closed pipe): no daemon outlives its test.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    signal(SIGPIPE, SIG_DFL);
    execvpe(args.argv[0], args.argv.data(), args.envp.data());
    const char msg[] = "farm_fixture: exec failed\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so that it holds before the child gets to it
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string tail(const std::filesystem::path& file, std::size_t lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out;
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since
// boot. With the pid it names one process; empty if there is none.
std::string start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return {};
  std::istringstream rest(stat.substr(paren + 2));
  std::string field;
  for (int n = 3; n <= 22; ++n)
    if (!(rest >> field)) return {};
  return field;
}

// A bare tool name ("qb", "qbsim") becomes the built tool's path when there is one.
void resolve_tool(std::string& arg0) {
  const std::string built = std::string(QUBE_BIN_DIR) + "/" + arg0;
  if (arg0.find('/') == std::string::npos && std::filesystem::exists(built)) arg0 = built;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
  return s.substr(i);
}

}  // namespace

std::string RunResult::describe() const {
  std::ostringstream s;
  s << "exit " << code << (timed_out ? " (timed out)" : "") << " after " << seconds << " s, stdout '" << out
    << "', stderr '" << err << "'";
  return s.str();
}

// ---------------------------------------------------------------- set-up

void FarmTest::SetUp() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/qube-it-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = pattern;
}

void FarmTest::TearDown() {
  stop_all();
  for (const auto& [pid, started] : tracked_pids_)
    if (pid > 1 && !started.empty() && start_time(pid) == started) ::kill(pid, SIGKILL);
  if (HasFailure()) print_logs();
  if (std::getenv("QUBE_IT_KEEP")) {
    std::cerr << "[farm] keeping " << dir_ << "\n";
    return;
  }
  // Processes killed a moment ago may still be finishing a write into the
  // directory: retry until it is gone or a deadline passes.
  std::error_code ec;
  wait_until([&] {
    std::filesystem::remove_all(dir_, ec);
    return !ec;
  }, 10s);
  if (ec) std::cerr << "[farm] could not remove " << dir_ << ": " << ec.message() << "\n";
}

std::string FarmTest::many_jobs_file(int jobs) const {
  const std::string file = path("many-" + std::to_string(jobs) + ".yaml");
  std::ofstream out(file);
  out << "name: many\njobs:\n";
  for (int i = 1; i <= jobs; ++i) out << "  - {name: j" << i << ", blocked: true, package: {cmdline: /bin/true}}\n";
  return file;
}

std::string FarmTest::bin(const std::string& tool) { return std::string(QUBE_BIN_DIR) + "/" + tool; }

// ---------------------------------------------------------------- daemons

FarmTest::Daemon& FarmTest::spawn_daemon(const std::string& name, const std::vector<std::string>& argv) {
  const auto log = dir_ / (name + ".log");
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log.string() + ": " + std::strerror(errno));
  {
    std::string banner = "==== farm_fixture: starting";
    for (const auto& a : argv) banner += " " + a;
    banner += "\n";
    (void)!write(fd, banner.data(), banner.size());
  }
  const ExecArgs args(argv, clean_environment());
  pid_t pid = -1;
  try {
    pid = spawn(args, fd, fd);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  daemons_.push_back(Daemon{name, pid, log, false});
  return daemons_.back();
}

void FarmTest::reap(Daemon& d) {
  if (d.reaped) return;
  int status = 0;
  while (waitpid(d.pid, &status, 0) < 0 && errno == EINTR) {
  }
  d.reaped = true;
}

void FarmTest::stop_all() {
  // Politely first: a worker stops its instances on SIGTERM. SIGCONT wakes a
  // stopped one.
  for (auto& d : daemons_) {
    if (d.reaped) continue;
    ::kill(d.pid, SIGCONT);
    ::kill(d.pid, SIGTERM);
  }
  wait_until([&] {
    bool all = true;
    for (auto& d : daemons_) {
      if (d.reaped) continue;
      int status = 0;
      if (waitpid(d.pid, &status, WNOHANG) == d.pid) d.reaped = true;
      else all = false;
    }
    return all;
  }, 5s);
  for (auto& d : daemons_) {
    ::kill(-d.pid, SIGKILL);  // the group: anything it left behind
    if (!d.reaped) {
      ::kill(d.pid, SIGKILL);
      reap(d);
    }
  }
}

void FarmTest::print_logs() const {
  std::cerr << "[farm] test failed; directory " << dir_ << "\n";
  std::set<std::filesystem::path> printed;  // a restarted daemon appends to its log
  for (const auto& d : daemons_) {
    if (!printed.insert(d.log).second) continue;
    std::cerr << "[farm] ---- last lines of " << d.log.filename().string() << " ----\n" << tail(d.log, 150);
  }
}

void FarmTest::read_endpoints(pid_t expected_pid, std::chrono::milliseconds timeout) {
  const auto file = dir_ / "data" / "endpoints.json";
  std::string problem;
  const bool ok = wait_until([&] {
    int status = 0;
    if (waitpid(expected_pid, &status, WNOHANG) == expected_pid) {
      for (auto& d : daemons_)
        if (d.pid == expected_pid) d.reaped = true;
      throw std::runtime_error("qbsupervisor exited with status " + std::to_string(decode_status(status)) +
                               " before it listened; log:\n" + tail(dir_ / "supervisor.log", 40));
    }
    std::ifstream in(file);
    if (!in) return false;
    std::stringstream s;
    s << in.rdbuf();
    const Json j = Json::parse(s.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("pid")) return false;  // still being written
    if (j["pid"].get<pid_t>() != expected_pid) return false;                     // an earlier run's
    workers_endpoint_ = j.at("workers").get<std::string>();
    clients_endpoint_ = j.at("clients").get<std::string>();
    http_endpoint_ = j.value("http", "");
    return true;
  }, timeout);
  if (!ok) throw std::runtime_error("qbsupervisor wrote no " + file.string() + " in time");
}

std::vector<std::string> FarmTest::supervisor_argv(const std::string& workers, const std::string& clients) const {
  std::vector<std::string> argv{bin("qbsupervisor"), "--config", config_file_.string(), "--data",
                                (dir_ / "data").string(), "--workers", workers, "--clients", clients};
  argv.insert(argv.end(), supervisor_options_.extra_args.begin(), supervisor_options_.extra_args.end());
  return argv;
}

void FarmTest::start_supervisor(SupervisorOptions options) {
  config_file_ = dir_ / "supervisor.yaml";
  std::ofstream(config_file_) << "heartbeat_interval: " << options.heartbeat_interval << "\n"
                              << "heartbeat_misses: " << options.heartbeat_misses << "\n"
                              << "log_level: debug\n"
                              << options.extra_config << "\n";
  supervisor_options_ = options;
  const Daemon& d = spawn_daemon("supervisor", supervisor_argv(options.workers_endpoint, options.clients_endpoint));
  supervisor_pid_ = d.pid;
  read_endpoints(d.pid, 30s);
}

void FarmTest::restart_supervisor() {
  if (workers_endpoint_.empty()) throw std::runtime_error("restart_supervisor: it was never started");
  std::filesystem::remove(dir_ / "data" / "endpoints.json");
  // The ports were just released by a killed process; should binding fail, the
  // new process exits and is started again until a deadline.
  const auto deadline = Clock::now() + 20s;
  while (true) {
    const Daemon& d = spawn_daemon("supervisor", supervisor_argv(workers_endpoint_, clients_endpoint_));
    supervisor_pid_ = d.pid;
    try {
      read_endpoints(d.pid, 30s);
      return;
    } catch (const std::exception&) {
      if (Clock::now() > deadline) throw;
    }
  }
}

void FarmTest::kill9_supervisor() {
  for (auto& d : daemons_)
    if (d.pid == supervisor_pid_ && !d.reaped) {
      ::kill(d.pid, SIGKILL);
      reap(d);
    }
}

pid_t FarmTest::start_worker(const std::string& name, int slots, const std::string& config_yaml) {
  Json before;
  if (auto h = host(name)) before = h->value("registered", Json());
  const pid_t pid = launch_worker(name, slots, config_yaml);
  const bool up = wait_until([&] {
    auto h = host(name);
    return h && h->value("state", "") == "active" && h->value("registered", Json()) != before;
  });
  if (!up) throw std::runtime_error("worker " + name + " did not register in time");
  return pid;
}

pid_t FarmTest::launch_worker(const std::string& name, int slots, const std::string& config_yaml) {
  std::vector<std::string> argv{bin("qbworker"), "--supervisor", workers_endpoint_, "--name", name,
                                "--slots", std::to_string(slots)};
  if (!config_yaml.empty()) {
    const std::string file = path("worker-" + name + ".yaml");
    std::ofstream(file) << config_yaml << "\n";
    argv.insert(argv.end(), {"--config", file});
  }
  return spawn_daemon("worker-" + name, argv).pid;
}

pid_t FarmTest::launch(const std::string& name, std::vector<std::string> argv) {
  if (argv.empty()) throw std::invalid_argument("launch: empty command");
  resolve_tool(argv[0]);
  return spawn_daemon(name, argv).pid;
}

pid_t FarmTest::worker_pid(const std::string& name) const {
  for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it)
    if (it->name == "worker-" + name) return it->pid;
  return -1;
}

std::optional<int> FarmTest::signal_daemon(pid_t pid, int sig, std::chrono::milliseconds timeout) {
  for (auto& d : daemons_) {
    if (d.pid != pid || d.reaped) continue;
    ::kill(d.pid, sig);
    int status = 0;
    if (!wait_until([&] { return waitpid(d.pid, &status, WNOHANG) == d.pid; }, timeout)) return std::nullopt;
    d.reaped = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return std::nullopt;
}

void FarmTest::kill9_worker(const std::string& name) {
  for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it)
    if (it->name == "worker-" + name && !it->reaped) {
      ::kill(it->pid, SIGKILL);
      reap(*it);
      return;
    }
  throw std::runtime_error("no running worker " + name);
}

// ---------------------------------------------------------------- clients

RunResult FarmTest::run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                        std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("run: empty command");
  std::vector<std::string> args = argv;
  resolve_tool(args[0]);
  auto environment = clean_environment();
  if (!clients_endpoint_.empty()) environment["QB_SUPERVISOR"] = clients_endpoint_;
  for (const auto& [k, v] : client_env_) environment[k] = v;
  for (const auto& [k, v] : env) environment[k] = v;
  // Under ASan, a client command's leak check at exit costs about 0.1 s on an idle
  // machine and over 1 s under the test stage's load (qb: 0.43 s against 0.33 s
  // idle; 2.3 s against 0.9 s loaded), with tens of commands per test. A client
  // lives for one request, so its leaks harm no one; memory errors are still
  // caught, and the daemons, which live long, keep their leak checks.
  if (kSanitized && environment.count("ASAN_OPTIONS")) environment["ASAN_OPTIONS"] += ":detect_leaks=0";
  const ExecArgs exec_args(args, environment);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw std::runtime_error("pipe2 failed");
  }
  RunResult r;
  const auto started = Clock::now();
  const pid_t pid = spawn(exec_args, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  const auto deadline = started + timeout;
  char buf[65536];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, static_cast<int>(left)) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.code = decode_status(status);
  r.seconds = since(started);
  return r;
}

std::uint64_t FarmTest::submit(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"qbsub"};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run(argv);
  if (r.code != 0) throw std::runtime_error("qbsub failed: " + r.describe());
  const std::string text = trim(r.out);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error("qbsub printed no job id: " + r.describe());
  return std::stoull(text);
}

std::optional<Json> FarmTest::try_show(std::uint64_t id) {
  const RunResult r = run({"qb", "show", std::to_string(id), "--json"});
  if (r.code != 0) return std::nullopt;
  Json j = Json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

Json FarmTest::show(std::uint64_t id) {
  const RunResult r = run({"qb", "show", std::to_string(id), "--json"});
  if (r.code != 0) throw std::runtime_error("qb show failed: " + r.describe());
  Json j = Json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error("qb show printed no JSON object: " + r.describe());
  return j;
}

Json FarmTest::hosts() {
  const RunResult r = run({"qb", "hosts", "--json"});
  if (r.code != 0) throw std::runtime_error("qb hosts failed: " + r.describe());
  Json j = Json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_array()) throw std::runtime_error("qb hosts printed no JSON list: " + r.describe());
  return j;
}

std::optional<Json> FarmTest::host(const std::string& name) {
  for (const auto& h : hosts())
    if (h.value("name", "") == name) return h;
  return std::nullopt;
}

std::string FarmTest::wait_terminal(std::uint64_t id, std::chrono::milliseconds timeout) {
  std::optional<Json> last;
  std::string status;
  const bool done = wait_until([&] {
    if (auto j = try_show(id)) last = std::move(j);
    if (!last) return false;
    status = last->value("status", "");
    return status == "complete" || status == "failed" || status == "killed" || status == "skipped";
  }, timeout);
  if (done) return status;
  return "timeout (last: " + (last ? last->dump() : std::string("no answer")) + ")";
}

// ---------------------------------------------------------------- polling

bool FarmTest::wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(25ms);  // poll interval, not synchronisation
  }
}

// ---------------------------------------------------------------- files, processes

std::string FarmTest::read_file(const std::string& file) const {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> FarmTest::read_lines(const std::string& file) const {
  std::vector<std::string> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::optional<pid_t> FarmTest::read_pid(const std::string& file) const {
  const std::string text = read_file(file);
  const auto nl = text.find('\n');
  if (nl == std::string::npos) return std::nullopt;  // not written yet, or half written
  const std::string first = trim(text.substr(0, nl));
  if (first.empty() || first.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return static_cast<pid_t>(std::stol(first));
}

void FarmTest::track_pid(pid_t pid) { tracked_pids_.emplace_back(pid, start_time(pid)); }

bool FarmTest::process_alive(pid_t pid) {
  if (pid <= 1) return false;
  if (::kill(pid, 0) != 0) return errno != ESRCH;
  // A zombie is dead: it waits only for a parent (perhaps an init that does not
  // reap) to collect its status.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;  // gone meanwhile
  return stat[paren + 2] != 'Z';
}

std::optional<pid_t> FarmTest::parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(paren + 2));
  char state = 0;
  long ppid = 0;
  if (!(rest >> state >> ppid)) return std::nullopt;
  return static_cast<pid_t>(ppid);
}

}  // namespace qube_it
