#pragma once
// Job files: several jobs submitted at once as one process group (qbsub --file).
// Two formats, told apart by their top level:
//   Qube pipeline   a map with `jobs:` (a list of jobs in the model's own keys), and
//                   optionally `name:` (the group's name) and `defaults:` (keys every
//                   job starts from; a job's own key replaces the default's).
//   HQueue job spec a map with `name` (and `command`, `children` ...), or a list of
//                   such maps: HQueue's JSON job specification, both versions.
// YAML or JSON text. The result holds specs only: the caller still runs validate()
// on each, resolves labels to ids, and submits all or none. docs/pipelines.md has the
// formats and the HQueue field mapping.
#include <cstddef>
#include <string>
#include <vector>

#include "qube/json.hpp"

namespace qube {

// Bounds on untrusted files.
inline constexpr std::size_t kMaxJobsPerFile = 10000;
inline constexpr int kMaxChildDepth = 10;  // HQueue `children` nesting

struct JobFileEntry {
  JobSpec spec;
  // HQueue: the label of this job's parent in the same file (the parent waits for it
  // through its dependency; the supervisor sets the child's pid to the parent's id).
  // Empty for top-level jobs and for every Qube pipeline job.
  std::string parent_label;
  // HQueue `childrenIds`: existing jobs that become this job's children (their pid
  // becomes this job's id; the dependency already waits for them).
  std::vector<JobId> children_ids;
};

struct JobFile {
  enum class Format : std::uint8_t { qube, hqueue };
  Format format = Format::qube;
  std::string name;                 // the group's name: pipeline `name`, or the HQueue root's
  std::vector<JobFileEntry> jobs;   // in file order; an HQueue parent before its children
};

// Which format a parsed document is in; throws FormatError if neither.
JobFile::Format detect_job_file_format(const Json& doc);

// Parses a job file's text. Throws FormatError naming the job (by name, label or
// position) and the key: "job 'comp' (jobs[2]): unknown key 'dependancy'".
JobFile parse_job_file(const std::string& text);
JobFile parse_job_file(const Json& doc);

// The two formats on their own (doc already detected).
JobFile parse_qube_pipeline(const Json& doc);
JobFile parse_hqueue_spec(const Json& doc);

// HQueue priority (higher wins, 0 lowest and default) as Qube's (1 most urgent,
// 9999 least and default): 9999 - p, clamped to [1, 9999]. HQueue 0 -> 9999,
// 100 -> 9899, 9998 and above -> 1, negative -> 9999.
int priority_from_hqueue(std::int64_t hqueue_priority);

}  // namespace qube
