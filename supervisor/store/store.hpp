#pragma once
// Durable storage of jobs, agenda items and instances. The supervisor's event loop
// owns the in-memory model and writes changes here in group commits: many changes,
// one transaction, and nothing is acknowledged to a peer before it is committed.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client_requests.hpp"
#include "qube/model.hpp"

namespace qube::supervisor {

// A stored row that could not be loaded, moved out of its table so that the
// rest of the farm loads (`qb admin quarantine`). `key`: the row's key in its
// table ("7", "7/3" for item 3, "7.2" for instance 2, "farm", "job_id");
// `raw`: the row as readable text (store_loading.hpp, readable_raw).
struct QuarantinedRow {
  std::string table, key, raw, reason;
  double time = 0;  // when it was moved, Unix seconds
};

class Store {
 public:
  virtual ~Store() = default;
  virtual void begin() = 0;
  virtual void commit() = 0;
  // Ends the open transaction without its writes, after a write or commit
  // failed (a full disk); nothing when none is open (SQLite may have rolled it
  // back itself). The next begin() starts afresh.
  virtual void rollback() = 0;
  // Gives back the memory the store caches but can do without (SQLite's page
  // cache), after a big agenda was written or deleted: issue 15 asks that the
  // supervisor return to within 10% of its size once a big job is removed.
  virtual void release_memory() {}
  // Writes the job's own fields (not agenda, instances or progress, which are
  // the items' and instances' rows) and raises the job id high-water mark to its
  // id, in the same transaction.
  virtual void put_job(const Job& job) = 0;
  virtual void put_item(JobId job, std::size_t index, const AgendaItem& item) = 0;
  virtual void put_instance(JobId job, const Instance& inst) = 0;
  // Deletes the job's rows (with its submission token); the job id high-water
  // mark stays where it is.
  virtual void remove_job(JobId job) = 0;
  // A big job's removal in parts: first every row of it but its agenda items,
  // then the items a range of indices [from, to) at a time, so that no round
  // deletes a million rows at once (Server's AgendaWriter).
  virtual void remove_job_row(JobId job) = 0;
  virtual void remove_items(JobId job, std::size_t from, std::size_t to) = 0;
  // The highest job id ever stored: a high-water mark kept in the store, never
  // lowered, so that ids are never reused across removal and restart. A store
  // written before the mark existed starts it from its highest job row.
  virtual JobId max_job_id() = 0;
  // Loads every job with its agenda and instances. A stored row that cannot be
  // read is reported through `on_bad_row` and skipped, never fatal; a store
  // with a file moves it (with the rest of a job dropped whole, and rows of any
  // table that contradict the others) to its quarantine, so that the next load
  // does not meet it again.
  virtual std::vector<Job> load(const std::function<void(const std::string&)>& on_bad_row) = 0;
  // The farm's own state that is not a job (an admin's host locks and changes,
  // resource totals): one document, written whole when it changes. An empty
  // object when none was ever stored; an unreadable one is reported and empty.
  virtual void put_farm_settings(const Json& settings) = 0;
  virtual Json load_farm_settings(const std::function<void(const std::string&)>& on_bad_row) = 0;
  // Which submission token made which jobs (qbsub's idempotent submissions): one
  // row per job, deleted with the job. Loaded grouped by (user, token), jobs in
  // id order.
  virtual void put_submission(const SubmissionRecord& record) = 0;
  virtual std::vector<SubmissionRecord> load_submissions() = 0;
  // The rows moved to quarantine, oldest first.
  virtual std::vector<QuarantinedRow> quarantined() = 0;
};

// SQLite in WAL mode at `path`; creates the schema if needed.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

}  // namespace qube::supervisor
