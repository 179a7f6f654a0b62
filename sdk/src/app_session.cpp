#include "qube/app_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "qube/launcher.hpp"

namespace qube {

namespace {

using Clock = std::chrono::steady_clock;

// A line longer than this is passed on without waiting for its end.
constexpr std::size_t kMaxLine = 64 * 1024;
// Without a pidfd the exit of the application is noticed by polling this often.
constexpr int kExitPollMs = 20;


std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "exited with code " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

std::string seconds_text(Seconds s) {
  std::ostringstream out;
  out << s.count() << " s";
  return out.str();
}

// write() that cannot kill the calling process with SIGPIPE when the
// application has gone: the signal is blocked in this thread for the write, and
// one it raised is taken off before unblocking.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  const ssize_t written = ::write(fd, data, size);
  const int saved = errno;
  if (written < 0 && saved == EPIPE) {
    const timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return written;
}

// CPU seconds (user + system) and peak resident memory of a live process.
struct ProcStats {
  double cputime = 0;
  std::uint64_t peak_rss_kb = 0;
};

ProcStats read_proc_stats(pid_t pid) {
  ProcStats s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  if (paren != std::string::npos && paren + 2 < line.size()) {
    std::istringstream rest(line.substr(paren + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int n = 3; n <= 15 && rest >> field; ++n) {
      if (n == 14) utime = std::atof(field.c_str());
      if (n == 15) stime = std::atof(field.c_str());
    }
    s.cputime = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) s.peak_rss_kb = std::strtoull(line.c_str() + 6, nullptr, 10);
  return s;
}

// What one exchange with the application saw.
struct Exchange {
  std::string token;  // the sentinel's output; empty when none is expected
  const OutputSink* sink = nullptr;
  bool sentinel = false;
  std::string error_line;
  std::vector<std::string> outputs;
};

enum class Pumped { sentinel, exited, deadline };

}  // namespace

struct AppSession::Impl {
  AppSessionOptions opt;
  std::string name;  // the executable's file name, for messages
  std::vector<std::regex> error_patterns;
  std::optional<std::regex> output_pattern;

  pid_t pid = -1;
  int pidfd = -1, in = -1, out = -1, err = -1;
  std::optional<int> wait_status;  // once reaped
  std::string pending_input;
  bool close_input_when_sent = false;
  std::string partial[2];          // an unfinished line per stream
  std::deque<std::string> tail;    // the last lines printed, for reasons
  int starts = 0;
  std::uint64_t counter = 0;
  std::string nonce;

  explicit Impl(AppSessionOptions o) : opt(std::move(o)) {
    if (!opt.argv.empty()) name = std::filesystem::path(opt.argv[0]).filename().string();
    for (const auto& p : opt.dialect.error_patterns) error_patterns.emplace_back(p, std::regex::ECMAScript);
    if (!opt.dialect.output_pattern.empty()) output_pattern.emplace(opt.dialect.output_pattern, std::regex::ECMAScript);
    if (!opt.dialect.sentinel) throw std::invalid_argument("AppSession: the dialect has no sentinel command");
    std::random_device rd;
    std::ostringstream hex;
    hex << std::hex << rd() << rd();
    nonce = hex.str();
  }

  bool running() const { return pid > 0; }

  // ------------------------------------------------------------ process

  // Starts the application; an error message when it cannot be.
  std::string start() {
    if (opt.argv.empty()) return "no command to start the application with";
    const std::string path = search_path(opt.env);
    const auto exe = find_program(opt.argv[0], path, opt.cwd);
    if (!exe) return "cannot start '" + opt.argv[0] + "': not found in PATH (" + path + ")";
    const Launched child = launch(application_spec(*exe));
    if (!child.started()) return start_error(*exe, child);
    adopt(child);
    return {};
  }

  // Talked to through pipes on all three streams; in the instance's process
  // group, so that the worker's kill of the instance reaches it, and dying with
  // the instance whatever happens to that.
  LaunchSpec application_spec(const std::string& exe) const {
    LaunchSpec spec;
    spec.program = exe;
    spec.argv = opt.argv;
    spec.env = opt.env;
    spec.cwd = opt.cwd;
    spec.in = ChildStream::pipe;
    spec.die_with_parent = true;
    return spec;
  }

  std::string start_error(const std::string& exe, const Launched& child) const {
    if (child.failed_step != "start") return child.failed_step + ": " + std::strerror(child.error);
    return "cannot start '" + exe + "'" + (opt.cwd.empty() ? "" : " in '" + opt.cwd + "'") + ": " +
           std::strerror(child.error);
  }

  // Takes over a freshly started application: nothing of the last one remains.
  void adopt(const Launched& child) {
    pid = child.pid;
    in = child.in;
    out = child.out;
    err = child.err;
    for (int fd : {in, out, err}) set_nonblocking(fd);
    // A pidfd lets poll() wake on the exit itself; older kernels lack it.
    pidfd = static_cast<int>(syscall(SYS_pidfd_open, child.pid, 0));
    wait_status.reset();
    pending_input.clear();
    close_input_when_sent = false;
    partial[0].clear();
    partial[1].clear();
    tail.clear();
    ++starts;
  }

