#include "sqlite_checkpointer.hpp"

#include <sqlite3.h>
#include <spdlog/spdlog.h>

namespace qube::supervisor::sqlite {

Checkpointer::Checkpointer(sqlite3* db, const std::string& path, std::string what)
    : db_(db), what_(std::move(what)) {
  sqlite3_wal_hook(db_, &Checkpointer::on_commit, this);
  thread_ = std::thread([this, path] { run(path); });
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(db_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

// Called by SQLite on the committing thread (the event loop), after each commit.
int Checkpointer::on_commit(void* self, sqlite3*, const char*, int wal_pages) {
  if (wal_pages < kPagesDue) return SQLITE_OK;
  auto* me = static_cast<Checkpointer*>(self);
  {
    std::lock_guard lock(me->mutex_);
    me->due_ = true;
  }
  me->wake_.notify_one();
  return SQLITE_OK;
}

// Its own connection, opened at the first checkpoint: by then the loop's
// connection has made the file and its schema (a reader opening a new file while
// it is made can make the maker's first write fail as locked).
sqlite3* Checkpointer::open_own(const std::string& path) {
  sqlite3* own = nullptr;
  // A connection that has read nothing does not know the file is in WAL mode yet,
  // and its checkpoints do nothing: the schema is read first.
  if (sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK &&
      sqlite3_busy_timeout(own, 1000) == SQLITE_OK &&
      sqlite3_exec(own, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) == SQLITE_OK)
    return own;
  // Tried again at the next checkpoint due; meanwhile the WAL grows (nothing is lost).
  if (!open_failed_)
    spdlog::error("{}: cannot open {} to checkpoint it: {}", what_, path, own ? sqlite3_errmsg(own) : "out of memory");
  open_failed_ = true;
  sqlite3_close(own);
  return nullptr;
}

void Checkpointer::run(const std::string& path) {
  sqlite3* own = nullptr;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return due_ || stopping_; });
    if (stopping_) break;
    due_ = false;
    lock.unlock();
    if (!own) own = open_own(path);
    // The database file may be full (ENOSPC): the next commit past the mark asks
    // again, and nothing committed is lost meanwhile (it is in the WAL).
    if (own && sqlite3_wal_checkpoint_v2(own, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) != SQLITE_OK)
      spdlog::warn("{}: checkpoint failed, tried again later: {}", what_, sqlite3_errmsg(own));
    // The pages it read are not needed until the next checkpoint: given back.
    if (own) sqlite3_db_release_memory(own);
    lock.lock();
  }
  lock.unlock();
  sqlite3_close_v2(own);
}

}  // namespace qube::supervisor::sqlite
