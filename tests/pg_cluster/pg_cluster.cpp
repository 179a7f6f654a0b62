#include "pg_cluster.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace qube::testing {

namespace fs = std::filesystem;

namespace {

// The newest Debian cluster's binaries, then PATH.
fs::path find_bin_dir() {
  if (const char* env = std::getenv("QUBE_PG_BIN"); env && fs::exists(fs::path(env) / "initdb")) return env;
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(entry.path() / "bin" / "initdb")) found.push_back(entry.path() / "bin");
  if (!found.empty()) {
    std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
      return std::atoi(a.parent_path().filename().c_str()) < std::atoi(b.parent_path().filename().c_str());
    });
    return found.back();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    for (std::size_t at = 0; at <= dirs.size();) {
      const std::size_t end = std::min(dirs.find(':', at), dirs.size());
      const fs::path dir = dirs.substr(at, end - at);
      if (!dir.empty() && fs::exists(dir / "initdb") && fs::exists(dir / "pg_ctl")) return dir;
      at = end + 1;
    }
  }
  return {};
}

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(s);
  return port;
}

std::unique_ptr<PgCluster>& the_cluster() {
  static std::unique_ptr<PgCluster> cluster;
  return cluster;
}

// Stops the cluster, if a test started one, when the test binary ends.
class PgClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { PgCluster::stop_shared(); }
};
[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgClusterEnvironment);

}  // namespace

PgCluster* PgCluster::shared(std::string* why_not) {
  static std::string failed;  // the first attempt's reason: not retried
  auto& cluster = the_cluster();
  if (!cluster && failed.empty()) {
    std::unique_ptr<PgCluster> made(new PgCluster);
    if (made->init(&failed)) cluster = std::move(made);
  }
  if (!cluster && why_not) *why_not = failed;
  return cluster.get();
}

void PgCluster::stop_shared() { the_cluster().reset(); }

bool PgCluster::init(std::string* why_not) {
  bin_ = find_bin_dir();
  if (bin_.empty()) {
    *why_not = "PostgreSQL's initdb and pg_ctl were not found (apt install postgresql, or set QUBE_PG_BIN)";
    return false;
  }
  std::string tmpl = (fs::temp_directory_path() / "qube-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    *why_not = "cannot make a temporary directory";
    return false;
  }
  dir_ = tmpl;
  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    if (!nobody || ::chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      *why_not = "running as root, and cannot hand a directory to the user nobody";
      return false;
    }
  }
  port_ = free_port();
  if (run_as_owner("'" + (bin_ / "initdb").string() + "' -D '" + (dir_ / "data").string() +
                   "' -A trust -U qube -E UTF8 --locale=C --no-sync >'" + (dir_ / "initdb.log").string() +
                   "' 2>&1") != 0) {
    *why_not = "initdb failed (see " + (dir_ / "initdb.log").string() + ")";
    return false;
  }
  if (!start()) {
    *why_not = "pg_ctl start failed (see " + (dir_ / "server.log").string() + ")";
    return false;
  }
  return true;
}

PgCluster::~PgCluster() {
  if (running_) run_as_owner("'" + (bin_ / "pg_ctl").string() + "' -D '" + (dir_ / "data").string() +
                             "' -m immediate stop >/dev/null 2>&1");
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

int PgCluster::run_as_owner(const std::string& command) const {
  const std::string full = ::geteuid() == 0 ? "runuser -u nobody -- sh -c \"" + command + "\"" : command;
  const int rc = std::system(full.c_str());
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

bool PgCluster::start() {
  // Durability is not what these tests are about: no fsync keeps them quick.
  const std::string options = "-p " + std::to_string(port_) + " -k " + dir_.string() +
                              " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off";
  if (running_) return true;
  running_ = run_as_owner(std::string("'") + (bin_ / "pg_ctl").string() + "' -D '" + (dir_ / "data").string() + "' -l '" +
                          (dir_ / "server.log").string() + "' -o '" + options + "' -w -t 60 start >/dev/null 2>&1") == 0;
  return running_;
}

bool PgCluster::stop() {
  const bool ok = run_as_owner(std::string("'") + (bin_ / "pg_ctl").string() + "' -D '" + (dir_ / "data").string() +
                               "' -m fast -w stop >/dev/null 2>&1") == 0;
  if (ok) running_ = false;
  return ok;
}

std::string PgCluster::uri(const std::string& database) const {
  return "postgresql://qube@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgCluster::create_database() {
  const std::string name = "qube_test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  psql("postgres", "CREATE DATABASE " + name);
  return name;
}

std::optional<std::string> PgCluster::psql(const std::string& database, const std::string& sql) const {
  std::string quoted;
  for (char c : sql) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  const std::string command = std::string("'") + (bin_ / "psql").string() + "' -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " +
                              std::to_string(port_) + " -U qube -d " + database + " -c '" + quoted + "' 2>&1";
  FILE* out = ::popen(command.c_str(), "r");
  if (!out) return std::nullopt;
  std::string text;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), out)) text.append(buf.data(), n);
  if (::pclose(out) != 0) return std::nullopt;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace qube::testing
