#include "event_log.hpp"

#include "farm.hpp"
#include "sqlite_db.hpp"

namespace qube::supervisor {

namespace {

using sqlite::Statement;

class SqliteEventLog final : public EventLog {
 public:
  explicit SqliteEventLog(const std::string& path)
      : db_(path, {.what = "event log", .prefix = "event log", .busy_timeout_ms = std::nullopt, .checkpoint_apart = true}),
        insert_(schema(db_), "INSERT INTO events(job, doc) VALUES(?, ?)") {}

  void append(const std::vector<FarmEvent>& events) override {
    bool any = false;
    for (const auto& e : events) any = any || e.history;
    if (!any) return;
    sqlite::Transaction txn(db_);
    for (const auto& e : events)
      if (e.history) insert_.bind(1, static_cast<std::int64_t>(e.job)).bind_text(2, to_json(e).dump()).run();
    txn.commit();
  }

  Json read(JobId job, std::size_t limit) override {
    Statement st(db_,
                 "SELECT doc FROM (SELECT seq, doc FROM events WHERE job = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq");
    st.bind(1, static_cast<std::int64_t>(job)).bind(2, static_cast<std::int64_t>(limit));
    Json out = Json::array();
    while (st.next_row()) {
      Json doc = Json::parse(st.column_text(0), nullptr, false);
      if (!doc.is_discarded()) out.push_back(std::move(doc));
    }
    return out;
  }

  void remove(JobId job) override {
    Statement(db_, "DELETE FROM events WHERE job = ?").bind(1, static_cast<std::int64_t>(job)).run();
  }

 private:
  // Creates the table if needed; returns `db` for the constructor to prepare on.
  static sqlite::Database& schema(sqlite::Database& db) {
    db.exec("CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, job INTEGER NOT NULL, doc TEXT NOT NULL)");
    db.exec("CREATE INDEX IF NOT EXISTS events_job ON events(job, seq)");
    return db;
  }

  sqlite::Database db_;  // first: closed after the statement is finalized
  Statement insert_;
};

}  // namespace

std::unique_ptr<EventLog> open_event_log(const std::string& path) {
  return std::make_unique<SqliteEventLog>(path);
}

}  // namespace qube::supervisor
