#include "qube/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

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

// argv[0] as a path to execute: as given when it contains a slash (a relative one
// is taken in the child's cwd, after its chdir), else the first executable
// file of that name in `path` (the child's PATH; relative entries, like ".", also
// from its cwd). nullopt when there is none: never the caller's current directory.
std::optional<std::string> find_program(const std::string& name, const std::string& path, const std::string& cwd) {
  if (name.find('/') != std::string::npos) return name;
  std::size_t at = 0;
  while (at <= path.size()) {
    const std::size_t colon = std::min(path.find(':', at), path.size());
    const std::string dir = path.substr(at, colon - at);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    const std::string seen_from_here = candidate[0] == '/' || cwd.empty() ? candidate : cwd + "/" + candidate;
    struct stat st{};
    if (stat(seen_from_here.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(seen_from_here.c_str(), X_OK) == 0)
      return candidate;
    at = colon + 1;
  }
  return std::nullopt;
}

// Starts `program` with its output on the given pipe ends and stdin on /dev/null.
// posix_spawn rather than fork: glibc starts the child with CLONE_VM|CLONE_VFORK,
// so nothing of this (large, plugin-laden) process's page tables is copied for each
// frame; fork and its copy-on-write faults were most of a short frame's cost here.
// Returns 0 or the errno of what failed (chdir, exec).
int spawn(const std::string& program, char* const* argv, char* const* envp, const std::string& cwd, int out,
          int err, pid_t& pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // Only stdin, stdout and stderr: nothing the instance or the daemons above it
  // inherited or opened (a worker started from a shell, a plugin's files) leaks
  // into the frame.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  // The frame starts with default signal handling and nothing blocked, whatever
  // the instance process set up for itself (SIGPIPE ignored, SIGUSR1 handled).
  sigset_t defaults, none;
  sigfillset(&defaults);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv, envp);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
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
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  // execvpe would search the PATH of the *caller*; search the child's instead.
  const auto path = env.find("PATH");
  const auto program = find_program(argv[0], path != env.end() ? path->second : "/usr/local/bin:/usr/bin:/bin", cwd);
  if (!program) {
    result.error = "cannot run '" + argv[0] + "': not found in PATH";
    return result;
  }

  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      if (fd >= 0) close(fd);
    return result;
  }
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int spawn_errno = spawn(*program, args.data(), envp.data(), cwd, out_pipe[1], err_pipe[1], pid);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawn_errno != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    result.error = (cwd.empty() || spawn_errno != ENOENT ? "cannot run '" + argv[0] + "': "
                                                         : "cannot run '" + argv[0] + "' in '" + cwd + "': ") +
                   std::strerror(spawn_errno);
    return result;
  }

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
