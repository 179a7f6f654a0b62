#include "event_log.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "farm.hpp"

namespace qube::supervisor {

namespace {

class SqliteEventLog final : public EventLog {
 public:
  explicit SqliteEventLog(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open event log " + path + ": " + err);
    }
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, job INTEGER NOT NULL, doc TEXT NOT NULL)");
    exec("CREATE INDEX IF NOT EXISTS events_job ON events(job, seq)");
    insert_ = prepare("INSERT INTO events(job, doc) VALUES(?, ?)");
  }
  ~SqliteEventLog() override {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }

  void append(const std::vector<FarmEvent>& events) override {
    bool any = false;
    for (const auto& e : events) any = any || e.history;
    if (!any) return;
    exec("BEGIN");
    for (const auto& e : events) {
      if (!e.history) continue;
      const std::string doc = to_json(e).dump();
      sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(e.job));
      sqlite3_bind_text(insert_, 2, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
      const int rc = sqlite3_step(insert_);
      sqlite3_reset(insert_);
      if (rc != SQLITE_DONE) {
        exec("ROLLBACK");
        throw std::runtime_error(std::string("event log: ") + sqlite3_errmsg(db_));
      }
    }
    exec("COMMIT");
  }

  Json read(JobId job, std::size_t limit) override {
    sqlite3_stmt* st = prepare(
        "SELECT doc FROM (SELECT seq, doc FROM events WHERE job = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq");
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(job));
    sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(limit));
    Json out = Json::array();
    while (sqlite3_step(st) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      Json doc = Json::parse(text ? text : "", nullptr, false);
      if (!doc.is_discarded()) out.push_back(std::move(doc));
    }
    sqlite3_finalize(st);
    return out;
  }

  void remove(JobId job) override {
    sqlite3_stmt* st = prepare("DELETE FROM events WHERE job = ?");
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(job));
    sqlite3_step(st);
    sqlite3_finalize(st);
  }

 private:
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error(std::string("event log: ") + msg);
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("event log prepare: ") + sqlite3_errmsg(db_));
    return st;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

}  // namespace

std::unique_ptr<EventLog> open_event_log(const std::string& path) {
  return std::make_unique<SqliteEventLog>(path);
}

}  // namespace qube::supervisor
