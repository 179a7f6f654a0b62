#pragma once
// The PostgreSQL store's schema, as the migrations that build it.
#include <pqxx/pqxx>

namespace qube::supervisor::pg {

// Creates or upgrades the schema on `conn` (pg_db.hpp's migrate with this
// store's migrations). `what` names the database in errors.
void migrate_store_schema(pqxx::connection& conn, const std::string& what);

}  // namespace qube::supervisor::pg
