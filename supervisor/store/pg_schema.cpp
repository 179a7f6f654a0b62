#include "pg_schema.hpp"

#include "pg_db.hpp"

namespace qube::supervisor::pg {

namespace {

// Version 1: the rows of the SQLite store, table for table, documents as the
// same MessagePack bytes; and the event log, which SQLite keeps in a file of
// its own.
void version_1(pqxx::work& txn) {
  txn.exec("CREATE TABLE jobs(id bigint PRIMARY KEY, doc bytea NOT NULL)");
  txn.exec("CREATE TABLE items(job bigint NOT NULL, idx bigint NOT NULL, doc bytea NOT NULL, PRIMARY KEY(job, idx))");
  txn.exec("CREATE TABLE instances(job bigint NOT NULL, subid bigint NOT NULL, doc bytea NOT NULL,"
           " PRIMARY KEY(job, subid))");
  txn.exec("CREATE TABLE settings(name text PRIMARY KEY, doc bytea NOT NULL)");
  txn.exec("CREATE TABLE counters(name text PRIMARY KEY, value bigint NOT NULL)");
  txn.exec("INSERT INTO counters(name, value) VALUES('job_id', 0)");
  txn.exec("CREATE TABLE submissions(job bigint PRIMARY KEY, \"user\" text NOT NULL, token text NOT NULL)");
  txn.exec("CREATE TABLE events(seq bigserial PRIMARY KEY, job bigint NOT NULL, doc text NOT NULL)");
  txn.exec("CREATE INDEX events_job ON events(job, seq)");
}

// Version 2: rows load() could not use (Store::quarantined), as in SQLite.
void version_2(pqxx::work& txn) {
  txn.exec("CREATE TABLE quarantine(id bigserial PRIMARY KEY, tbl text NOT NULL, key text NOT NULL, raw text,"
           " reason text NOT NULL, time double precision NOT NULL)");
}

// Version 3: standby supervisors (docs/high-availability.md). One lease row:
// who is active, under which epoch (raised at every takeover; each commit of
// the active checks it), where clients and workers reach it, and until when;
// and every supervisor sharing the database with when it was last seen.
void version_3(pqxx::work& txn) {
  txn.exec("CREATE TABLE lease(id integer PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL,"
           " clients text NOT NULL, workers text NOT NULL, expires timestamptz NOT NULL)");
  txn.exec("INSERT INTO lease VALUES(1, '', 0, '', '', '-infinity')");
  txn.exec("CREATE TABLE supervisors(name text PRIMARY KEY, clients text NOT NULL, workers text NOT NULL,"
           " last_seen timestamptz NOT NULL)");
}

constexpr Migration kMigrations[] = {version_1, version_2, version_3};

}  // namespace

void migrate_store_schema(pqxx::connection& conn, const std::string& what) { migrate(conn, what, kMigrations); }

}  // namespace qube::supervisor::pg
