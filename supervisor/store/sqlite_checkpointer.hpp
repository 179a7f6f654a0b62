#pragma once
// Copies a database's WAL back into it on a thread of its own.
//
// Why: SQLite's automatic checkpoint runs inside the commit that takes the WAL
// past 1,000 pages, and writes and fsyncs the database file there. On the event
// loop that commit then held every heartbeat and request 50 to 225 ms on a slow
// disk (docs/performance.md). With a Checkpointer, the commit only appends to the
// WAL; the thread, on a connection of its own, checkpoints once the WAL has grown
// past the same 1,000 pages. PASSIVE: it never waits for the loop's transactions,
// nor they for it (SQLite's WAL lets one writer and a checkpointer run together).
// Durability is SQLite's as before: what was committed is in the WAL until copied.
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace qube::supervisor::sqlite {

class Checkpointer {
 public:
  // Takes over `db`'s WAL hook (which turns its automatic checkpoint off) and
  // starts the thread, which opens `path` again for itself at its first checkpoint.
  Checkpointer(sqlite3* db, const std::string& path, std::string what);
  // Stops the thread (a checkpoint under way ends first); before `db` closes.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Pages in the WAL after which a checkpoint is due: SQLite's own default.
  static constexpr int kPagesDue = 1000;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run(const std::string& path);
  sqlite3* open_own(const std::string& path);  // the thread's connection; null if it cannot

  sqlite3* db_;
  std::string what_;  // "store": names the database in the log
  std::mutex mutex_;
  std::condition_variable wake_;
  bool due_ = false;
  bool stopping_ = false;
  bool open_failed_ = false;  // the thread's: said once
  std::thread thread_;
};

}  // namespace qube::supervisor::sqlite
