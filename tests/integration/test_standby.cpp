// A pair of supervisors on one PostgreSQL store (docs/high-availability.md),
// with real processes: the standby takes over from an active one killed with
// SIGKILL, a paused active finds itself fenced when it wakes and steps down,
// and the run finishes with every item complete. And, on SQLite, a restarted
// supervisor adopts the instances still running instead of running their
// work again. PostgreSQL comes from the binary's throwaway cluster; those tests
// are skipped, saying why, when it is not there.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "farm_fixture.hpp"
#include "pg_cluster.hpp"

namespace qube_it {
namespace {

using qube::testing::PgCluster;

class StandbyPostgreSQL : public FarmTest {
 protected:
  struct Sup {
    std::string name, data, workers = "tcp://127.0.0.1:0", clients = "tcp://127.0.0.1:0";
    pid_t pid = -1;
  };

  void SetUp() override {
    FarmTest::SetUp();
    std::string why_not;
    pg_ = PgCluster::shared(&why_not);
    if (!pg_) GTEST_SKIP() << "no PostgreSQL server for this test: " << why_not;
    database_ = pg_->create_database();
    std::ofstream(path("pair.yaml")) << "heartbeat_interval: 0.5\nheartbeat_misses: 4\nlog_level: debug\n";
  }

  // Starts (or restarts, on the same endpoints) a supervisor of the pair.
  void start(Sup& s) {
    s.data = path(s.name + "-data");
    std::filesystem::remove(s.data + "/endpoints.json");
    s.pid = start_daemon(s.name, {bin("qbsupervisor"), "--config", path("pair.yaml"), "--data", s.data, "--store",
                                  pg_->uri(database_), "--workers", s.workers, "--clients", s.clients});
    ASSERT_TRUE(wait_until([&] {
      std::ifstream in(s.data + "/endpoints.json");
      std::stringstream text;
      text << in.rdbuf();
      const Json j = Json::parse(text.str(), nullptr, false);
      if (j.is_discarded() || !j.is_object() || j.value("pid", 0) != s.pid) return false;
      s.workers = j.at("workers").get<std::string>();
      s.clients = j.at("clients").get<std::string>();
      return true;
    }, 30s)) << s.name << " wrote no endpoints.json";
  }

  // qb admin status --json, asked of the pair.
  std::optional<Json> status() {
    const RunResult r = run({"qb", "admin", "status", "--json"}, {{"QB_SUPERVISOR", pair_clients()}}, 10s);
    if (r.code != 0) return std::nullopt;
    const Json j = Json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }
  // The pid in the active supervisor's name (host:pid), 0 when none.
  pid_t active_pid() {
    const auto s = status();
    if (!s || !(*s)["active"].is_object()) return 0;
    const std::string name = (*s)["active"].value("name", "");
    return static_cast<pid_t>(std::stol(name.substr(name.rfind(':') + 1)));
  }
  std::string pair_clients() const { return a_.clients + "," + b_.clients; }
  std::string pair_workers() const { return a_.workers + "," + b_.workers; }

  std::string log_of(const Sup& s) const { return read_file(path(s.name + ".log")); }

