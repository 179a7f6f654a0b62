#include <sqlite3.h>

#include <optional>

#include "qube/codec.hpp"
#include "sqlite_db.hpp"
#include "sqlite_schema.hpp"
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
      : db_(path, {.what = "store", .prefix = "sqlite", .busy_timeout_ms = 5000, .checkpoint_apart = true}),
        put_job_(schema(db_, path), "INSERT OR REPLACE INTO jobs(id, doc) VALUES(?, ?)"),
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
  void release_memory() override { sqlite3_db_release_memory(db_.handle()); }

  void put_job(const Job& job) override {
    const Json doc = to_stored_json(job);
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
        .bind_blob(3, encode_item(item))
        .run();
  }

  void put_instance(JobId job, const Instance& inst) override {
    put_inst_.bind(1, static_cast<std::int64_t>(job)).bind(2, inst.subid).bind_blob(3, encode(to_json(inst))).run();
  }

  void remove_job(JobId job) override {
    remove_job_row(job);
    Statement(db_, "DELETE FROM items WHERE job = ?").bind(1, static_cast<std::int64_t>(job)).run();
  }

  void remove_job_row(JobId job) override {
    for (const char* sql :
         {"DELETE FROM jobs WHERE id = ?", "DELETE FROM instances WHERE job = ?", "DELETE FROM submissions WHERE job = ?"})
      Statement(db_, sql).bind(1, static_cast<std::int64_t>(job)).run();
  }

  void remove_items(JobId job, std::size_t from, std::size_t to) override {
    Statement(db_, "DELETE FROM items WHERE job = ? AND idx >= ? AND idx < ?")
        .bind(1, static_cast<std::int64_t>(job))
        .bind(2, static_cast<std::int64_t>(from))
        .bind(3, static_cast<std::int64_t>(std::min<std::size_t>(to, INT64_MAX)))
        .run();
  }

  JobId max_job_id() override { return read_job_mark(); }

  std::vector<Job> load(const std::function<void(const std::string&)>& on_bad_row) override {
    JobAssembler jobs(on_bad_row);
    {
      Statement st(db_, "SELECT id, doc FROM jobs ORDER BY id");
      while (st.next_row())
        jobs.add_job(static_cast<JobId>(st.column_int64(0)), [&] {
          return stored_job_from_json(decode(st.column_blob(1)));
        });
    }
    {
      Statement st(db_, "SELECT job, idx, doc FROM items ORDER BY job, idx");
      while (st.next_row())
        jobs.add_item(static_cast<JobId>(st.column_int64(0)), static_cast<std::size_t>(st.column_int64(1)),
                      [&] { return decode_item(st.column_blob(2)); });
    }
    {
      Statement st(db_, "SELECT job, subid, doc FROM instances ORDER BY job, subid");
      while (st.next_row())
        jobs.add_instance(static_cast<JobId>(st.column_int64(0)), static_cast<std::int32_t>(st.column_int64(1)),
                          [&] { return instance_from_json(decode(st.column_blob(2))); });
    }
    try {
      quarantine_bad(jobs, on_bad_row);
    } catch (const std::exception& e) {  // the rows stay where they are: skipped again next time
      on_bad_row(std::string("could not move unusable rows to the quarantine: ") + e.what());
    }
    return jobs.take();
  }

  void put_farm_settings(const Json& settings) override {
    Statement(db_, "INSERT OR REPLACE INTO settings(name, doc) VALUES('farm', ?)").bind_blob(1, encode(settings)).run();
  }

  Json load_farm_settings(const std::function<void(const std::string&)>& on_bad_row) override {
    std::string why;
    Json doc;
    {
      Statement st(db_, "SELECT doc FROM settings WHERE name = 'farm'");
      if (!st.next_row()) return Json::object();
      doc = farm_settings_or_empty([&] { return decode(st.column_blob(0)); }, [&](const std::string& bad) {
        on_bad_row(bad);
        why = bad;
      });
    }
    if (!why.empty()) {
      sqlite::Transaction tx(db_);
      move_rows("settings", "name", "doc", "name = 'farm'", why, std::nullopt);
      tx.commit();
    }
    return doc;
  }

  void put_submission(const SubmissionRecord& record) override {
    for (JobId id : record.ids)
      put_token_.bind(1, static_cast<std::int64_t>(id)).bind_text(2, record.user).bind_text(3, record.token).run();
  }

  std::vector<QuarantinedRow> quarantined() override {
    std::vector<QuarantinedRow> rows;
    Statement st(db_, "SELECT tbl, key, raw, reason, CAST(time * 1000 AS INTEGER) FROM quarantine ORDER BY id");
    while (st.next_row())
      rows.push_back({std::string(st.column_text(0)), std::string(st.column_text(1)), readable_raw(st.column_blob(2)),
                      std::string(st.column_text(3)), static_cast<double>(st.column_int64(4)) / 1000});
    return rows;
  }

  std::vector<SubmissionRecord> load_submissions() override {
    SubmissionGrouper rows;
    Statement st(db_, "SELECT job, user, token FROM submissions ORDER BY job");
    while (st.next_row())
      rows.add(static_cast<JobId>(st.column_int64(0)), std::string(st.column_text(1)), std::string(st.column_text(2)));
    return rows.take();
  }

 private:
  // Moves the rows of `table` that `where` selects (?1: a job id, ?2: `sub`) to
  // the quarantine, keyed by `key_sql`, with `raw_sql` as the raw row.
  void move_rows(const char* table, const std::string& key_sql, const std::string& raw_sql, const std::string& where,
                 const std::string& reason, std::optional<JobId> job, std::optional<std::int64_t> sub = std::nullopt) {
    Statement copy(db_, ("INSERT INTO quarantine(tbl, key, raw, reason, time) SELECT '" + std::string(table) + "', " +
                         key_sql + ", " + raw_sql + ", ?3, (julianday('now') - 2440587.5) * 86400.0 FROM " + table +
                         " WHERE " + where)
                            .c_str());
    Statement remove(db_, ("DELETE FROM " + std::string(table) + " WHERE " + where).c_str());
    for (Statement* st : {&copy, &remove}) {
      if (job) st->bind(1, static_cast<std::int64_t>(*job));
      if (sub) st->bind(2, *sub);
    }
    copy.bind_text(3, reason).run();
    remove.run();
  }

  // What load() could not use goes to the quarantine, with rows of other tables
  // that contradict the loaded ones: a submission of no stored job, a job id
  // mark that is not a number.
  void quarantine_bad(const JobAssembler& jobs, const BadRowReport& on_bad_row) {
    // Within the caller's transaction if one is open (a load before its commit).
    std::optional<sqlite::Transaction> tx;
    if (sqlite3_get_autocommit(db_.handle())) tx.emplace(db_);
    for (const auto& bad : jobs.bad_rows()) {
      if (bad.table == "jobs") move_rows("jobs", "id", "doc", "id = ?1", bad.reason, bad.job);
      else if (bad.table == "items")
        move_rows("items", "job || '/' || idx", "doc", "job = ?1 AND idx = ?2", bad.reason, bad.job, bad.sub);
      else move_rows("instances", "job || '.' || subid", "doc", "job = ?1 AND subid = ?2", bad.reason, bad.job, bad.sub);
    }
    for (const auto& [job, why] : jobs.dropped_jobs()) {
      move_rows("jobs", "id", "doc", "id = ?1", why, job);
      move_rows("items", "job || '/' || idx", "doc", "job = ?1", why, job);
      move_rows("instances", "job || '.' || subid", "doc", "job = ?1", why, job);
      move_rows("submissions", "job", kSubmissionRaw, "job = ?1", why, job);
    }
    {
      Statement st(db_, "SELECT COUNT(*) FROM submissions WHERE job NOT IN (SELECT id FROM jobs)"
                        " OR typeof(user) != 'text' OR typeof(token) != 'text'");
      if (st.next_row() && st.column_int64(0) > 0) on_bad_row(std::to_string(st.column_int64(0)) + " submission row(s) of no stored job, or not text");
    }
    move_rows("submissions", "job", kSubmissionRaw,
              "job NOT IN (SELECT id FROM jobs) OR typeof(user) != 'text' OR typeof(token) != 'text'",
              "a submission token row of no stored job, or not text", std::nullopt);
    {
      Statement st(db_, "SELECT COUNT(*) FROM counters WHERE name = 'job_id' AND typeof(value) != 'integer'");
      if (st.next_row() && st.column_int64(0) > 0) {
        on_bad_row("the job id high-water mark is not a number: started again from the highest job id stored");
        move_rows("counters", "name", "value", "name = 'job_id'", "not a number", std::nullopt);
        db_.exec("INSERT INTO counters(name, value) SELECT 'job_id', MAX(COALESCE(MAX(id), 0), (SELECT COALESCE("
                 "MAX(CAST(key AS INTEGER)), 0) FROM quarantine WHERE tbl = 'jobs')) FROM jobs");
        job_mark_ = read_job_mark();
      }
    }
    if (tx) tx->commit();
  }
  static constexpr const char* kSubmissionRaw = "'user ' || quote(user) || ', token ' || quote(token)";

  // Brings the schema up to date (sqlite_schema.hpp); returns `db` so that the
  // constructor can run this before it prepares statements on the tables.
  static sqlite::Database& schema(sqlite::Database& db, const std::string& path) {
    static constexpr sqlite::Migration kMigrations[] = {baseline, quarantine_table};
    sqlite::migrate(db, "store " + path, kMigrations);
    return db;
  }

  // Version 1: the schema as it stood before versions were kept, IF NOT EXISTS
  // throughout so that such a file is upgraded by creating what it lacks.
  static void baseline(sqlite::Database& db) {
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
  }

  // Version 2: rows load() could not use (Store::quarantined).
  static void quarantine_table(sqlite::Database& db) {
    db.exec("CREATE TABLE IF NOT EXISTS quarantine(id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL,"
            " key TEXT NOT NULL, raw BLOB, reason TEXT NOT NULL, time REAL NOT NULL)");
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
