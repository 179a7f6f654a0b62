#pragma once
// How every Store's load() turns its rows into jobs: one set of rules, so that
// each backend reports and skips exactly the same rows for the same reasons.
#include <functional>
#include <map>
#include <string_view>
#include <string>
#include <vector>

#include "client_requests.hpp"
#include "qube/json.hpp"
#include "qube/model.hpp"

namespace qube::supervisor {

using BadRowReport = std::function<void(const std::string&)>;

// A stored row load() could not use, for the store to move to its quarantine
// (table, key, raw row and reason; `qb admin quarantine`). `sub`: the item's
// index or the instance's subid; -1 for a job row.
struct BadRow {
  std::string table;
  JobId job = 0;
  std::int64_t sub = -1;
  std::string reason;
};
// A stored row's bytes for people: its document as JSON when it decodes, else
// the text itself when printable, else hex.
std::string readable_raw(std::string_view bytes);

// Fed every job first, then every agenda item, then every instance, each in key
// order (jobs by id, items by job then index, instances by job then subid).
// `read` builds the row's value; whatever it throws is reported and the row skipped.
class JobAssembler {
 public:
  explicit JobAssembler(const BadRowReport& on_bad_row) : on_bad_row_(on_bad_row) {}

  void add_job(JobId id, const std::function<Job()>& read);
  // A job with an unreadable item or a hole in its agenda is dropped whole: it
  // cannot be trusted to run. Items of a job that was not loaded are ignored.
  void add_item(JobId job, std::size_t index, const std::function<AgendaItem()>& read);
  // An unreadable instance is dropped alone (the Farm fills the hole).
  void add_instance(JobId job, std::int32_t subid, const std::function<Instance()>& read);
  // The jobs, by id.
  std::vector<Job> take();
  // What to quarantine: the unreadable rows themselves, and the jobs dropped
  // whole (their remaining rows, of every table), with why.
  const std::vector<BadRow>& bad_rows() const { return bad_rows_; }
  const std::map<JobId, std::string>& dropped_jobs() const { return dropped_; }

 private:
  // Rows of a job that is not loaded: an unreadable job row, or none at all.
  void orphan(JobId job);
  const BadRowReport& on_bad_row_;
  std::map<JobId, Job> jobs_;
  std::vector<BadRow> bad_rows_;
  std::map<JobId, std::string> dropped_;
};

// Submission rows, one per job, grouped as load_submissions() gives them: by
// (user, token), each group's jobs in the order added.
class SubmissionGrouper {
 public:
  void add(JobId job, std::string user, std::string token) {
    groups_[{std::move(user), std::move(token)}].push_back(job);
  }
  std::vector<SubmissionRecord> take();

 private:
  std::map<std::pair<std::string, std::string>, std::vector<JobId>> groups_;
};

// The stored farm settings document as load_farm_settings() gives it back: what
// `read` returns if it is an object, else reported and an empty object.
Json farm_settings_or_empty(const std::function<Json()>& read, const BadRowReport& on_bad_row);

}  // namespace qube::supervisor
