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
// Each opens its own connection.
std::unique_ptr<Store> open_pg_store(const std::string& uri);
std::unique_ptr<EventLog> open_pg_event_log(const std::string& uri);

}  // namespace qube::supervisor
