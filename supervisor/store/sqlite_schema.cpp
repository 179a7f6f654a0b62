#include "sqlite_schema.hpp"

#include "schema_migrations.hpp"

namespace qube::supervisor::sqlite {

void migrate(Database& db, const std::string& what, std::span<const Migration> migrations) {
  // One row per version applied: the current one is the highest.
  db.exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)");
  int current = 0;
  {
    Statement st(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (st.next_row()) current = static_cast<int>(st.column_int64(0));
  }
  upgrade_schema(what, current, static_cast<int>(migrations.size()), [&](int version) {
    Transaction txn(db);
    migrations[static_cast<std::size_t>(version - 1)](db);
    Statement(db, "INSERT INTO schema_version(version, applied) VALUES(?, strftime('%s', 'now'))")
        .bind(1, version)
        .run();
    txn.commit();
  });
}

}  // namespace qube::supervisor::sqlite
