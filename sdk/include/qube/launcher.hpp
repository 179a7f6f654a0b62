#pragma once
// The one way Qube starts a child process (frames, kept-alive applications,
// supervisor callbacks, the worker's qbinstance), and the one PATH search.
//
// Whatever the caller, the child gets exactly the descriptors the spec lists
// (0, 1, 2 and pass_fds as 3, 4, ...; nothing the caller or a plugin left open
// without close-on-exec), exactly `env`, an empty signal mask and, unless told
// otherwise, default signal dispositions. It is started with posix_spawn (no copy
// of a large, plugin-laden parent's page tables per frame), or with fork when
// die_with_parent or run_as asks for a step posix_spawn cannot do in the child.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qube/account.hpp"

namespace qube {

// What one of the child's standard descriptors (0, 1, 2) is.
enum class ChildStream : std::uint8_t {
  null,       // /dev/null
  pipe,       // a pipe; the parent gets the other end
  as_stdout,  // stderr only: the same as stdout (both streams in one pipe)
  inherit,    // the caller's own descriptor of that number
};

struct LaunchSpec {
  std::string program;                     // the file executed; find_program() turns a name into it
  std::vector<std::string> argv;           // argv[0] included
  std::map<std::string, std::string> env;  // exactly the child's environment
  std::string cwd;                         // empty: the caller's
  ChildStream in = ChildStream::null;
  ChildStream out = ChildStream::pipe;
  ChildStream err = ChildStream::pipe;
  std::vector<int> pass_fds;  // caller's descriptors the child gets as 3, 4, ... (the caller keeps its own)
  // A group of its own (pgid = pid), so that one kill(-pid) reaches everything it
  // starts; otherwise the caller's group, so that whoever kills that reaches it.
  bool own_process_group = false;
  // Every signal disposition back to default (the mask is always emptied): a
  // frame must die of SIGPIPE even though its instance ignores it.
  bool default_signals = true;
  // PR_SET_PDEATHSIG SIGKILL: the child dies when the calling thread does, even
  // if that one is killed without a chance to clean up. posix_spawn cannot set
  // it, so such a child is started with fork.
  bool die_with_parent = false;
  // The account the child runs as (its groups, gid and uid set in the child,
  // before its cwd and exec, so both are checked with its rights); none: the
  // caller's. Needs root unless it is the caller's own user. Forces the fork.
  std::optional<Account> run_as;
};

struct Launched {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;  // the caller's ends of the pipes (close-on-exec); -1 where none
  // When it did not start: the step that failed ("pipe", "open /dev/null",
  // "fcntl", "fork", "start": the child's chdir or exec, or the run_as step:
  // "setgroups", "setgid", "setuid" ...) and its errno.
  std::string failed_step;
  int error = 0;
  bool started() const { return pid > 0; }
};

// `spec`'s child runs as `account`, set up as a login would: HOME, USER and
// LOGNAME are the account's, and, unless spec.cwd is given, it starts in the
// account's home (/ if that is not a directory).
void run_as_login(LaunchSpec& spec, const Account& account);

// Starts the child; the caller owns the returned pid (to wait for) and ends.
Launched launch(const LaunchSpec& spec);

// `name` as a path to execute: as given when it contains a slash (a relative
// one is taken in the child's cwd), else the first executable regular file of
// that name in `path` (the child's PATH), relative entries such as "." or ""
// taken from `cwd` (empty: the caller's). nullopt when there is none: a bare
// name is never looked for in the caller's directory.
std::optional<std::string> find_program(const std::string& name, const std::string& path, const std::string& cwd);

// The PATH a child with environment `env` searches: its own, or the usual default.
std::string search_path(const std::map<std::string, std::string>& env);

}  // namespace qube
