#pragma once
// The one place the supervisor talks to PostgreSQL (libpqxx): a connection that
// comes back after it is lost, the schema's versions, and the array parameters
// that let one prepared statement write any number of rows.
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

namespace qube::supervisor::pg {

// A connection to `uri` that is dropped when the server goes away and made
// again on a later call, no sooner than a backoff that doubles from 0.1 s to
// 5 s while attempts fail. Every use goes through run(): a failure that means
// the server is away (connection lost, server shutting down or starting up,
// commit outcome unknown) becomes StoreUnavailable; any other is a
// std::runtime_error naming `what`.
class Link {
 public:
  // Connects at once: a server that cannot be reached at start is an error
  // (std::runtime_error, "cannot open <what> <uri>: ..."), not a wait.
  // `on_connect` prepares statements on each new connection.
  Link(std::string uri, std::string what, std::function<void(pqxx::connection&)> on_connect);
  ~Link();

  // Runs f(connection), connecting first if needed.
  template <class F>
  decltype(auto) run(F&& f) {
    pqxx::connection& c = connection();
    try {
      return f(c);
    } catch (const std::exception& e) {
      failed(e);
    }
  }

  // Rethrows `e`, which the caller is handling, as run() does (StoreUnavailable
  // or std::runtime_error); an exception not from libpqxx is rethrown as it is.
  [[noreturn]] void failed(const std::exception& e);
  const std::string& what() const { return what_; }

 private:
  // The connection, made again if it was lost (callers hold no transaction on
  // a lost one: they drop theirs when run() throws).
  pqxx::connection& connection();
  void connect();

  std::string uri_, what_;
  std::string last_error_;  // why the last attempt to connect failed
  bool lost_ = false;       // conn_ is kept until then so that a transaction on it can still be destroyed
  std::function<void(pqxx::connection&)> on_connect_;
  std::unique_ptr<pqxx::connection> conn_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{100};
};

// One migration: brings the schema from version i to i + 1 inside the
// transaction it is given.
using Migration = void (*)(pqxx::work& txn);

// Brings the database to version migrations.size() (schema_migrations.hpp),
// under an advisory lock so that two supervisors starting together upgrade once.
void migrate(pqxx::connection& conn, const std::string& what, std::span<const Migration> migrations);

// Array literals for parameters such as $1::bigint[] and $2::text[].
std::string int_array(std::span<const std::int64_t> values);
std::string text_array(std::span<const std::string> values);
// Bytes as hex, for decode(x, 'hex') in SQL.
std::string hex(std::string_view bytes);

// Runs `sql` through a cursor and calls `row` for each result row, `batch` rows
// fetched at a time: a store of millions of items is not held in memory twice.
void for_each_row(pqxx::work& txn, const std::string& sql, const std::function<void(const pqxx::row&)>& row,
                  int batch = 20000);

}  // namespace qube::supervisor::pg
