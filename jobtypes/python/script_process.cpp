#include "script_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "qube/launcher.hpp"

namespace qube::python_backend {

namespace {

// Without a pidfd (old kernels) the script's exit is noticed by polling this often.
constexpr int kExitPollMs = 20;
// How much of the end of standard error is kept for reasons.
constexpr std::size_t kErrTail = 4096;
// After the exit, how long output still held open by the script's own children
// is waited for.
constexpr auto kDrainTime = std::chrono::seconds(2);


int poll_timeout_ms(std::optional<SteadyClock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

}  // namespace

ScriptProcess::ScriptProcess(const std::vector<std::string>& argv, std::map<std::string, std::string> env,
                             const std::string& cwd) {
  if (argv.empty()) throw std::runtime_error("no command to start the script with");
  const std::string path = search_path(env);
  const auto exe = find_program(argv[0], path, cwd);
  if (!exe) throw std::runtime_error("cannot start '" + argv[0] + "': not found in PATH (" + path + ")");
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  LaunchSpec spec;
  spec.program = *exe;
  spec.argv = argv;
  env["QB_BACKEND_FD"] = "3";  // pass_fds' first descriptor
  spec.env = std::move(env);
  spec.cwd = cwd;
  spec.pass_fds = {pair[1]};
  // In the instance's process group, so that the worker's kill of the instance
  // reaches it, and dying with the instance whatever happens to that.
  spec.die_with_parent = true;
  const Launched child = launch(spec);
  ::close(pair[1]);
  if (!child.started()) {
    ::close(pair[0]);
    throw std::runtime_error("cannot start '" + *exe + "'" + (cwd.empty() ? "" : " in '" + cwd + "'") + ": " +
                             child.failed_step + ": " + std::strerror(child.error));
  }
  pid_ = child.pid;
  channel_ = pair[0];
  out_ = child.out;
  err_ = child.err;
  for (int fd : {channel_, out_, err_}) set_nonblocking(fd);
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

ScriptProcess::~ScriptProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    wait_reaped();
  }
  for (int* fd : {&channel_, &out_, &err_, &pidfd_}) close_fd(*fd);
}

bool ScriptProcess::try_reap() {
  if (!status_) status_ = reap_if_ended(pid_);
  return status_.has_value();
}

void ScriptProcess::wait_reaped() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
}

bool ScriptProcess::read_output(int& fd, Stream stream, const OutputSink& sink) {
  return read_available(fd, [&](std::string_view data) {
    if (stream == Stream::err) {
      err_tail_.append(data);
      if (err_tail_.size() > kErrTail) err_tail_.erase(0, err_tail_.size() - kErrTail);
    }
    if (sink) sink(stream, data);
  });
}

// What the script wrote before it exited belongs to the item it ran; its own
// children may hold the pipes open, so this waits for their end only briefly.
void ScriptProcess::drain_output(const OutputSink& sink) {
  const auto until = SteadyClock::now() + kDrainTime;
  while (out_ >= 0 || err_ >= 0) {
    read_output(err_, Stream::err, sink);
    read_output(out_, Stream::out, sink);
    if ((out_ < 0 && err_ < 0) || SteadyClock::now() >= until) break;
    pollfd fds[2];
    nfds_t n = 0;
    for (int fd : {out_, err_})
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
    poll(fds, n, poll_timeout_ms(until));
  }
}

bool ScriptProcess::read_channel() {
  char buf[65536];
  // Never more than one over-long line: that is enough to refuse it.
  while (inbox_.size() <= kMaxMessage) {
    const ssize_t n = ::recv(channel_, buf, sizeof buf, 0);
    if (n > 0) inbox_.append(buf, static_cast<std::size_t>(n));
    else if (n < 0 && errno == EINTR) continue;
    else return n < 0 && errno == EAGAIN;
  }
  return true;
}

