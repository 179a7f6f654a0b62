#include <sqlite3.h>

#include "qube/codec.hpp"
#include "sqlite_db.hpp"
#include "store.hpp"
#include "store_loading.hpp"

namespace qube::supervisor {

namespace {

using sqlite::Statement;

class SqliteStore final : public Store {
 public:
  // WAL with synchronous=NORMAL survives kill -9 of the supervisor; each group
  // commit costs one WAL append. Only the store waits on a locked file (the
  // event log never did).
  explicit SqliteStore(const std::string& path)
      : db_(path, {.what = "store", .prefix = "sqlite", .busy_timeout_ms = 5000}),
        put_job_(schema(db_), "INSERT OR REPLACE INTO jobs(id, doc) VALUES(?, ?)"),
        put_item_(db_, "INSERT OR REPLACE INTO items(job, idx, doc) VALUES(?, ?, ?)"),
        put_inst_(db_, "INSERT OR REPLACE INTO instances(job, subid, doc) VALUES(?, ?, ?)"),
        raise_job_mark_(db_, "UPDATE counters SET value = ? WHERE name = 'job_id' AND value < ?"),
        put_token_(db_, "INSERT OR REPLACE INTO submissions(job, user, token) VALUES(?, ?, ?)"),
        job_mark_(read_job_mark()) {}

  void begin() override { db_.begin(); }
  void commit() override { db_.commit(); }
  void rollback() override {
    if (!sqlite3_get_autocommit(db_.handle())) db_.rollback();
  }

  using Store::put_job;
  void put_job(const Job& job, const Progress& progress) override {
    Json doc = to_json(job, false, progress);
    doc["spec"] = to_json(job.spec);
    put_job_.bind(1, static_cast<std::int64_t>(job.id)).bind_blob(2, encode(doc)).run();
    // Only a new job raises the mark: one more statement per submitted job, none
    // per update. (A rolled-back raise leaves job_mark_ ahead of the file; the id
    // was then never acknowledged to anyone, so skipping it is harmless.)
    if (job.id > job_mark_) {
      const auto id = static_cast<std::int64_t>(job.id);
      raise_job_mark_.bind(1, id).bind(2, id).run();
      job_mark_ = job.id;
    }
  }

  void put_item(JobId job, std::size_t index, const AgendaItem& item) override {
    put_item_.bind(1, static_cast<std::int64_t>(job))
        .bind(2, static_cast<std::int64_t>(index))
        .bind_blob(3, encode(to_json(item)))
        .run();
  }

  void put_instance(JobId job, const Instance& inst) override {
    put_inst_.bind(1, static_cast<std::int64_t>(job)).bind(2, inst.subid).bind_blob(3, encode(to_json(inst))).run();
  }

  void remove_job(JobId job) override {
    for (const char* sql : {"DELETE FROM jobs WHERE id = ?", "DELETE FROM items WHERE job = ?",
                            "DELETE FROM instances WHERE job = ?", "DELETE FROM submissions WHERE job = ?"})
      Statement(db_, sql).bind(1, static_cast<std::int64_t>(job)).run();
  }

  JobId max_job_id() override { return read_job_mark(); }

  std::vector<Job> load(const std::function<void(const std::string&)>& on_bad_row) override {
    JobAssembler jobs(on_bad_row);
    {
      Statement st(db_, "SELECT id, doc FROM jobs ORDER BY id");
      while (st.next_row())
        jobs.add_job(static_cast<JobId>(st.column_int64(0)), [&] {
          const Json doc = decode(st.column_blob(1));
          Job job = job_from_json(doc);
          job.spec = spec_from_json(doc.at("spec"));
          return job;
        });
    }
    {
      Statement st(db_, "SELECT job, idx, doc FROM items ORDER BY job, idx");
      while (st.next_row())
        jobs.add_item(static_cast<JobId>(st.column_int64(0)), static_cast<std::size_t>(st.column_int64(1)),
                      [&] { return item_from_json(decode(st.column_blob(2))); });
    }
    {
      Statement st(db_, "SELECT job, doc FROM instances ORDER BY job, subid");
      while (st.next_row())
        jobs.add_instance(static_cast<JobId>(st.column_int64(0)),
                          [&] { return instance_from_json(decode(st.column_blob(1))); });
    }
    return jobs.take();
  }

  void put_farm_settings(const Json& settings) override {
    Statement(db_, "INSERT OR REPLACE INTO settings(name, doc) VALUES('farm', ?)").bind_blob(1, encode(settings)).run();
  }

  Json load_farm_settings(const std::function<void(const std::string&)>& on_bad_row) override {
    Statement st(db_, "SELECT doc FROM settings WHERE name = 'farm'");
    if (!st.next_row()) return Json::object();
    return farm_settings_or_empty([&] { return decode(st.column_blob(0)); }, on_bad_row);
  }

  void put_submission(const SubmissionRecord& record) override {
    for (JobId id : record.ids)
      put_token_.bind(1, static_cast<std::int64_t>(id)).bind_text(2, record.user).bind_text(3, record.token).run();
  }

  std::vector<SubmissionRecord> load_submissions() override {
    SubmissionGrouper rows;
    Statement st(db_, "SELECT job, user, token FROM submissions ORDER BY job");
    while (st.next_row())
      rows.add(static_cast<JobId>(st.column_int64(0)), std::string(st.column_text(1)), std::string(st.column_text(2)));
    return rows.take();
  }

 private:
  // Creates the tables if needed; returns `db` so that the constructor can run
  // this before it prepares statements on them.
  static sqlite::Database& schema(sqlite::Database& db) {
    db.exec("CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, doc BLOB NOT NULL)");
    db.exec("CREATE TABLE IF NOT EXISTS items(job INTEGER NOT NULL, idx INTEGER NOT NULL, doc BLOB NOT NULL,"
            " PRIMARY KEY(job, idx)) WITHOUT ROWID");
    db.exec("CREATE TABLE IF NOT EXISTS instances(job INTEGER NOT NULL, subid INTEGER NOT NULL,"
            " doc BLOB NOT NULL, PRIMARY KEY(job, subid)) WITHOUT ROWID");
    db.exec("CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, doc BLOB NOT NULL)");
    // High-water marks. A store from before the mark existed starts it from its
    // highest job row (an id removed before this upgrade cannot be known).
    db.exec("CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    db.exec("INSERT OR IGNORE INTO counters(name, value) SELECT 'job_id', COALESCE(MAX(id), 0) FROM jobs");
    db.exec("CREATE TABLE IF NOT EXISTS submissions(job INTEGER PRIMARY KEY, user TEXT NOT NULL,"
            " token TEXT NOT NULL)");
    return db;
  }

  JobId read_job_mark() {
    Statement st(db_, "SELECT value FROM counters WHERE name = 'job_id'");
    return st.next_row() ? static_cast<JobId>(st.column_int64(0)) : 0;
  }

  sqlite::Database db_;  // first: closed after the statements are finalized
  Statement put_job_, put_item_, put_inst_, raise_job_mark_, put_token_;
  JobId job_mark_;  // the mark as this store last wrote or read it
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace qube::supervisor
