#pragma once
// Running a child process for a job type: output streamed as it comes, and the
// figures a farm keeps per frame (exit code or signal, wall and CPU time, peak RSS).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qube {

enum class Stream : std::uint8_t { out, err };

struct ProcessResult {
  int exitcode = -1;            // exit status, or 128+signal when killed
  std::optional<int> signal;    // the signal that ended it, if any
  double walltime = 0;
  double cputime = 0;           // user + system, children included
  std::uint64_t peak_rss_kb = 0;
  std::string error;            // could not start: why
};

using OutputSink = std::function<void(Stream, std::string_view)>;

// Starts argv[0] (searched in env's PATH: find_program, launcher.hpp) with
// exactly `env` as its environment, in `cwd` if not empty, in the caller's process
// group (so that whoever ends the group ends it too: the worker kills an
// instance's whole group), with default signal handling, no signal blocked and no
// descriptor but 0, 1 and 2. Blocks until it ends, passing its output to `sink`
// as it arrives.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env,
                          const std::string& cwd, const OutputSink& sink);

// Splits a command line into argv. A line with nothing a shell would interpret
// is split on whitespace and run directly (no shell process per frame); anything
// else runs as {"/bin/sh", "-c", line}.
std::vector<std::string> command_argv(const std::string& cmdline);

// Quotes argv for a shell so that command_argv() gives it back: used by qbsub to
// store `qbsub cmd args...` as one cmdline string, as Qube does.
std::string shell_join(const std::vector<std::string>& argv);

// The calling process's environment as a map.
std::map<std::string, std::string> current_environment();

// Pipes to a kept-alive application (app_session, the python job type):
// closes fd if open and sets it to -1.
void close_fd(int& fd);
void set_nonblocking(int fd);
// Reads what the non-blocking `fd` holds now, handing each chunk to `take`.
// False at end of stream or on an error, when fd is closed (-1).
bool read_available(int& fd, const std::function<void(std::string_view)>& take);
// The wait status of child `pid` if it has ended (reaping it), else nullopt; never blocks.
std::optional<int> reap_if_ended(int pid);

}  // namespace qube
