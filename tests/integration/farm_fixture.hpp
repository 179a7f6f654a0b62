#pragma once
// A whole farm on loopback for one test: a temporary directory, a supervisor on
// random ports, workers, and the client tools run as real processes.
//
// Every daemon runs in its own process group with its output in a log file in
// the temporary directory; TearDown stops them all, prints the logs when the test
// failed, and removes the directory. Synchronisation is by polling a condition
// against a deadline (wait_until), never by fixed sleeps.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace qube_it {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// Built with AddressSanitizer (the asan preset): everything runs several times
// slower, so windows a test must hit inside are widened.
#ifdef __SANITIZE_ADDRESS__
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// Whether `needle` occurs in `haystack`: most assertions on a command's output.
inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The outcome of one client command.
struct RunResult {
  int code = -1;        // exit code; 128+signal if killed; -1 if it could not run
  std::string out;
  std::string err;
  double seconds = 0;   // wall time
  bool timed_out = false;
  // "exit 1, stdout '...', stderr '...'" for assertion messages.
  std::string describe() const;
};

// Heartbeat settings written into the supervisor's configuration file, and how
// it is started.
struct SupervisorOptions {
  double heartbeat_interval = 1.0;
  int heartbeat_misses = 5;
  std::string extra_config;  // more YAML lines for the supervisor's configuration
  std::string workers_endpoint = "tcp://127.0.0.1:0";
  std::string clients_endpoint = "tcp://127.0.0.1:0";
  std::vector<std::string> extra_args = {};  // more qbsupervisor flags, e.g. --keys DIR --keys-required
};

class FarmTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // ------------------------------------------------------------ paths
  // The test's temporary directory, and a path inside it.
  const std::filesystem::path& dir() const { return dir_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // A job file of `jobs` blocked one-command jobs named j1, j2 ...; its path.
  std::string many_jobs_file(int jobs) const;
  // A built tool, e.g. bin("qb").
  static std::string bin(const std::string& tool);

  // ------------------------------------------------------------ supervisor
  // Starts qbsupervisor on random ports and waits for its endpoints.json.
  void start_supervisor(SupervisorOptions options = {});
  // Starts it again on the ports it reported first, with the same data directory.
  void restart_supervisor();
  // kill -9 of the supervisor process (not of anything else), reaped.
  void kill9_supervisor();
  pid_t supervisor_pid() const { return supervisor_pid_; }
  const std::string& workers_endpoint() const { return workers_endpoint_; }
  const std::string& clients_endpoint() const { return clients_endpoint_; }
  // "http://127.0.0.1:PORT" when started with --http; else empty.
  const std::string& http_endpoint() const { return http_endpoint_; }

  // ------------------------------------------------------------ workers
  // Starts qbworker NAME with SLOTS slots and waits until the supervisor lists it
  // as active with a registration newer than any earlier worker of that name.
  // `config_yaml`, if given, is written to the worker's --config file (groups,
  // cluster, properties, resources ...).
  pid_t start_worker(const std::string& name, int slots = 1, const std::string& config_yaml = {});
  // Starts it the same way without waiting for it to register (a worker the
  // supervisor is expected to refuse).
  pid_t launch_worker(const std::string& name, int slots = 1, const std::string& config_yaml = {});
  // kill -9 of the worker process only (its instances are in their own groups).
  void kill9_worker(const std::string& name);
  pid_t worker_pid(const std::string& name) const;
  // Starts another long-running tool (qbsim, stall_probe ...) the way daemons
  // start: own process group, output in NAME.log, stopped in TearDown. A bare
  // tool name is taken from the build's bin directory.
  pid_t launch(const std::string& name, std::vector<std::string> argv);
  // Sends `sig` to the daemon process `pid` (supervisor_pid(), worker_pid(name))
  // and waits for it to exit: its exit code (128+signal if a signal ended it), or
  // nullopt if it still runs after `timeout`.
  std::optional<int> signal_daemon(pid_t pid, int sig, std::chrono::milliseconds timeout);

  // ------------------------------------------------------------ clients
  // Runs a command: a bare tool name ("qb", "qbsub") is taken from the build's
  // bin directory, anything else from PATH. QB_SUPERVISOR is set to this farm's
  // client endpoint, then the client environment (set_client_env) applies, then
  // `env`.
  RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                std::chrono::milliseconds timeout = 30s);
  // Variables every client command gets unless its `env` says otherwise, e.g.
  // QB_KEYS of an admin's key directory so that submit, show and hosts work on a
  // farm that requires keys.
  void set_client_env(std::map<std::string, std::string> env) { client_env_ = std::move(env); }
  // qbsub ARGS...: expects exit 0 and returns the job id it printed.
  std::uint64_t submit(const std::vector<std::string>& args);
  // qb show ID --json; nullopt if the request failed (e.g. supervisor down).
  std::optional<Json> try_show(std::uint64_t id);
  Json show(std::uint64_t id);
  Json hosts();
  std::optional<Json> host(const std::string& name);
  // Waits until the job is in a terminal state and returns that state; on timeout
  // "timeout (last: <job json>)".
  std::string wait_terminal(std::uint64_t id, std::chrono::milliseconds timeout = 30s);

  // ------------------------------------------------------------ polling
  // Polls `condition` until it holds or the timeout passes; true if it held.
  static bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 30s);

  // ------------------------------------------------------------ files, processes
  std::string read_file(const std::string& file) const;
  std::vector<std::string> read_lines(const std::string& file) const;
  // A pid written by a job ("echo $$ > FILE"), once the line is complete.
  std::optional<pid_t> read_pid(const std::string& file) const;
  // Alive and not a zombie.
  static bool process_alive(pid_t pid);
  static std::optional<pid_t> parent_of(pid_t pid);
  // A process a test learned about (a job's pid): SIGKILLed in TearDown if it is
  // still the same process (same start time), so a reused pid is left alone.
  void track_pid(pid_t pid);
  // Any daemon (a second supervisor ...): its log is <dir>/<name>.log, shown
  // when the test fails, and it is stopped in TearDown.
  pid_t start_daemon(const std::string& name, const std::vector<std::string>& argv) {
    return spawn_daemon(name, argv).pid;
  }

 private:
  struct Daemon {
    std::string name;
    pid_t pid = -1;
    std::filesystem::path log;
    bool reaped = false;
  };
  Daemon& spawn_daemon(const std::string& name, const std::vector<std::string>& argv);
  void reap(Daemon& d);
  void stop_all();
  void print_logs() const;
  void read_endpoints(pid_t expected_pid, std::chrono::milliseconds timeout);
  // qbsupervisor with this farm's configuration, data directory and extra flags.
  std::vector<std::string> supervisor_argv(const std::string& workers, const std::string& clients) const;

  std::filesystem::path dir_;
  std::filesystem::path config_file_;
  SupervisorOptions supervisor_options_;
  std::map<std::string, std::string> client_env_;
  std::vector<Daemon> daemons_;
  pid_t supervisor_pid_ = -1;
  std::string workers_endpoint_, clients_endpoint_, http_endpoint_;
  std::vector<std::pair<pid_t, std::string>> tracked_pids_;  // pid, start time
};

}  // namespace qube_it
