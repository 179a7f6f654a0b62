// A supervisor on the PostgreSQL store (docs/high-availability.md), with real
// processes: a job runs to completion, and a PostgreSQL server stopped and
// started in the middle of a run loses no result the supervisor acknowledged.
// The server is the test binary's throwaway cluster (pg_cluster.hpp); the
// tests are skipped, saying why, when PostgreSQL or libpqxx is not there.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "farm_fixture.hpp"
#include "pg_cluster.hpp"

namespace qube_it {
namespace {

using qube::testing::PgCluster;

class EndToEndPostgreSQL : public FarmTest {
 protected:
  void SetUp() override {
    FarmTest::SetUp();
    std::string why_not;
    pg_ = PgCluster::shared(&why_not);
    if (!pg_) GTEST_SKIP() << "no PostgreSQL server for this test: " << why_not;
    database_ = pg_->create_database();
    SupervisorOptions options;
    options.extra_args = {"--store", pg_->uri(database_)};
    start_supervisor(options);
  }
  void TearDown() override {
    if (pg_) pg_->start();  // for the binary's next test, should this one fail halfway
    FarmTest::TearDown();
  }

  // Each frame's count in a file the job's items append their frame number to.
  std::map<std::string, int> frames_written(const std::string& file) const {
    std::map<std::string, int> seen;
    for (const auto& line : read_lines(file)) seen[line] += 1;
    return seen;
  }

  // Every item complete, after one attempt; else what is not.
  static std::string not_complete_once(const Json& job) {
    std::string wrong;
    for (const auto& item : job.at("agenda"))
      if (item.value("status", "") != "complete" || item.value("attempts", 0) != 1) (wrong += ' ') += item.dump();
    return wrong;
  }

  PgCluster* pg_ = nullptr;
  std::string database_;
};

TEST_F(EndToEndPostgreSQL, AJobRunsToCompletionAndIsKeptInTheDatabase) {
  start_worker("w1", 2);
  const std::string file = path("frames.txt");
  const auto id = submit({"--range", "1-30", "--cpus", "2", "sh", "-c", "echo $QB_FRAME_NUMBER >> " + file});
  ASSERT_EQ(wait_terminal(id, 60s), "complete");
  EXPECT_EQ(not_complete_once(show(id)), "");
  EXPECT_EQ(pg_->psql(database_, "SELECT COUNT(*) FROM items WHERE job = " + std::to_string(id)), "30");
  // The next supervisor reads it all back from PostgreSQL.
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(show(id).value("status", ""), "complete");
  EXPECT_EQ(not_complete_once(show(id)), "");
}

TEST_F(EndToEndPostgreSQL, PostgreSQLStoppedAndStartedMidRunLosesNoAcknowledgedResult) {
  start_worker("w1", 2);
  start_worker("w2", 2);
  const std::string file = path("frames.txt");
  constexpr int kFrames = 300;
  const auto id = submit({"--range", "1-" + std::to_string(kFrames), "--cpus", "1", "sh", "-c",
                          "echo $QB_FRAME_NUMBER >> " + file + "; sleep 0.02"});
  // Stop the server once some results are in and most are still to come.
  ASSERT_TRUE(wait_until([&] { return read_lines(file).size() >= 40; }, 60s));
  ASSERT_TRUE(pg_->stop());
  // A submission meanwhile is refused, saying why.
  const RunResult refused = run({"qbsub", "true"});
  EXPECT_NE(refused.code, 0) << refused.describe();
  EXPECT_NE(refused.err.find("cannot write its store"), std::string::npos) << refused.describe();
  ASSERT_TRUE(pg_->start());
  ASSERT_EQ(wait_terminal(id, 120s), "complete");
  EXPECT_EQ(not_complete_once(show(id)), "");
  // Every frame ran once: no result was lost (and so run again) on the way.
  const auto seen = frames_written(file);
  std::string wrong;
  for (int f = 1; f <= kFrames; ++f)
    if (const auto it = seen.find(std::to_string(f)); it == seen.end() || it->second != 1)
      wrong += std::string(" ") + std::to_string(f) + "x" + std::to_string(it == seen.end() ? 0 : it->second);
  EXPECT_EQ(wrong, "") << "frames not written exactly once (frame x times)";
  // And all of it is in the database: a new supervisor finds it complete.
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(show(id).value("status", ""), "complete");
  EXPECT_EQ(not_complete_once(show(id)), "");
}

}  // namespace
}  // namespace qube_it
