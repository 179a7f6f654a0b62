#include "qube/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "qube/launcher.hpp"

extern char** environ;

namespace qube {

namespace {

double seconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

// Shell syntax that only a shell can carry out; a command line without any of it
// can be split on whitespace and executed directly.
bool needs_shell(const std::string& line) {
  for (char c : line)
    if (std::strchr("|&;<>()$`\\\"'*?[]#~=%{}\n", c)) return true;
  return false;
}

bool is_plain_word(const std::string& w) {
  return !w.empty() && !needs_shell(w) && w.find_first_of(" \t") == std::string::npos;
}

// A frame: stdin empty, stdout and stderr on pipes, in the instance's process
// group (so that the worker's kill of the instance's group ends it too), default
// signals, and no other descriptor: nothing the instance or the daemons above it
// inherited or opened (a worker started from a shell, a plugin's files) leaks in.
LaunchSpec frame_spec(const std::string& program, const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, const std::string& cwd) {
  LaunchSpec spec;
  spec.program = program;
  spec.argv = argv;
  spec.env = env;
  spec.cwd = cwd;
  return spec;  // the defaults are a frame's
}

std::string start_error(const std::string& name, const std::string& cwd, const Launched& child) {
  if (child.failed_step != "start") return child.failed_step + ": " + std::strerror(child.error);
  const bool in_cwd = !cwd.empty() && child.error == ENOENT;  // the cwd may be what is missing
  return "cannot run '" + name + "'" + (in_cwd ? " in '" + cwd + "'" : "") + ": " + std::strerror(child.error);
}

// Passes both streams to `sink` as they arrive, until both are closed; closes them.
void stream_output(int out, int err, const OutputSink& sink) {
  pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (sink) sink(i == 0 ? Stream::out : Stream::err, std::string_view(buf, static_cast<std::size_t>(n)));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
}

// Waits for the child and fills in how it ended and what it used.
void collect_exit(pid_t pid, std::chrono::steady_clock::time_point started, ProcessResult& result) {
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.walltime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.cputime = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  result.peak_rss_kb = static_cast<std::uint64_t>(usage.ru_maxrss);
  if (WIFEXITED(status)) {
    result.exitcode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exitcode = 128 + WTERMSIG(status);
  }
}

}  // namespace

std::vector<std::string> command_argv(const std::string& line) {
  if (needs_shell(line)) return {"/bin/sh", "-c", line};
  std::vector<std::string> argv;
  std::string word;
  for (char c : line) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) argv.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) argv.push_back(std::move(word));
  return argv;
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    if (is_plain_word(a)) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'') out += "'\\''";
        else out += c;
      }
      out += '\'';
    }
  }
  return out;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env.emplace(std::string(*e, static_cast<std::size_t>(eq - *e)), std::string(eq + 1));
  }
  return env;
}

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, const std::string& cwd,
                          const OutputSink& sink) {
  ProcessResult result;
  if (argv.empty()) {
    result.error = "empty command";
    return result;
  }
  // Not execvpe: that would search the PATH of the *caller*; the child's is searched.
  const auto program = find_program(argv[0], search_path(env), cwd);
  if (!program) {
    result.error = "cannot run '" + argv[0] + "': not found in PATH";
    return result;
  }
  const auto started = std::chrono::steady_clock::now();
  const Launched child = launch(frame_spec(*program, argv, env, cwd));
  if (!child.started()) {
    result.error = start_error(argv[0], cwd, child);
    return result;
  }
  stream_output(child.out, child.err, sink);
  collect_exit(child.pid, started, result);
  return result;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

bool read_available(int& fd, const std::function<void(std::string_view)>& take) {
  char buf[65536];
  while (fd >= 0) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      take(std::string_view(buf, static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) < sizeof buf) return true;  // drained: no second read to learn so
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return true;
    } else {
      close_fd(fd);
    }
  }
  return false;
}

std::optional<int> reap_if_ended(int pid) {
  int status = 0;
  pid_t r;
  while ((r = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r == pid) return status;
  return std::nullopt;
}

}  // namespace qube
