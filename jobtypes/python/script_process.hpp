#pragma once
// One Python job-type script, running as a child of the instance, and the
// private channel the `qb` back-end functions speak over.
//
// The channel is one end of a Unix socketpair, the script's descriptor 3, named
// by QB_BACKEND_FD. Each message is one line of JSON (at most kMaxMessage
// bytes): the script sends a request {"op": ...}, the instance answers with one
// line. The script's standard output and error are pipes of their own, passed
// to a sink as they arrive, so that print() and the tracebacks of a failing
// script land in the item's log and never disturb the channel.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qube/json.hpp"
#include "qube/process.hpp"

namespace qube::python_backend {

using SteadyClock = std::chrono::steady_clock;

// A request line longer than this is a protocol error (the script is killed).
constexpr std::size_t kMaxMessage = 16 * 1024 * 1024;

struct ScriptEvent {
  enum class Kind {
    message,      // `message` holds a request
    exited,       // the script ended (reaped; its last output was passed on)
    deadline,     // the deadline passed first; the script still runs
    bad_message,  // `error` says what was wrong with a line on the channel
  };
  Kind kind = Kind::message;
  Json message;
  std::string error;
};

class ScriptProcess {
 public:
  // Starts argv (argv[0] searched in env's PATH) with exactly `env` plus
  // QB_BACKEND_FD, in `cwd`, in the caller's process group and dying with it.
  // Throws std::runtime_error saying why it could not start.
  ScriptProcess(const std::vector<std::string>& argv, std::map<std::string, std::string> env, const std::string& cwd);
  ~ScriptProcess();  // SIGKILL and reap if still running
  ScriptProcess(const ScriptProcess&) = delete;
  ScriptProcess& operator=(const ScriptProcess&) = delete;

  // Passes output to `sink` until a request arrives, the script exits, or the
  // deadline passes. Requests that were already sent come before the exit.
  ScriptEvent next(const OutputSink& sink, std::optional<SteadyClock::time_point> deadline);
  // Answers the last request. A script that is gone is noticed by next().
  void reply(const Json& answer);
  // SIGTERM, then SIGKILL after `grace`; output meanwhile goes to `sink`.
  void terminate(std::chrono::milliseconds grace, const OutputSink& sink);

  pid_t pid() const { return pid_; }
  bool exited() const { return status_.has_value(); }
  // "exited (code 1)" or "was killed by signal 9 (SIGKILL)"; once exited.
  std::string exit_text() const;
  std::optional<int> exitcode() const;  // 128+signal when a signal ended it
  std::optional<int> signal() const;
  // The last non-blank line the script wrote on its standard error (the
  // exception line of a traceback), for reasons.
  std::string last_error_line() const;

 private:
  bool try_reap();
  void wait_reaped();
  bool read_output(int& fd, Stream stream, const OutputSink& sink);
  void drain_output(const OutputSink& sink);
  bool read_channel();  // false at end of stream
  std::optional<ScriptEvent> take_message();

  pid_t pid_ = -1;
  int channel_ = -1, out_ = -1, err_ = -1, pidfd_ = -1;
  bool channel_closed_ = false;
  std::optional<int> status_;  // waitpid status once reaped
  std::string inbox_;          // channel bytes not yet cut into lines
  std::string err_tail_;       // the end of standard error
};

}  // namespace qube::python_backend