  PgCluster* pg_ = nullptr;
  std::string database_;
  Sup a_{"supervisor-a", {}}, b_{"supervisor-b", {}};
};

TEST_F(StandbyPostgreSQL, TheStandbyTakesOverAPausedActiveIsFencedAndEveryItemIsCompleteOnce) {
  start(a_);
  ASSERT_TRUE(wait_until([&] { return active_pid() == a_.pid; }, 20s)) << "the first supervisor never became active";
  start(b_);
  set_client_env({{"QB_SUPERVISOR", pair_clients()}});
  // A standby answers, saying where the active one is.
  const RunResult asked = run({"qb", "jobs"}, {{"QB_SUPERVISOR", b_.clients}});
  EXPECT_NE(asked.code, 0);
  EXPECT_NE(asked.err.find("not active, try " + a_.clients), std::string::npos) << asked.describe();
  const auto st = status();
  ASSERT_TRUE(st);
  ASSERT_EQ((*st)["standbys"].size(), 1u) << st->dump();
  EXPECT_EQ((*st)["store"].get<std::string>().find("password"), std::string::npos);

  for (const char* w : {"w1", "w2"})
    start_daemon(std::string("worker-") + w,
                 {bin("qbworker"), "--supervisor", pair_workers(), "--name", w, "--slots", "2"});
  constexpr int kItems = 3000;
  const std::string file = path("frames.txt");
  const auto id = submit({"--range", "1-" + std::to_string(kItems), "--cpus", "4", "sh", "-c",
                          "echo $QB_FRAME_NUMBER >> " + file});

  // kill -9 of the active one once the run is under way: the standby takes over within 5 s.
  ASSERT_TRUE(wait_until([&] { return read_lines(file).size() >= 300; }, 120s));
  ASSERT_EQ(::kill(a_.pid, SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return active_pid() == b_.pid; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 5s) << "the standby took longer than 5 s to take over";
  const std::size_t at_takeover = read_lines(file).size();
  ASSERT_TRUE(wait_until([&] { return read_lines(file).size() >= at_takeover + 200; }, 60s))
      << "the run does not go on after the takeover";

  // The killed one comes back as a standby (as its service manager restarts it).
  start(a_);
  // The new active one paused past its lease: the other takes over ...
  ASSERT_EQ(::kill(b_.pid, SIGSTOP), 0);
  ASSERT_TRUE(wait_until([&] { return active_pid() == a_.pid; }, 20s)) << "nobody took over from a paused active";
  const auto epoch = status()->at("epoch").get<std::int64_t>();
  // ... and when it wakes, it finds itself fenced and steps down to standby, without writing.
  ASSERT_EQ(::kill(b_.pid, SIGCONT), 0);
  ASSERT_TRUE(wait_until([&] { return log_of(b_).find("stepping down") != std::string::npos; }, 20s))
      << log_of(b_);
  EXPECT_TRUE(wait_until([&] { return log_of(b_).find("is a standby: workers") != log_of(b_).rfind("is a standby: workers"); }, 20s))
      << "the fenced supervisor did not come back as a standby";
  EXPECT_TRUE(process_alive(b_.pid));
  EXPECT_EQ(status()->at("epoch").get<std::int64_t>(), epoch);
  EXPECT_EQ(active_pid(), a_.pid);

  ASSERT_EQ(wait_terminal(id, 180s), "complete");
  const Json job = show(id);
  int complete = 0;
  for (const auto& item : job.at("agenda")) complete += item.value("status", "") == "complete" ? 1 : 0;
  EXPECT_EQ(complete, kItems);
  EXPECT_EQ(pg_->psql(database_, "SELECT COUNT(*) FROM items WHERE job = " + std::to_string(id)),
            std::to_string(kItems));
  // Every frame ran (some twice, around a failover), and is recorded complete once.
  std::set<std::string> ran;
  for (const auto& line : read_lines(file)) ran.insert(line);
  EXPECT_EQ(ran.size(), static_cast<std::size_t>(kItems));
}

class Adoption : public FarmTest {};

TEST_F(Adoption, ARestartedSupervisorAdoptsRunningInstancesInsteadOfRequeueingThem) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string started = path("started.txt");
  const std::string release = path("release");
  // Each item says it started, then waits for the test to let it finish.
  const auto id = submit({"--range", "1-2", "sh", "-c",
                          "echo $QB_FRAME_NUMBER >> " + started + "; while [ ! -e " + release + " ]; do sleep 0.05; done"});
  ASSERT_TRUE(wait_until([&] { return read_lines(started).size() == 1; }, 30s));
  kill9_supervisor();
  restart_supervisor();
  std::ofstream(release) << "go\n";
  ASSERT_EQ(wait_terminal(id, 60s), "complete");
  const Json job = show(id);
  for (const auto& item : job.at("agenda")) {
    EXPECT_EQ(item.value("attempts", 0), 1) << item.dump();
    EXPECT_EQ(item.value("subid", -1), 0) << item.dump();
  }
  // The first item ran once: it was not started again.
  EXPECT_EQ(read_lines(started), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(job.at("instances").size(), 1u) << job.at("instances").dump();
}

}  // namespace
}  // namespace qube_it
