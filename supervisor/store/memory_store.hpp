#pragma once
// A Store and an EventLog in memory, for tests and as the model of what the
// interfaces promise: each behaves like its SQLite twin in everything store.hpp
// and event_log.hpp say, minus the file (so no row is ever unreadable).
#include <memory>

#include "event_log.hpp"
#include "store.hpp"

namespace qube::supervisor {

// What a memory store has committed: it stands where SQLite's file would, and
// outlives the stores opened on it, so that a test can close a store and open
// another on the same "file" to see what survived. Open one store on it at a time.
class MemoryStoreFile;
std::shared_ptr<MemoryStoreFile> new_memory_store_file();

// On a file of its own, dropped with the store.
std::unique_ptr<Store> open_memory_store();
// On `file`. Writes between begin() and commit() reach the file at commit();
// a store closed before commit() leaves the file as it was. Writes outside a
// transaction are committed at once, as SQLite's autocommit does.
std::unique_ptr<Store> open_memory_store(std::shared_ptr<MemoryStoreFile> file);

std::unique_ptr<EventLog> open_memory_event_log();

}  // namespace qube::supervisor
