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

// One past run of an agenda item: where, when, and how it ended. The item keeps
// one per attempt so failures can be analysed by host and exit code.
struct Attempt {
  std::uint64_t attempt_id = 0;
  std::string host;
  std::int32_t subid = -1;
  WorkStatus status = WorkStatus::running;  // how it ended: complete failed killed pending(lost)
  std::optional<int> exitcode;
  std::optional<int> signal;
  Time timestart;
  Time timecomplete;
  double walltime = 0;
  double cputime = 0;
  std::uint64_t peak_rss_kb = 0;
  std::string reason;
  // Where its output is in its instance's logs: [begin, end) of .out and .err,
  // so that each attempt's output can be read apart (qb out --work --attempt).
  std::uint64_t out_begin = 0, out_end = 0, err_begin = 0, err_end = 0;
};

// One agenda item ("work"): a frame or a chunk of frames named in Qube range
// syntax ("7", "1-10", "1-7x3"). A supervisor holds millions of these, so the
// small fields are packed together and nothing is allocated for a pending item
// beyond a long name (docs/performance.md).
struct AgendaItem {
  std::string name;
  std::uint32_t attempts = 0;
  std::uint32_t failures = 0;  // attempts that failed (not those lost with a worker)
  WorkStatus status = WorkStatus::pending;
  std::int32_t subid = -1;
  // Identifies the current dispatch; a result carrying another id is stale.
  std::uint64_t attempt_id = 0;
  std::string host;
  std::optional<int> exitcode;
  std::optional<int> signal;
  Time timestart;
  Time timecomplete;
  double walltime = 0;        // seconds
  double cputime = 0;         // user + system seconds
  std::uint64_t peak_rss_kb = 0;
  std::string reason;         // why it failed, in words
  // What the job type reported: a map, or null for none (shown as {}); an empty
  // map would cost a heap allocation per item.
  Json resultpackage;
  std::vector<Attempt> history;  // every ended attempt, oldest first
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
  // Its failure was forgiven under --retrysubjob: its run is owed again.
  bool retried = false;
  // What it was granted on its host (QB_JOBSLOTS, QB_ALLOCATIONS).
  int slots = 0;
  std::string allocation;  // "host.processors=4,license.nuke=1"
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
  int retrysubjob = 0;          // an instance that dies is started again up to N times
  bool retrydifferenthost = false;  // a retry avoids hosts the item already failed on
  std::string description;
  std::vector<std::string> mail;    // addresses told when the job ends

  // Placement: which hosts may run it, and what an instance holds while it runs.
  std::vector<std::string> hosts;       // only these hosts (Qube --hosts)
  std::vector<std::string> omithosts;   // never these
  std::vector<std::string> groups;      // only hosts in one of these groups
  std::vector<std::string> omitgroups;  // never hosts in these groups
  std::vector<std::string> services;    // the host must offer all of these (OpenCue services/tags)
  std::string requirements;             // Qube expression over host.* and job.*
  std::string reservations;             // Qube: host.processors=2,license.nuke=1
  std::string restrictions;             // Qube cluster restrictions: /show/seq, /show/*
  std::string cluster = "/";            // Qube cluster the job belongs to: /show/seq
  std::vector<std::string> flags;       // e.g. uninterruptible
  int max_cpus = 0;                     // may grow into idle slots up to this many instances
  Json conditions = Json::array();      // HQueue conditions [{type,name,op,value}]
  std::vector<std::string> tags;        // HQueue tags: single, single:<class>
  Json extra = Json::object();          // imported properties kept for display (HQueue ...)

  // Qube!'s bookkeeping (qbsub --kind --account --domain): kept and shown, never
  // acted on, so that studios' reports and wrapper scripts find them.
  std::string kind;
  std::string account;
  std::string domain;
  // Hooks and Qube!'s placement shorthands (docs/usage.md "Hooks", docs/placement.md).
  // Each hook is one shell command; the worker-side lists run in order.
  std::string preexec;    // on the supervisor, before the first instance starts; failing fails the job
  std::string postexec;   // on the supervisor, once each time the job ends (complete, failed, killed)
  std::vector<std::string> preflights;          // on the worker, as an instance starts (before its first item)
  std::vector<std::string> postflights;         // on the worker, after an instance's last item
  std::vector<std::string> agenda_preflights;   // on the worker, before each agenda item
  std::vector<std::string> agenda_postflights;  // on the worker, after each agenda item
  int processors = 0;     // slots per instance (= reservations host.processors=N); 0: not given
  std::string hostorder;  // preferred hosts first: "+host.memory.avail,-host.processors.used"
  // Dispatch order of the agenda (qube/agenda_order.hpp): "", "reverse" or "binary";
  // and the preview items that go first (with flag p_agenda; empty: first, middle, last).
  std::string order;
  std::string preview;
};

// A host the job no longer runs on: it failed too many of the job's items in a
// row (qb modify --clear-bad-hosts lets it back).
struct ExcludedHost {
  std::string host;
  std::string reason;  // "3 items failed in a row"
  Time since;
};

struct Job {
  JobId id = 0;
  JobSpec spec;
  JobStatus status = JobStatus::pending;
  JobId pgrp = 0;
  JobId pid = 0;                // parent job, 0 if none
  std::int64_t rank = 0;        // order among jobs of equal priority (qb top/bottom)
  Time timesubmit;
  Time timestart;
  Time timecomplete;
  std::string reason;           // why it is not running, or why it ended
  std::vector<AgendaItem> agenda;
  std::vector<Instance> instances;
  std::vector<ExcludedHost> excluded_hosts;  // bad hosts, in the order they were excluded
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
