#include "pg_db.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "open_store.hpp"
#include "schema_migrations.hpp"

namespace qube::supervisor::pg {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// pg_advisory_xact_lock key held while the schema is read and upgraded ("qube").
constexpr std::int64_t kMigrationLock = 0x71756265;

// Failures that mean the server is away rather than that the request was wrong:
// SQLSTATE class 08 (connection exception) and 57P (admin or crash shutdown,
// cannot connect now).
bool server_away(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) || dynamic_cast<const pqxx::in_doubt_error*>(&e)) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    return state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0;
  }
  return false;
}

}  // namespace

Link::Link(std::string uri, std::string what, std::function<void(pqxx::connection&)> on_connect)
    : uri_(std::move(uri)), what_(std::move(what)), on_connect_(std::move(on_connect)) {
  try {
    connect();
  } catch (const StoreUnavailable&) {
    throw std::runtime_error("cannot open " + what_ + ": " + last_error_);
  }
}

Link::~Link() = default;

pqxx::connection& Link::connection() {
  if (conn_ && !lost_) return *conn_;
  if (std::chrono::steady_clock::now() < next_attempt_)
    throw StoreUnavailable(what_ + " unavailable (" + last_error_ + "); reconnecting");
  connect();
  return *conn_;
}

void Link::connect() {
  conn_.reset();
  lost_ = false;
  try {
    auto conn = std::make_unique<pqxx::connection>(uri_);
    on_connect_(*conn);
    conn_ = std::move(conn);
    if (backoff_ != kFirstBackoff) spdlog::info("{}: connected again", what_);
    backoff_ = kFirstBackoff;
  } catch (const std::exception& e) {
    last_error_ = e.what();
    while (!last_error_.empty() && last_error_.back() == '\n') last_error_.pop_back();
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    spdlog::warn("{}: cannot connect ({}); next attempt in {} ms", what_, last_error_, backoff_.count());
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    throw StoreUnavailable(what_ + " unavailable (" + last_error_ + "); reconnecting");
  }
}

void Link::failed(const std::exception& e) {
  // Not libpqxx's (StoreUnavailable, SchemaTooNew ...): as it was.
  if (!dynamic_cast<const pqxx::failure*>(&e) && !(conn_ && !conn_->is_open())) throw;
  std::string why = e.what();
  while (!why.empty() && why.back() == '\n') why.pop_back();
  if (server_away(e) || (conn_ && !conn_->is_open())) {
    if (!lost_) spdlog::warn("{}: connection lost ({}); reconnecting", what_, why);
    lost_ = true;
    last_error_ = why;
    throw StoreUnavailable(what_ + " unavailable (" + why + "); reconnecting");
  }
  throw std::runtime_error(what_ + ": " + why);
}

void migrate(pqxx::connection& conn, const std::string& what, std::span<const Migration> migrations) {
  // All versions in one transaction: PostgreSQL's DDL is transactional, so an
  // upgrade happens whole or not at all.
  pqxx::work txn(conn);
  txn.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
  txn.exec("CREATE TABLE IF NOT EXISTS schema_version(version integer PRIMARY KEY,"
           " applied timestamptz NOT NULL DEFAULT now())");
  const int current = txn.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0].as<int>();
  upgrade_schema(what, current, static_cast<int>(migrations.size()), [&](int version) {
    migrations[static_cast<std::size_t>(version - 1)](txn);
    txn.exec_params("INSERT INTO schema_version(version) VALUES($1)", version);
  });
  txn.commit();
}

std::string int_array(std::span<const std::int64_t> values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

std::string text_array(std::span<const std::string> values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

void for_each_row(pqxx::work& txn, const std::string& sql, const std::function<void(const pqxx::row&)>& row,
                  int batch) {
  txn.exec("DECLARE qube_rows NO SCROLL CURSOR FOR " + sql);
  const std::string fetch = "FETCH " + std::to_string(batch) + " FROM qube_rows";
  for (;;) {
    const pqxx::result rows = txn.exec(fetch);
    for (const auto& r : rows) row(r);
    if (rows.size() < static_cast<std::size_t>(batch)) break;
  }
  txn.exec("CLOSE qube_rows");
}

}  // namespace qube::supervisor::pg