std::optional<ScriptEvent> ScriptProcess::take_message() {
  const auto nl = inbox_.find('\n');
  ScriptEvent ev;
  if (nl == std::string::npos) {
    if (inbox_.size() <= kMaxMessage) return std::nullopt;
    ev.kind = ScriptEvent::Kind::bad_message;
    ev.error = "a request longer than " + std::to_string(kMaxMessage) + " bytes";
    inbox_.clear();
    return ev;
  }
  const std::string line = inbox_.substr(0, nl);
  inbox_.erase(0, nl + 1);
  try {
    ev.message = Json::parse(line);
    if (!ev.message.is_object() || !ev.message.contains("op") || !ev.message["op"].is_string())
      throw std::invalid_argument("not an object with a string 'op'");
  } catch (const std::exception& e) {
    ev.kind = ScriptEvent::Kind::bad_message;
    ev.error = "a request that is not JSON {\"op\": ...}: " + std::string(e.what());
  }
  return ev;
}

ScriptEvent ScriptProcess::next(const OutputSink& sink, std::optional<SteadyClock::time_point> deadline) {
  // The script flushes its output before each request (qb/backend.py), so what
  // it printed before a request is in the pipes when the request is read.
  auto with_output_so_far = [&](ScriptEvent ev) {
    read_output(err_, Stream::err, sink);
    read_output(out_, Stream::out, sink);
    return ev;
  };
  while (true) {
    if (auto m = take_message()) return with_output_so_far(*m);
    if (status_) return ScriptEvent{ScriptEvent::Kind::exited, {}, {}};
    int timeout_ms = poll_timeout_ms(deadline);
    if (pidfd_ < 0) timeout_ms = timeout_ms < 0 ? kExitPollMs : std::min(timeout_ms, kExitPollMs);
    pollfd fds[4];
    nfds_t n = 0;
    for (int fd : {channel_closed_ ? -1 : channel_, out_, err_, pidfd_})
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
    if (poll(fds, n, timeout_ms) < 0 && errno != EINTR)
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    read_output(err_, Stream::err, sink);
    read_output(out_, Stream::out, sink);
    if (!channel_closed_ && !read_channel()) channel_closed_ = true;
    if (auto m = take_message()) return with_output_so_far(*m);
    if (try_reap()) {
      drain_output(sink);
      return ScriptEvent{ScriptEvent::Kind::exited, {}, {}};
    }
    if (deadline && SteadyClock::now() >= *deadline) return ScriptEvent{ScriptEvent::Kind::deadline, {}, {}};
  }
}

void ScriptProcess::reply(const Json& answer) {
  const std::string line = answer.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  std::size_t sent = 0;
  while (sent < line.size() && !status_) {
    const ssize_t n = ::send(channel_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      // A large answer to a script that reads it slowly; its exit ends the wait.
      pollfd fds[2] = {{channel_, POLLOUT, 0}, {pidfd_, POLLIN, 0}};
      poll(fds, pidfd_ >= 0 ? 2 : 1, pidfd_ >= 0 ? -1 : kExitPollMs);
      try_reap();
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // it closed the channel; next() sees the exit
    }
  }
}

void ScriptProcess::terminate(std::chrono::milliseconds grace, const OutputSink& sink) {
  if (status_) return;
  ::kill(pid_, SIGTERM);
  const auto until = SteadyClock::now() + grace;
  while (!status_) {
    const ScriptEvent ev = next(sink, until);
    if (ev.kind == ScriptEvent::Kind::deadline) break;
    if (ev.kind == ScriptEvent::Kind::message) reply(Json{{"error", "the instance is stopping"}});
  }
  if (!status_) {
    ::kill(pid_, SIGKILL);
    wait_reaped();
    drain_output(sink);
  }
}

std::string ScriptProcess::exit_text() const {
  if (!status_) return "is running";
  if (WIFSIGNALED(*status_)) {
    const int sig = WTERMSIG(*status_);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "exited (code " + std::to_string(WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1) + ")";
}

std::optional<int> ScriptProcess::exitcode() const {
  if (!status_) return std::nullopt;
  if (WIFSIGNALED(*status_)) return 128 + WTERMSIG(*status_);
  return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
}

std::optional<int> ScriptProcess::signal() const {
  if (!status_ || !WIFSIGNALED(*status_)) return std::nullopt;
  return WTERMSIG(*status_);
}

std::string ScriptProcess::last_error_line() const {
  std::size_t end = err_tail_.size();
  while (end > 0) {
    const auto start = err_tail_.rfind('\n', end - 1);
    const std::size_t from = start == std::string::npos ? 0 : start + 1;
    std::string line = err_tail_.substr(from, end - from);
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (start == std::string::npos) break;
    end = start;
  }
  return {};
}

}  // namespace qube::python_backend
