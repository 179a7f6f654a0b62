#pragma once
// The farm's data model: jobs, agenda items, instances, hosts, callbacks.
// Plain values, free of any transport or storage concern.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace qube {

using Json = nlohmann::json;
using JobId = std::uint64_t;
// Times are Unix seconds with a fraction; empty until the event happened.
using Time = std::optional<double>;

double now_seconds();

enum class JobStatus : std::uint8_t {
  pending, blocked, waiting, running, suspended, complete, failed, killed, dying
};
enum class WorkStatus : std::uint8_t {
  pending, blocked, waiting, running, complete, failed, killed, retrying, skipped
};
enum class HostState : std::uint8_t { active, down, locked, panic };

std::string_view to_string(JobStatus s);
std::string_view to_string(WorkStatus s);
std::string_view to_string(HostState s);
std::optional<JobStatus> parse_job_status(std::string_view s);
std::optional<WorkStatus> parse_work_status(std::string_view s);
std::optional<HostState> parse_host_state(std::string_view s);
bool is_terminal(JobStatus s);
bool is_terminal(WorkStatus s);

inline constexpr int kDefaultPriority = 9999;  // Qube: 1 is the most urgent

// One agenda item ("work"): a frame or a chunk of frames named in Qube range
// syntax ("7", "1-10", "1-7x3").
struct AgendaItem {
  std::string name;
  WorkStatus status = WorkStatus::pending;
  std::uint32_t attempts = 0;
  std::uint32_t failures = 0;  // attempts that failed (not those lost with a worker)
  // Identifies the current dispatch; a result carrying another id is stale.
  std::uint64_t attempt_id = 0;
  std::string host;
  std::int32_t subid = -1;
  std::optional<int> exitcode;
  std::optional<int> signal;
  Time timestart;
  Time timecomplete;
  double walltime = 0;        // seconds
  double cputime = 0;         // user + system seconds
  std::uint64_t peak_rss_kb = 0;
  std::string reason;         // why it failed, in words
  Json resultpackage = Json::object();
};

// One execution of a job on one worker slot (Qube's subjob, id JOB.SUB).
struct Instance {
  std::int32_t subid = 0;
  std::string host;
  JobStatus status = JobStatus::pending;
  Time timestart;
  Time timecomplete;
  std::optional<int> exitcode;
  std::string reason;
  // Ended through no fault of its own (its worker or the supervisor went away):
  // for a job without agenda, its run is owed again.
  bool lost = false;
};

struct Callback {
  std::string triggers;
  std::string language;
  std::string code;
};

// What a user submits. The supervisor turns it into a Job.
struct JobSpec {
  std::string name;
  std::string type = "cmdline";
  std::string user;
  int priority = kDefaultPriority;
  int cpus = 1;
  std::string label;
  std::string range;            // Qube frame range; empty: no agenda
  int chunk = 1;                // frames per agenda item
  int partitions = 0;           // if > 0: split the range into this many items
  int padding = 0;              // zero-pad substituted frame numbers to this width
  std::vector<std::string> agenda;  // explicit item names (instead of range)
  Json package = Json::object();
  std::map<std::string, std::string> env;
  std::vector<Callback> callbacks;
  std::string dependency;
  bool blocked = false;         // submit held (qbsub --status blocked)
  int retrywork = 0;            // a failed item runs again up to this many times
  double retryworkdelay = 0;    // seconds before such a retry
  double timelimit = 0;         // seconds the job may run; 0: no limit
  double agendatimelimit = 0;   // seconds one agenda item may run; 0: no limit
  std::string cwd;              // working directory for the processes; empty: worker's
};

struct Job {
  JobId id = 0;
  JobSpec spec;
  JobStatus status = JobStatus::pending;
  JobId pgrp = 0;
  JobId pid = 0;                // parent job, 0 if none
  Time timesubmit;
  Time timestart;
  Time timecomplete;
  std::string reason;           // why it is not running, or why it ended
  std::vector<AgendaItem> agenda;
  std::vector<Instance> instances;
};

struct Host {
  std::string name;
  HostState state = HostState::active;
  int slots = 1;
  int slots_used = 0;
  std::uint64_t memory_mb = 0;
  std::vector<std::string> jobtypes;
  std::string address;          // where it connected from, for people
  Time last_heartbeat;
  Time registered;
};

// Counts of agenda items by status, for progress displays.
struct Progress {
  std::size_t total = 0, pending = 0, running = 0, complete = 0, failed = 0, other = 0;
};
Progress progress_of(const Job& job);

}  // namespace qube
