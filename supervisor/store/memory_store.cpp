#include "memory_store.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include "farm.hpp"
#include "store_loading.hpp"

namespace qube::supervisor {

// Named, not anonymous: MemoryStoreFile, a type of the header's, holds them.
namespace memory_tables {

// The same tables as the SQLite store's, holding values instead of documents.
struct Tables {
  std::map<JobId, Job> jobs;  // without agenda or instances: those are rows of their own
  std::map<std::pair<JobId, std::size_t>, AgendaItem> items;
  std::map<std::pair<JobId, std::int32_t>, Instance> instances;
  std::optional<Json> farm_settings;
  JobId job_id_mark = 0;  // the counters table's job_id
  std::map<JobId, std::pair<std::string, std::string>> submissions;  // job -> (user, token)
};

// The rows of `job` in a table keyed by (job, something).
template <class Table>
auto rows_of(Table& table, JobId job) {
  using Second = typename Table::key_type::second_type;
  return std::pair(table.lower_bound({job, Second{}}), table.lower_bound({job + 1, Second{}}));
}

}  // namespace memory_tables

class MemoryStoreFile {
 public:
  memory_tables::Tables tables;
};

std::shared_ptr<MemoryStoreFile> new_memory_store_file() { return std::make_shared<MemoryStoreFile>(); }

namespace {

using memory_tables::rows_of;
using memory_tables::Tables;

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::shared_ptr<MemoryStoreFile> file) : file_(std::move(file)), working_(file_->tables) {}

  // Refused like SQLite refuses them, so that a test on this store catches a
  // caller that would fail on the real one.
  void begin() override {
    if (in_transaction_) throw std::runtime_error("memory store: cannot start a transaction within a transaction");
    in_transaction_ = true;
  }
  void commit() override {
    if (!in_transaction_) throw std::runtime_error("memory store: cannot commit - no transaction is active");
    for (const auto& change : pending_) change(file_->tables);
    pending_.clear();
    in_transaction_ = false;
  }
  void rollback() override {
    if (!in_transaction_) return;
    pending_.clear();
    working_ = file_->tables;
    in_transaction_ = false;
  }

  void put_job(const Job& job) override {
    Job row = job;
    row.agenda.clear();
    row.instances.clear();
    write([row = std::move(row)](Tables& t) {
      t.job_id_mark = std::max(t.job_id_mark, row.id);
      t.jobs.insert_or_assign(row.id, row);
    });
  }

  void put_item(JobId job, std::size_t index, const AgendaItem& item) override {
    write([key = std::pair(job, index), item](Tables& t) { t.items.insert_or_assign(key, item); });
  }

  void put_instance(JobId job, const Instance& inst) override {
    write([key = std::pair(job, inst.subid), inst](Tables& t) { t.instances.insert_or_assign(key, inst); });
  }

  void remove_job(JobId job) override {
    remove_job_row(job);
    write([job](Tables& t) {
      const auto [first_item, end_items] = rows_of(t.items, job);
      t.items.erase(first_item, end_items);
    });
  }

  void remove_job_row(JobId job) override {
    write([job](Tables& t) {
      t.jobs.erase(job);
      const auto [first_instance, end_instances] = rows_of(t.instances, job);
      t.instances.erase(first_instance, end_instances);
      t.submissions.erase(job);
    });
  }

  void remove_items(JobId job, std::size_t from, std::size_t to) override {
    write([job, from, to](Tables& t) { t.items.erase(t.items.lower_bound({job, from}), t.items.lower_bound({job, to})); });
  }

  JobId max_job_id() override { return working_.job_id_mark; }

  std::vector<Job> load(const std::function<void(const std::string&)>& on_bad_row) override {
    JobAssembler jobs(on_bad_row);
    for (const auto& [id, job] : working_.jobs) jobs.add_job(id, [&] { return job; });
    for (const auto& [key, item] : working_.items) jobs.add_item(key.first, key.second, [&] { return item; });
    for (const auto& [key, inst] : working_.instances) jobs.add_instance(key.first, key.second, [&] { return inst; });
    return jobs.take();
  }

  void put_farm_settings(const Json& settings) override {
    write([settings](Tables& t) { t.farm_settings = settings; });
  }

  Json load_farm_settings(const std::function<void(const std::string&)>& on_bad_row) override {
    if (!working_.farm_settings) return Json::object();
    return farm_settings_or_empty([&] { return *working_.farm_settings; }, on_bad_row);
  }

  void put_submission(const SubmissionRecord& record) override {
    write([record](Tables& t) {
      for (JobId id : record.ids) t.submissions.insert_or_assign(id, std::pair(record.user, record.token));
    });
  }

  // Rows in memory are objects, never unreadable: nothing is quarantined (a job
  // with a hole in its agenda is still left out of load(), as by SQLite).
  std::vector<QuarantinedRow> quarantined() override { return {}; }

  std::vector<SubmissionRecord> load_submissions() override {
    SubmissionGrouper rows;
    for (const auto& [id, key] : working_.submissions) rows.add(id, key.first, key.second);
    return rows.take();
  }

 private:
  // Applies `change` to what this store reads at once, and to the file now or,
  // inside a transaction, at commit.
  void write(std::function<void(Tables&)> change) {
    change(working_);
    if (in_transaction_) pending_.push_back(std::move(change));
    else change(file_->tables);
  }

  std::shared_ptr<MemoryStoreFile> file_;
  Tables working_;  // the file as this store sees it: committed plus its own pending changes
  std::vector<std::function<void(Tables&)>> pending_;
  bool in_transaction_ = false;
};

class MemoryEventLog final : public EventLog {
 public:
  void append(const std::vector<FarmEvent>& events) override {
    // All or nothing, like the SQLite log's one transaction.
    std::vector<std::pair<JobId, Json>> docs;
    for (const auto& e : events)
      if (e.history) docs.emplace_back(e.job, to_json(e));
    for (auto& [job, doc] : docs) events_[job].push_back(std::move(doc));
  }

  Json read(JobId job, std::size_t limit) override {
    Json out = Json::array();
    auto it = events_.find(job);
    if (it == events_.end()) return out;
    const auto& all = it->second;
    for (std::size_t i = all.size() - std::min(limit, all.size()); i < all.size(); ++i) out.push_back(all[i]);
    return out;
  }

  void remove(JobId job) override { events_.erase(job); }

 private:
  std::map<JobId, std::vector<Json>> events_;  // each job's, oldest first
};

}  // namespace

std::unique_ptr<Store> open_memory_store() { return open_memory_store(new_memory_store_file()); }

std::unique_ptr<Store> open_memory_store(std::shared_ptr<MemoryStoreFile> file) {
  return std::make_unique<MemoryStore>(std::move(file));
}

std::unique_ptr<EventLog> open_memory_event_log() { return std::make_unique<MemoryEventLog>(); }

}  // namespace qube::supervisor
