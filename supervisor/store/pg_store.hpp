#pragma once
// The job store and the event log in PostgreSQL (docs/high-availability.md):
// the same promises as the SQLite ones (store.hpp, event_log.hpp), in a
// database that several supervisors can reach and that is backed up and
// replicated by PostgreSQL's own tools. Built only with libpqxx.
#include <memory>
#include <string>

#include "event_log.hpp"
#include "store.hpp"

namespace qube::supervisor {

// `uri`: postgresql://user:password@host:port/database (libpq's syntax). The
// schema is created or upgraded at open; a newer one is refused (SchemaTooNew).
// Each opens its own connection. `epoch` > 0: every commit first checks, in its
// transaction, that the lease row still has that epoch, holding the row so that
// a takeover waits for the commit; another epoch there throws Fenced.
std::unique_ptr<Store> open_pg_store(const std::string& uri, std::int64_t epoch = 0);
std::unique_ptr<EventLog> open_pg_event_log(const std::string& uri);

}  // namespace qube::supervisor
