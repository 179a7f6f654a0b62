#include "qube/launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace qube {

namespace {

struct Failure {
  const char* step;
  int error;
};

// Descriptors opened for one launch that the caller closes once the child has
// its copies (or did not start).
class TemporaryFds {
 public:
  TemporaryFds() = default;
  TemporaryFds(const TemporaryFds&) = delete;
  TemporaryFds& operator=(const TemporaryFds&) = delete;
  ~TemporaryFds() {
    for (int fd : fds_) ::close(fd);
  }
  int keep(int fd) {
    fds_.push_back(fd);
    return fd;
  }

 private:
  std::vector<int> fds_;
};

// argv and envp as execve wants them, built before the child exists: after a
// fork only async-signal-safe calls are allowed.
class ExecArgs {
 public:
  explicit ExecArgs(const LaunchSpec& spec) : args_(spec.argv) {
    for (const auto& [k, v] : spec.env) env_.push_back(k + "=" + v);
    for (auto& s : args_) argv_.push_back(s.data());
    for (auto& s : env_) envp_.push_back(s.data());
    argv_.push_back(nullptr);
    envp_.push_back(nullptr);
  }
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  std::vector<std::string> args_, env_;
  std::vector<char*> argv_, envp_;
};

// The child's descriptor n as one of its standard streams: appends to `from` what
// it is a copy of (-1: left as the caller's), the caller's pipe end to `mine`.
std::optional<Failure> plan_stream(ChildStream kind, int n, int& mine, TemporaryFds& tmp, std::vector<int>& from) {
  switch (kind) {
    case ChildStream::inherit:
      from.push_back(-1);
      return std::nullopt;
    case ChildStream::as_stdout:
      if (n != 2) return Failure{"as_stdout (stderr only)", EINVAL};
      from.push_back(from[1] >= 0 ? from[1] : 1);
      return std::nullopt;
    case ChildStream::null: {
      const int fd = ::open("/dev/null", (n == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
      if (fd < 0) return Failure{"open /dev/null", errno};
      from.push_back(tmp.keep(fd));
      return std::nullopt;
    }
    case ChildStream::pipe: {
      int ends[2];
      if (::pipe2(ends, O_CLOEXEC) != 0) return Failure{"pipe", errno};
      const bool child_reads = n == 0;
      mine = ends[child_reads ? 1 : 0];
      from.push_back(tmp.keep(ends[child_reads ? 0 : 1]));
      return std::nullopt;
    }
  }
  return Failure{"stream kind", EINVAL};
}

// A copy of `fd` numbered `top` or above (close-on-exec), closed with `tmp`: a
// source numbered like a target could be overwritten by an earlier dup2, or be
// dup2'ed onto itself and so keep its close-on-exec.
std::optional<Failure> lift(int& fd, int top, TemporaryFds& tmp) {
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, top);
  if (moved < 0) return Failure{"fcntl", errno};
  fd = tmp.keep(moved);
  return std::nullopt;
}

// from[n]: what the child's descriptor n is a copy of (-1: the caller's own n).
std::optional<Failure> plan_descriptors(const LaunchSpec& spec, Launched& r, TemporaryFds& tmp,
                                        std::vector<int>& from) {
  const ChildStream kinds[3] = {spec.in, spec.out, spec.err};
  int* mine[3] = {&r.in, &r.out, &r.err};
  for (int n = 0; n < 3; ++n)
    if (auto failure = plan_stream(kinds[n], n, *mine[n], tmp, from)) return failure;
  from.insert(from.end(), spec.pass_fds.begin(), spec.pass_fds.end());
  const int top = static_cast<int>(from.size());
  for (int& fd : from)
    if (fd >= 0 && fd < top)
      if (auto failure = lift(fd, top, tmp)) return failure;
  return std::nullopt;
}

std::optional<Failure> spawn_child(const LaunchSpec& spec, const std::vector<int>& from, const ExecArgs& args,
                                   pid_t& pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  for (std::size_t n = 0; n < from.size(); ++n)
    if (from[n] >= 0) posix_spawn_file_actions_adddup2(&actions, from[n], static_cast<int>(n));
  posix_spawn_file_actions_addclosefrom_np(&actions, static_cast<int>(from.size()));
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  short flags = POSIX_SPAWN_SETSIGMASK;
  posix_spawnattr_setsigmask(&attr, &none);
  if (spec.default_signals) {
    posix_spawnattr_setsigdefault(&attr, &all);
    flags |= POSIX_SPAWN_SETSIGDEF;
  }
  if (spec.own_process_group) {
    posix_spawnattr_setpgroup(&attr, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&attr, flags);
  const int rc = posix_spawn(&pid, spec.program.c_str(), &actions, &attr, args.argv(), args.envp());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Failure{"start", rc};
  return std::nullopt;
}

// The child's failure, for the parent. `step` points at a string literal, at
// the same address in the parent (fork copied the address space).
[[noreturn]] void report_and_exit(int report, Failure failure) {
  (void)!::write(report, &failure, sizeof failure);
  _exit(127);
}

// In the forked child: only async-signal-safe calls.
[[noreturn]] void exec_in_child(const LaunchSpec& spec, const std::vector<int>& from, const ExecArgs& args,
                                pid_t parent, int report) {
  if (spec.own_process_group) setpgid(0, 0);
  // Before the parent-death signal: the kernel clears that when the uid changes.
  if (spec.run_as) {
    const char* step = "run_as";
    if (const int e = become_in_child(*spec.run_as, &step)) report_and_exit(report, Failure{step, e});
  }
  if (spec.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before the line above
  }
  for (std::size_t n = 0; n < from.size(); ++n)
    if (from[n] >= 0) dup2(from[n], static_cast<int>(n));  // the copy is not close-on-exec
  // Everything above is closed by the exec, the report pipe only then.
  close_range(static_cast<unsigned>(from.size()), ~0U, CLOSE_RANGE_CLOEXEC);
  if (spec.default_signals) {
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &fallback, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) report_and_exit(report, Failure{"start", errno});
  execve(spec.program.c_str(), args.argv(), args.envp());
  report_and_exit(report, Failure{"start", errno});
}

// fork rather than posix_spawn, for what only the child can do (PDEATHSIG, a
// change of user). The child's failure comes back through a close-on-exec pipe,
// so that both ways report it alike, before the caller goes on.
std::optional<Failure> fork_child(const LaunchSpec& spec, const std::vector<int>& from, const ExecArgs& args,
                                  TemporaryFds& tmp, pid_t& pid) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Failure{"pipe", errno};
  tmp.keep(report[0]);
  const int writer = ::fcntl(report[1], F_DUPFD_CLOEXEC, static_cast<int>(from.size()));
  ::close(report[1]);
  if (writer < 0) return Failure{"fcntl", errno};
  const pid_t parent = getpid();
  pid = fork();
  if (pid == 0) exec_in_child(spec, from, args, parent, writer);
  const int fork_errno = errno;
  ::close(writer);
  if (pid < 0) return Failure{"fork", fork_errno};
  // Also here: a kill of the group right after the start must find it.
  if (spec.own_process_group) setpgid(pid, pid);
  Failure child_failure{"start", 0};
  ssize_t n;
  while ((n = ::read(report[0], &child_failure, sizeof child_failure)) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof child_failure)) return std::nullopt;
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid = -1;
  return child_failure;
}

Launched failed(Launched r, Failure failure) {
  for (int* fd : {&r.in, &r.out, &r.err})
    if (*fd >= 0) ::close(std::exchange(*fd, -1));
  r.pid = -1;
  r.failed_step = failure.step;
  r.error = failure.error;
  return r;
}

}  // namespace

