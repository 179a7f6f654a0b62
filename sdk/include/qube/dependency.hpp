#pragma once
// Qube dependencies: `link-<complete|done|failed|killed>-<job|work|subjob>-<id|label>`,
// comma = AND. A job waits until every one of its dependencies is satisfied.
//   link-complete-job-12     wait for job 12 to complete (OpenCue's layer-on-layer)
//   link-done-job-12         wait for job 12 to end, however it ends (qbsub --waitfor 12)
//   link-complete-work-12    frame by frame: each item of this job waits for the items
//                            of job 12 that share a frame with it (items_overlap)
//   link-complete-subjob-12  instance by instance: instance k waits for instance k of 12
// Dependencies are level-triggered: one on a job that already completed is satisfied at
// once; one on a job that already failed is broken at once, as a later failure would be.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "qube/trigger.hpp"

namespace qube {

struct Dependency {
  EventName condition = EventName::complete;  // complete, done, failed or killed
  EventType kind = EventType::job;            // job, work (frame by frame), subjob
  JobRef target;                              // an id or a label; never self
  std::string text() const;                   // "link-complete-job-12"
  bool operator==(const Dependency&) const = default;
};

// Parses a dependency string; empty text gives no dependencies. Throws TriggerError:
// "dependency 'link-complete-jbo-12': unknown type 'jbo' at position 14; expected job,
// work or subjob".
std::vector<Dependency> parse_dependencies(std::string_view text);

// Joins dependencies back into one string, comma-separated.
std::string dependency_text(const std::vector<Dependency>& deps);

// qbsub --waitfor ID: "link-done-job-ID".
std::string waitfor_dependency(JobId id);

// Where one dependency stands, given its target's current status (the job's for kind
// job; the overlapping item's for work; the instance's for subjob):
//   satisfied  the target has the status the condition asks for (status_matches)
//   broken     the target ended otherwise; it can only be satisfied again if the
//              target is retried (qb retry makes a failed job pending again)
//   waiting    the target has not ended
enum class DependencyState : std::uint8_t { waiting, satisfied, broken };
DependencyState dependency_state(EventName condition, JobStatus target);
DependencyState dependency_state(EventName condition, WorkStatus target);
std::string_view to_string(DependencyState s);

// All of a job's dependencies together (AND): waiting while any waits (HQueue: a
// parent waits for all its children), else broken if any is broken (the job then
// fails without running: HQueue's parent semantics), else satisfied. No dependencies:
// satisfied.
DependencyState combine(const std::vector<DependencyState>& states);

// A cycle in a dependency graph (node -> the nodes it depends on), as the path that
// closes it: {12, 13, 12}; empty if there is none. Nodes missing as keys have no
// edges. Deterministic (follows map and edge order); iterative, so deep graphs are safe.
std::vector<JobId> find_cycle(const std::map<JobId, std::vector<JobId>>& edges);
std::vector<std::string> find_cycle(const std::map<std::string, std::vector<std::string>>& edges);

// "dependency cycle: 12 -> 13 -> 12".
std::string cycle_message(const std::vector<JobId>& cycle);
std::string cycle_message(const std::vector<std::string>& cycle);

}  // namespace qube