  bool try_reap() {
    if (!wait_status) wait_status = qube::reap_if_ended(pid);
    return wait_status.has_value();
  }

  void kill_and_reap() {
    if (!wait_status) {
      ::kill(pid, SIGKILL);
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      wait_status = status;
    }
  }

  // Forgets the (reaped) process.
  void release() {
    for (int* fd : {&in, &out, &err, &pidfd}) close_fd(*fd);
    pid = -1;
  }

  // ------------------------------------------------------------ talking

  void send(const std::string& text) { pending_input += text; }

  void write_pending() {
    while (!pending_input.empty() && in >= 0) {
      const ssize_t n = write_without_sigpipe(in, pending_input.data(), pending_input.size());
      if (n > 0) {
        pending_input.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        return;
      } else {
        // It closed its input: whatever it was to read is lost; its exit, if
        // it comes, ends the exchange.
        pending_input.clear();
        close_fd(in);
      }
    }
    if (pending_input.empty() && close_input_when_sent) close_fd(in);
  }

  void handle_line(std::string line, Exchange& ex, std::string& forward) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!ex.token.empty() && line.find(ex.token) != std::string::npos) {
      ex.sentinel = true;  // not passed on: it is the session's, not the item's
      return;
    }
    if (line.find_first_not_of(" \t") != std::string::npos) {
      tail.push_back(line);
      if (tail.size() > 3) tail.pop_front();
    }
    if (ex.error_line.empty())
      for (const auto& re : error_patterns)
        if (std::regex_search(line, re)) {
          ex.error_line = line;
          break;
        }
    std::smatch m;
    if (output_pattern && std::regex_search(line, m, *output_pattern) && m.size() > 1 && m[1].length() > 0)
      ex.outputs.push_back(m[1].str());
    forward += line;
    forward += '\n';
  }

  // Cuts what arrived into lines. Lines after the sentinel stay buffered for the
  // next exchange.
  void feed(Stream stream, const char* data, std::size_t size, Exchange& ex) {
    std::string& buf = partial[stream == Stream::err ? 1 : 0];
    buf.append(data, size);
    std::string forward;
    std::size_t start = 0;
    bool sentinel_here = false;
    while (!sentinel_here) {
      const auto nl = buf.find('\n', start);
      if (nl == std::string::npos) break;
      const bool before = ex.sentinel;
      handle_line(buf.substr(start, nl - start), ex, forward);
      sentinel_here = ex.sentinel && !before;
      start = nl + 1;
    }
    buf.erase(0, start);
    if (buf.size() > kMaxLine) {
      handle_line(std::move(buf), ex, forward);
      buf.clear();
    }
    if (!forward.empty() && ex.sink && *ex.sink) (*ex.sink)(stream, forward);
  }

  // Reads what is there now; false at end of stream.
  bool read_available(int& fd, Stream stream, Exchange& ex) {
    return qube::read_available(fd, [&](std::string_view data) { feed(stream, data.data(), data.size(), ex); });
  }

  // Passes on a last unfinished line when the process is gone.
  void flush_partial(Exchange& ex) {
    for (Stream s : {Stream::out, Stream::err}) {
      std::string& buf = partial[s == Stream::err ? 1 : 0];
      if (buf.empty()) continue;
      std::string forward;
      handle_line(std::move(buf), ex, forward);
      buf.clear();
      if (!forward.empty() && ex.sink && *ex.sink) (*ex.sink)(s, forward);
    }
  }

  // Moves input and output until the sentinel comes back, the application
  // exits, or the deadline passes.
  Pumped pump(Exchange& ex, std::optional<Clock::time_point> deadline) {
    // Lines left over from the last exchange come first.
    for (Stream s : {Stream::err, Stream::out}) feed(s, "", 0, ex);
    while (true) {
      if (ex.sentinel) {
        read_available(err, Stream::err, ex);  // its error lines were written before the sentinel
        return Pumped::sentinel;
      }
      write_pending();
      int timeout_ms = -1;
      if (deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
        if (left <= 0) return Pumped::deadline;
        timeout_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
      }
      if (pidfd < 0) timeout_ms = timeout_ms < 0 ? kExitPollMs : std::min(timeout_ms, kExitPollMs);
      pollfd fds[4];
      nfds_t n = 0;
      auto add = [&](int fd, short events) {
        if (fd >= 0) fds[n++] = pollfd{fd, events, 0};
      };
      add(err, POLLIN);
      add(out, POLLIN);
      add(pending_input.empty() ? -1 : in, POLLOUT);
      add(pidfd, POLLIN);
      if (poll(fds, n, timeout_ms) < 0 && errno != EINTR) return Pumped::deadline;  // cannot happen
      read_available(err, Stream::err, ex);
      read_available(out, Stream::out, ex);
      if (ex.sentinel) continue;
      if (try_reap()) {
        // Whatever it wrote before exiting belongs to this exchange.
        read_available(err, Stream::err, ex);
        read_available(out, Stream::out, ex);
        if (ex.sentinel) continue;
        flush_partial(ex);
        return Pumped::exited;
      }
    }
  }