void run_as_login(LaunchSpec& spec, const Account& account) {
  spec.run_as = account;
  spec.env["HOME"] = account.home;
  spec.env["USER"] = spec.env["LOGNAME"] = account.name;
  struct stat st {};
  if (spec.cwd.empty())
    spec.cwd = !account.home.empty() && ::stat(account.home.c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? account.home : "/";
}

Launched launch(const LaunchSpec& spec) {
  Launched r;
  TemporaryFds tmp;
  std::vector<int> from;
  auto failure = plan_descriptors(spec, r, tmp, from);
  if (!failure) {
    const ExecArgs args(spec);
    const bool needs_fork = spec.die_with_parent || spec.run_as.has_value();
    failure = needs_fork ? fork_child(spec, from, args, tmp, r.pid) : spawn_child(spec, from, args, r.pid);
  }
  return failure ? failed(r, *failure) : r;
}

std::optional<std::string> find_program(const std::string& name, const std::string& path, const std::string& cwd) {
  if (name.find('/') != std::string::npos) return name;
  std::size_t at = 0;
  while (at <= path.size()) {
    const std::size_t colon = std::min(path.find(':', at), path.size());
    const std::string dir = path.substr(at, colon - at);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    const std::string seen_from_here = candidate[0] == '/' || cwd.empty() ? candidate : cwd + "/" + candidate;
    struct stat st {};
    if (::stat(seen_from_here.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(seen_from_here.c_str(), X_OK) == 0)
      return candidate;
    at = colon + 1;
  }
  return std::nullopt;
}

std::string search_path(const std::map<std::string, std::string>& env) {
  const auto path = env.find("PATH");
  return path != env.end() ? path->second : "/usr/local/bin:/usr/bin:/bin";
}

}  // namespace qube
