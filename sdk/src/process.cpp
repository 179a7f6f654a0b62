#include "qube/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

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
  // Everything the child needs is prepared before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  // execvpe searches PATH of the *caller*; search the child's PATH instead.
  std::string path_env = env.count("PATH") ? env.at("PATH") : "/usr/local/bin:/usr/bin:/bin";

  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(exec_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  const pid_t parent = getpid();
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1]})
      close(fd);
    return result;
  }
  if (pid == 0) {
    // Dies with the instance process, so a killed worker leaves no stray frames.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    signal(SIGPIPE, SIG_DFL);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
      int e = errno;
      (void)!write(exec_pipe[1], &e, sizeof e);
      _exit(127);
    }
    if (std::strchr(args[0], '/')) {
      execve(args[0], args.data(), envp.data());
    } else {
      // PATH search by hand over the child's own PATH.
      const char* p = path_env.c_str();
      char buf[4096];
      while (*p) {
        const char* colon = std::strchr(p, ':');
        std::size_t len = colon ? static_cast<std::size_t>(colon - p) : std::strlen(p);
        std::size_t nlen = std::strlen(args[0]);
        if (len + nlen + 2 < sizeof buf) {
          std::memcpy(buf, p, len);
          buf[len] = '/';
          std::memcpy(buf + len + 1, args[0], nlen + 1);
          execve(buf, args.data(), envp.data());
        }
        if (!colon) break;
        p = colon + 1;
      }
    }
    int e = errno;
    (void)!write(exec_pipe[1], &e, sizeof e);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);

  int exec_errno = 0;
  if (read(exec_pipe[0], &exec_errno, sizeof exec_errno) == static_cast<ssize_t>(sizeof exec_errno))
    result.error = (cwd.empty() || exec_errno != ENOENT ? "cannot run '" + argv[0] + "': "
                                                         : "cannot run '" + argv[0] + "' in '" + cwd + "': ") +
                   std::strerror(exec_errno);
  close(exec_pipe[0]);

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (sink) sink(i == 0 ? Stream::out : Stream::err, std::string_view(buf, static_cast<std::size_t>(n)));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }

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
  return result;
}

}  // namespace qube
