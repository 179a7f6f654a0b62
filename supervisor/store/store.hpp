#pragma once
// Durable storage of jobs, agenda items and instances. The supervisor's event loop
// owns the in-memory model and writes changes here in group commits: many changes,
// one transaction, and nothing is acknowledged to a peer before it is committed.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qube/model.hpp"

namespace qube::supervisor {

class Store {
 public:
  virtual ~Store() = default;
  virtual void begin() = 0;
  virtual void commit() = 0;
  // Writes the job's own fields (not agenda or instances). `progress` is the job's
  // (the supervisor keeps it counted rather than scan the agenda for every write).
  virtual void put_job(const Job& job, const Progress& progress) = 0;
  void put_job(const Job& job) { put_job(job, progress_of(job)); }
  virtual void put_item(JobId job, std::size_t index, const AgendaItem& item) = 0;
  virtual void put_instance(JobId job, const Instance& inst) = 0;
  virtual void remove_job(JobId job) = 0;
  // Loads every job with its agenda and instances. A stored row that cannot be
  // read is reported through `on_bad_row` and skipped, never fatal.
  // The highest job id ever stored, readable or not: ids are never reused.
  virtual JobId max_job_id() = 0;
  virtual std::vector<Job> load(const std::function<void(const std::string&)>& on_bad_row) = 0;
  // The farm's own state that is not a job (an admin's host locks and changes,
  // resource totals): one document, written whole when it changes. An empty
  // object when none was ever stored; an unreadable one is reported and empty.
  virtual void put_farm_settings(const Json& settings) = 0;
  virtual Json load_farm_settings(const std::function<void(const std::string&)>& on_bad_row) = 0;
};

// SQLite in WAL mode at `path`; creates the schema if needed.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

}  // namespace qube::supervisor
