// Ids and submissions through real processes: job ids are never reused across
// removal and a supervisor restart, and a submission sent again with its token
// (qbsub --token) gets the jobs already made instead of new ones.
#include <signal.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class Ids : public FarmTest {
 protected:
  // The ids `qb jobs --json` lists, with `args` as filters.
  std::set<std::uint64_t> listed(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"qb", "jobs", "--json"});
    const RunResult r = run(args);
    EXPECT_EQ(r.code, 0) << r.describe();
    std::set<std::uint64_t> ids;
    const Json jobs = Json::parse(r.out, nullptr, false);
    if (!jobs.is_array()) ADD_FAILURE() << "not a JSON array: " << r.describe();
    else
      for (const auto& j : jobs) ids.insert(j.at("id").get<std::uint64_t>());
    return ids;
  }

  std::string qbsub_token(const std::string& token, const std::map<std::string, std::string>& env = {}) {
    const RunResult r = run({"qbsub", "--token", token, "echo", "hi"}, env);
    EXPECT_EQ(r.code, 0) << r.describe();
    return r.out;
  }
};

TEST_F(Ids, RemovedJobIdsAreNotReusedAfterARestart) {
  start_supervisor();  // no worker: the jobs stay pending
  for (std::uint64_t expected = 1; expected <= 5; ++expected) EXPECT_EQ(submit({"echo", "hi"}), expected);
  for (const char* verb : {"kill", "remove"}) {
    const RunResult r = run({"qb", verb, "3", "4", "5"});
    ASSERT_EQ(r.code, 0) << verb << ": " << r.describe();
  }
  ASSERT_EQ(listed(), (std::set<std::uint64_t>{1, 2}));

  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(submit({"echo", "hi"}), 6u) << "ids 3 to 5 were handed out before";
  EXPECT_EQ(listed(), (std::set<std::uint64_t>{1, 2, 6}));
}

TEST_F(Ids, ASubmissionSentAgainWithItsTokenGetsTheSameJob) {
  start_supervisor();
  const std::string first = qbsub_token("abc");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(qbsub_token("abc"), first);
  const std::uint64_t id = std::stoull(first);
  EXPECT_EQ(listed({"--token", "abc"}), (std::set<std::uint64_t>{id}));
  EXPECT_EQ(listed(), (std::set<std::uint64_t>{id})) << "no second job";

  // Kept across a restart.
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(qbsub_token("abc"), first);
  // Another user's "abc" is a submission of its own.
  const std::string bobs = qbsub_token("abc", {{"QB_USER", "bob"}});
  EXPECT_NE(bobs, first);
  EXPECT_EQ(listed({"--token", "abc"}).size(), 2u);
  EXPECT_EQ(listed({"--token", "abc", "--user", "bob"}), (std::set<std::uint64_t>{std::stoull(bobs)}));
  // Without --token, qbsub makes a token of its own each time.
  EXPECT_NE(submit({"echo", "hi"}), submit({"echo", "hi"}));
  EXPECT_TRUE(listed({"--token", "nothing-by-this-name"}).empty());

  const RunResult bad = run({"qbsub", "--token", "a b", "echo", "hi"});
  EXPECT_EQ(bad.code, 1) << bad.describe();
  EXPECT_NE(bad.err.find("token"), std::string::npos) << bad.describe();
}

TEST_F(Ids, QbsubThatGetsNoAnswerSaysHowToFindTheJob) {
  start_supervisor();
  ASSERT_EQ(::kill(supervisor_pid(), SIGSTOP), 0);
  const RunResult r = run({"qbsub", "--token", "stuck", "echo", "hi"}, {{"QB_TIMEOUT", "0.5"}});
  ::kill(supervisor_pid(), SIGCONT);
  EXPECT_EQ(r.code, 1) << r.describe();
  EXPECT_NE(r.err.find("asking again"), std::string::npos) << "it tries once more: " << r.describe();
  EXPECT_NE(r.err.find("may have been submitted"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("qb jobs --token stuck"), std::string::npos) << r.describe();
  // Whether or not the stopped supervisor got it, sending it again makes at most one job.
  const std::string id = qbsub_token("stuck");
  EXPECT_EQ(qbsub_token("stuck"), id);
  EXPECT_EQ(listed({"--token", "stuck"}), (std::set<std::uint64_t>{std::stoull(id)}));
  EXPECT_EQ(listed().size(), 1u);
}

}  // namespace
}  // namespace qube_it
