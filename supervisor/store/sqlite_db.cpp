#include "sqlite_db.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "sqlite_checkpointer.hpp"

namespace qube::supervisor::sqlite {

Database::Database(const std::string& path, OpenOptions options) : prefix_(std::move(options.prefix)) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open " + options.what + " " + path + ": " + err);
  }
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    if (options.busy_timeout_ms)
      exec(("PRAGMA busy_timeout=" + std::to_string(*options.busy_timeout_ms)).c_str());
    if (options.checkpoint_apart && path != ":memory:")
      checkpointer_ = std::make_unique<Checkpointer>(db_, path, options.what);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

// close_v2: a statement its owner has not finalized yet keeps the connection
// alive until it is, rather than failing the close.
Database::~Database() {
  checkpointer_.reset();
  for (sqlite3_stmt* kept : {begin_, commit_, rollback_}) sqlite3_finalize(kept);
  sqlite3_close_v2(db_);
}

void Database::run_kept(sqlite3_stmt*& kept, const char* sql) {
  if (!kept && sqlite3_prepare_v2(db_, sql, -1, &kept, nullptr) != SQLITE_OK)
    throw std::runtime_error(prefix_ + ": " + last_error() + " in: " + sql);
  const int rc = sqlite3_step(kept);
  // The message before reset(), which may replace it.
  const std::string err = rc == SQLITE_DONE ? "" : last_error();
  sqlite3_reset(kept);
  if (rc != SQLITE_DONE) throw std::runtime_error(prefix_ + ": " + err + " in: " + sql);
}

void Database::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(prefix_ + ": " + msg + " in: " + sql);
  }
}

std::string Database::last_error() { return sqlite3_errmsg(db_); }

Statement::Statement(Database& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr) != SQLITE_OK)
    throw std::runtime_error(db.prefix() + " prepare: " + db.last_error());
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int param, std::int64_t value) {
  sqlite3_bind_int64(stmt_, param, static_cast<sqlite3_int64>(value));
  return *this;
}

Statement& Statement::bind_blob(int param, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, param, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_text(int param, std::string_view text) {
  sqlite3_bind_text(stmt_, param, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

bool Statement::next_row() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw std::runtime_error(db_.prefix() + " read: " + db_.last_error());
}

void Statement::run() {
  const int rc = sqlite3_step(stmt_);
  // The message first: reset() may replace it.
  const std::string err = rc == SQLITE_DONE ? "" : db_.last_error();
  sqlite3_reset(stmt_);
  if (rc != SQLITE_DONE) throw std::runtime_error(db_.prefix() + " write: " + err);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int64(int col) { return sqlite3_column_int64(stmt_, col); }

std::string_view Statement::column_blob(int col) {
  const void* p = sqlite3_column_blob(stmt_, col);
  return {static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

std::string_view Statement::column_text(int col) {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (!p) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

// A destructor must not throw; a failed ROLLBACK leaves SQLite to roll back
// when the connection closes.
Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace qube::supervisor::sqlite
