#pragma once
// The one place the supervisor talks to SQLite: a database opened in WAL mode,
// statements that finalize themselves, and transactions. The job store and the
// event log both sit on it, each naming itself in its errors.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace qube::supervisor::sqlite {

struct OpenOptions {
  std::string what;    // "store": in "cannot open store <path>: <why>"
  std::string prefix;  // "sqlite": begins every later error, "sqlite: <why> in: <sql>"
  // How long a write waits for another connection's lock before failing; none:
  // fail at once (SQLite's default).
  std::optional<int> busy_timeout_ms;
  // Checkpoint on a thread of its own (sqlite_checkpointer.hpp), never inside a
  // commit: for databases the event loop commits to.
  bool checkpoint_apart = false;
};

class Checkpointer;

class Database {
 public:
  // Opens (creating if needed) `path` with journal_mode=WAL and synchronous=NORMAL:
  // a commit survives kill -9 of the process and costs one WAL append.
  Database(const std::string& path, OpenOptions options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs SQL that returns no rows (schema, pragmas, BEGIN ...).
  void exec(const char* sql);
  // Prepared once: the supervisor commits every round, and parsing "COMMIT"
  // anew was a few per cent of a short item's cost.
  void begin() { run_kept(begin_, "BEGIN"); }
  void commit() { run_kept(commit_, "COMMIT"); }
  void rollback() { run_kept(rollback_, "ROLLBACK"); }

  sqlite3* handle() { return db_; }
  const std::string& prefix() const { return prefix_; }
  std::string last_error();

 private:
  void run_kept(sqlite3_stmt*& kept, const char* sql);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  std::string prefix_;
  std::unique_ptr<Checkpointer> checkpointer_;  // stopped before db_ closes
};

// A prepared statement, finalized when it goes out of scope. Binding starts
// afresh after reset(); columns are numbered from 0, parameters from 1 (SQLite's
// own numbering).
class Statement {
 public:
  Statement(Database& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int param, std::int64_t value);
  Statement& bind_blob(int param, std::string_view bytes);
  Statement& bind_text(int param, std::string_view text);

  // Steps to the next row: false when there is none. An error throws.
  bool next_row();
  // Steps a statement that returns no rows (a write). An error throws.
  void run();
  // Ready to run again, with its parameters cleared.
  void reset();

  std::int64_t column_int64(int col);
  // Views into SQLite's buffer, valid until the next step or reset.
  std::string_view column_blob(int col);
  std::string_view column_text(int col);

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN now; ROLLBACK when it goes out of scope without commit(), so that an
// exception halfway through leaves nothing behind.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) { db_.begin(); }
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    db_.commit();
    open_ = false;
  }

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace qube::supervisor::sqlite