  std::string last_line() const { return tail.empty() ? std::string() : tail.back(); }

  // "maya exited with code 3 (last output: '...')"
  std::string death(const std::string& when) const {
    std::string text = name + " " + describe_status(*wait_status) + " " + when;
    if (!tail.empty()) text += " (last output: '" + last_line() + "')";
    return text;
  }

  // Sends `commands` and the sentinel, and waits for it.
  Pumped exchange(const std::vector<std::string>& commands, Exchange& ex, Seconds timeout) {
    const std::string head = "QUBE_SENTINEL_";
    const std::string tail_part = std::to_string(getpid()) + "_" + nonce + "_" + std::to_string(++counter);
    ex.token = head + tail_part;
    for (const auto& c : commands) send(c + "\n");
    send(opt.dialect.sentinel(head, tail_part) + "\n");
    std::optional<Clock::time_point> deadline;
    if (timeout.count() > 0) deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
    return pump(ex, deadline);
  }

  void fill_exit(AppItemResult& r) const {
    if (!wait_status) return;
    if (WIFSIGNALED(*wait_status)) {
      r.signal = WTERMSIG(*wait_status);
      r.exitcode = 128 + *r.signal;
    } else if (WIFEXITED(*wait_status)) {
      r.exitcode = WEXITSTATUS(*wait_status);
    }
  }

  // Starts the application and runs its setup; fills `r` and returns false when
  // that fails (the application is then gone).
  bool ensure_started(const OutputSink& sink, AppItemResult& r) {
    if (running()) return true;
    if (const std::string problem = start(); !problem.empty()) {
      r.end = AppEnd::start_failed;
      r.reason = problem;
      return false;
    }
    r.pid = pid;
    Exchange ex;
    ex.sink = &sink;
    const Pumped p = exchange(opt.setup, ex, opt.startup_timeout);
    if (p == Pumped::sentinel && ex.error_line.empty()) return true;
    r.end = AppEnd::start_failed;
    if (p == Pumped::sentinel) {
      r.reason = name + " failed to start: " + ex.error_line;
      kill_and_reap();  // the next item starts it afresh
    } else if (p == Pumped::exited) {
      r.reason = death("while starting");
    } else {
      kill_and_reap();
      r.reason = name + " did not finish starting within " + seconds_text(opt.startup_timeout) + ": killed";
    }
    fill_exit(r);
    release();
    return false;
  }

  AppItemResult run(const std::vector<std::string>& commands, const OutputSink& sink) {
    AppItemResult r;
    if (!ensure_started(sink, r)) return r;
    r.pid = pid;
    const ProcStats before = read_proc_stats(pid);
    Exchange ex;
    ex.sink = &sink;
    const Pumped p = exchange(commands, ex, opt.item_timeout);
    r.outputs = std::move(ex.outputs);
    if (p == Pumped::sentinel) {
      const ProcStats after = read_proc_stats(pid);
      r.cputime = std::max(0.0, after.cputime - before.cputime);
      r.peak_rss_kb = after.peak_rss_kb;
      r.end = ex.error_line.empty() ? AppEnd::ok : AppEnd::error;
      r.reason = ex.error_line;
      return r;
    }
    if (p == Pumped::exited) {
      r.end = AppEnd::died;
      r.reason = death("during the item; it is started again for the next item");
      if (!ex.error_line.empty()) r.reason += "; first error: " + ex.error_line;
    } else {
      kill_and_reap();
      r.end = AppEnd::timeout;
      r.reason = "no answer from " + name + " within the item timeout of " + seconds_text(opt.item_timeout) +
                 ": killed; it is started again for the next item";
    }
    fill_exit(r);
    release();
    return r;
  }

  AppQuit quit() {
    if (!running()) return AppQuit::not_running;
    Exchange ex;  // no token, no sink: output at exit is nobody's item
    const auto grace = std::chrono::duration_cast<Clock::duration>(opt.quit_grace);
    AppQuit how = AppQuit::quit;
    if (!opt.dialect.quit.empty()) send(opt.dialect.quit + "\n");
    close_input_when_sent = true;  // end of input asks most prompts to exit too
    if (pump(ex, Clock::now() + grace) != Pumped::exited) {
      how = AppQuit::terminated;
      ::kill(pid, SIGTERM);
      if (pump(ex, Clock::now() + grace) != Pumped::exited) {
        how = AppQuit::killed;
        kill_and_reap();
      }
    }
    release();
    return how;
  }
};

AppSession::AppSession(AppSessionOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

AppSession::~AppSession() {
  try {
    impl_->quit();
  } catch (...) {
    // A destructor does not throw; the child dies with us anyway (PDEATHSIG).
  }
}

AppItemResult AppSession::run(const std::vector<std::string>& commands, const OutputSink& sink) {
  return impl_->run(commands, sink);
}

AppQuit AppSession::quit() { return impl_->quit(); }
pid_t AppSession::pid() const { return impl_->pid; }
int AppSession::starts() const { return impl_->starts; }

}  // namespace qube
