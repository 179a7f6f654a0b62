#pragma once
// A throwaway PostgreSQL server for tests: initdb and pg_ctl from Debian's
// postgresql package (/usr/lib/postgresql/*/bin, or QUBE_PG_BIN, or PATH) in a
// temporary directory, on a free loopback port, its socket in that directory,
// run as `nobody` when the tests run as root (PostgreSQL refuses root). No
// system service is needed or touched.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace qube::testing {

class PgCluster {
 public:
  // The process's one cluster, started at the first call; nullptr, with the
  // reason in `why_not`, when PostgreSQL's binaries are absent or it would not
  // start. Stopped and removed when the test binary ends (a gtest Environment).
  static PgCluster* shared(std::string* why_not);
  static void stop_shared();

  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // A new, empty database; its name (uri() gives its URI).
  std::string create_database();
  std::string uri(const std::string& database) const;
  // Runs SQL through psql on `database`; its output (unaligned, tuples only),
  // or nullopt when psql failed.
  std::optional<std::string> psql(const std::string& database, const std::string& sql) const;

  // Stops (fast shutdown: clients are disconnected) and starts the server again,
  // on the same port and data, for tests of a store that goes away. start()
  // on a running server does nothing.
  bool stop();
  bool start();

 private:
  PgCluster() = default;
  bool init(std::string* why_not);
  // Runs a server binary (as `nobody` under root); its exit status.
  int run_as_owner(const std::string& command) const;

  std::filesystem::path bin_, dir_;
  int port_ = 0;
  int databases_ = 0;
  bool running_ = false;
};

}  // namespace qube::testing
