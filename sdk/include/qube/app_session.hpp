#pragma once
// Kept-alive applications: Maya, Nuke, Blender and the like, started once per
// instance and driven through their prompt item after item.
//
// AppSession owns one application process: it starts it (in the caller's
// process group, dying with it), sends the setup commands (open the scene) and
// then, per item, the item's commands followed by a sentinel command that makes
// the application print a unique token. The item ends when that token comes
// back, never by guessing from output timing. Output is streamed line by line as
// it comes; lines matching the dialect's error patterns make the item fail, lines
// matching its output pattern name the files the item wrote. An application that
// dies, or does not answer before the item's timeout (it is then killed), fails
// that item only: the next item starts it again and repeats the setup.
//
// plugin::AppInstance (app_instance.hpp) puts a session behind the job-type
// interface.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qube/process.hpp"

namespace qube {

// How one application's prompt is spoken to.
struct AppDialect {
  // A command that makes the application print `head + tail` on one line. The two
  // halves are joined only in the output, so that an application echoing its
  // input does not end the item when it echoes the sentinel command.
  std::function<std::string(const std::string& head, const std::string& tail)> sentinel;
  // Asks the application to exit; empty: only its standard input is closed.
  std::string quit;
  // ECMAScript regexes searched in every output line of either stream: a match
  // fails the item (its line becomes the reason). Unanchored, so that a prompt
  // printed before the line does not hide it.
  std::vector<std::string> error_patterns;
  // A regex whose first capture group is a file the item wrote; empty: none.
  std::string output_pattern;
};

using Seconds = std::chrono::duration<double>;

struct AppSessionOptions {
  std::vector<std::string> argv;  // argv[0]: a path, or a name searched in env's PATH
  std::map<std::string, std::string> env;  // exactly the application's environment
  std::string cwd;                          // empty: the caller's
  std::vector<std::string> setup;  // sent after every start, before the first item
  AppDialect dialect;
  Seconds item_timeout{0};     // per item; 0: none
  Seconds startup_timeout{0};  // start-up and setup; 0: none
  Seconds quit_grace{10};      // after the quit command, and again after SIGTERM
};

enum class AppEnd {
  ok,            // the sentinel came back and no error line was seen
  error,         // the sentinel came back after an error line; the application lives on
  died,          // the application exited during the item; the next item restarts it
  timeout,       // no sentinel within the item timeout; the application was killed
  start_failed,  // could not be started, or its start-up/setup failed
};

struct AppItemResult {
  AppEnd end = AppEnd::ok;
  std::string reason;                // empty when ok
  std::vector<std::string> outputs;  // from dialect.output_pattern, in order
  pid_t pid = -1;                    // the application process that ran the item
  std::optional<int> exitcode;       // when it exited
  std::optional<int> signal;         // when a signal ended it
  double cputime = 0;                // the application's CPU seconds during the item
  std::uint64_t peak_rss_kb = 0;     // its peak resident memory so far
  bool ok() const { return end == AppEnd::ok; }
};

// How quit() ended the application.
enum class AppQuit { not_running, quit, terminated, killed };

class AppSession {
 public:
  explicit AppSession(AppSessionOptions options);
  ~AppSession();  // quit()
  AppSession(const AppSession&) = delete;
  AppSession& operator=(const AppSession&) = delete;

  // Runs one item: starts the application first if it is not running (then
  // sends the setup commands), sends `commands` one per line and the sentinel,
  // and passes output to `sink` line by line until the sentinel comes back.
  AppItemResult run(const std::vector<std::string>& commands, const OutputSink& sink);

  // Quit command (and end of input), then SIGTERM, then SIGKILL, each after
  // quit_grace. Idempotent.
  AppQuit quit();

  pid_t pid() const;  // -1 when not running
  int starts() const;  // how many times the application was started

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qube
