#include <sqlite3.h>

#include <map>
#include <stdexcept>

#include "qube/codec.hpp"
#include "store.hpp"

namespace qube::supervisor {

namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open store " + path + ": " + err);
    }
    // WAL with synchronous=NORMAL survives kill -9 of the supervisor; each group
    // commit costs one WAL append.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA busy_timeout=5000");
    exec("CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, doc BLOB NOT NULL)");
    exec("CREATE TABLE IF NOT EXISTS items(job INTEGER NOT NULL, idx INTEGER NOT NULL, doc BLOB NOT NULL,"
         " PRIMARY KEY(job, idx)) WITHOUT ROWID");
    exec("CREATE TABLE IF NOT EXISTS instances(job INTEGER NOT NULL, subid INTEGER NOT NULL,"
         " doc BLOB NOT NULL, PRIMARY KEY(job, subid)) WITHOUT ROWID");
    exec("CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, doc BLOB NOT NULL)");
    put_job_ = std::make_unique<Statement>(db_, "INSERT OR REPLACE INTO jobs(id, doc) VALUES(?, ?)");
    put_item_ = std::make_unique<Statement>(db_, "INSERT OR REPLACE INTO items(job, idx, doc) VALUES(?, ?, ?)");
    put_inst_ = std::make_unique<Statement>(db_, "INSERT OR REPLACE INTO instances(job, subid, doc) VALUES(?, ?, ?)");
  }

  ~SqliteStore() override {
    put_job_.reset();
    put_item_.reset();
    put_inst_.reset();
    sqlite3_close(db_);
  }

  void begin() override { exec("BEGIN"); }
  void commit() override { exec("COMMIT"); }

  using Store::put_job;
  void put_job(const Job& job, const Progress& progress) override {
    Json doc = to_json(job, false, progress);
    doc["spec"] = to_json(job.spec);
    write(*put_job_, static_cast<sqlite3_int64>(job.id), std::nullopt, encode(doc));
  }

  void put_item(JobId job, std::size_t index, const AgendaItem& item) override {
    write(*put_item_, static_cast<sqlite3_int64>(job), static_cast<sqlite3_int64>(index),
          encode(to_json(item)));
  }

  void put_instance(JobId job, const Instance& inst) override {
    write(*put_inst_, static_cast<sqlite3_int64>(job), inst.subid, encode(to_json(inst)));
  }

  void remove_job(JobId job) override {
    for (const char* sql : {"DELETE FROM jobs WHERE id = ?", "DELETE FROM items WHERE job = ?",
                            "DELETE FROM instances WHERE job = ?"}) {
      Statement st(db_, sql);
      sqlite3_bind_int64(st.get(), 1, static_cast<sqlite3_int64>(job));
      step_done(st);
    }
  }

  JobId max_job_id() override {
    Statement st(db_, "SELECT COALESCE(MAX(id), 0) FROM jobs");
    return sqlite3_step(st.get()) == SQLITE_ROW ? static_cast<JobId>(sqlite3_column_int64(st.get(), 0)) : 0;
  }

  std::vector<Job> load(const std::function<void(const std::string&)>& on_bad_row) override {
    std::map<JobId, Job> jobs;
    {
      Statement st(db_, "SELECT id, doc FROM jobs ORDER BY id");
      while (sqlite3_step(st.get()) == SQLITE_ROW) {
        const auto id = static_cast<JobId>(sqlite3_column_int64(st.get(), 0));
        try {
          const Json doc = decode(blob(st.get(), 1));
          Job job = job_from_json(doc);
          job.spec = spec_from_json(doc.at("spec"));
          job.id = id;
          jobs.emplace(id, std::move(job));
        } catch (const std::exception& e) {
          on_bad_row("job " + std::to_string(id) + ": " + e.what());
        }
      }
    }
    {
      Statement st(db_, "SELECT job, idx, doc FROM items ORDER BY job, idx");
      while (sqlite3_step(st.get()) == SQLITE_ROW) {
        const auto id = static_cast<JobId>(sqlite3_column_int64(st.get(), 0));
        const auto idx = static_cast<std::size_t>(sqlite3_column_int64(st.get(), 1));
        auto it = jobs.find(id);
        if (it == jobs.end()) continue;
        try {
          auto& agenda = it->second.agenda;
          if (idx != agenda.size()) throw std::runtime_error("agenda index out of order");
          agenda.push_back(item_from_json(decode(blob(st.get(), 2))));
        } catch (const std::exception& e) {
          on_bad_row("job " + std::to_string(id) + " item " + std::to_string(idx) + ": " + e.what());
          jobs.erase(it);  // a job with a hole in its agenda cannot be trusted to run
        }
      }
    }
    {
      Statement st(db_, "SELECT job, doc FROM instances ORDER BY job, subid");
      while (sqlite3_step(st.get()) == SQLITE_ROW) {
        auto it = jobs.find(static_cast<JobId>(sqlite3_column_int64(st.get(), 0)));
        if (it == jobs.end()) continue;
        try {
          it->second.instances.push_back(instance_from_json(decode(blob(st.get(), 1))));
        } catch (const std::exception& e) {
          on_bad_row("instance of job " + std::to_string(it->first) + ": " + e.what());
        }
      }
    }
    std::vector<Job> out;
    out.reserve(jobs.size());
    for (auto& [id, job] : jobs) out.push_back(std::move(job));
    return out;
  }

  void put_farm_settings(const Json& settings) override {
    Statement st(db_, "INSERT OR REPLACE INTO settings(name, doc) VALUES('farm', ?)");
    const std::string doc = encode(settings);
    sqlite3_bind_blob(st.get(), 1, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
    step_done(st);
  }

  Json load_farm_settings(const std::function<void(const std::string&)>& on_bad_row) override {
    Statement st(db_, "SELECT doc FROM settings WHERE name = 'farm'");
    if (sqlite3_step(st.get()) != SQLITE_ROW) return Json::object();
    try {
      Json doc = decode(blob(st.get(), 0));
      if (!doc.is_object()) throw std::runtime_error("not an object");
      return doc;
    } catch (const std::exception& e) {
      on_bad_row(std::string("farm settings (host locks and changes, resource totals): ") + e.what());
      return Json::object();
    }
  }

 private:
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error(std::string("sqlite: ") + msg + " in: " + sql);
    }
  }

  static std::string_view blob(sqlite3_stmt* st, int col) {
    const void* p = sqlite3_column_blob(st, col);
    return std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st, col)));
  }

  void step_done(Statement& st) {
    if (sqlite3_step(st.get()) != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite write: ") + sqlite3_errmsg(db_));
  }

  void write(Statement& st, sqlite3_int64 a, std::optional<sqlite3_int64> b, const std::string& doc) {
    sqlite3_reset(st.get());
    int col = 1;
    sqlite3_bind_int64(st.get(), col++, a);
    if (b) sqlite3_bind_int64(st.get(), col++, *b);
    sqlite3_bind_blob(st.get(), col, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
    step_done(st);
  }

  sqlite3* db_ = nullptr;
  std::unique_ptr<Statement> put_job_, put_item_, put_inst_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace qube::supervisor
