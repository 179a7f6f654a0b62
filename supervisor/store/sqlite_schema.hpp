#pragma once
// Versioned schema migrations of a SQLite file (schema_migrations.hpp).
#include <span>
#include <string>

#include "sqlite_db.hpp"

namespace qube::supervisor::sqlite {

// migrations[i] brings the schema from version i to i + 1. A file from before
// versions were kept is version 0, so migration 1 must accept one that already
// has some of its tables (IF NOT EXISTS).
using Migration = void (*)(Database& db);

// Brings `db` to version migrations.size(); `what` names it in errors.
void migrate(Database& db, const std::string& what, std::span<const Migration> migrations);

}  // namespace qube::supervisor::sqlite
