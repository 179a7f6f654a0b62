// Bad hosts and auto-wrangling (issue 18) through the real qbsub and qb on a
// farm of two workers: a host that fails a job's items in a row is excluded
// from it and the job completes elsewhere; the exclusion is shown, stored and
// cleared by hand; a host many jobs exclude is suspect; a job that mostly
// fails is blocked; an item killed for memory runs again on a bigger host.
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

// Fails at once on w1 and succeeds slowly elsewhere, so that w1 fails its
// items in a row long before the other host runs out of work.
constexpr const char* kFailsOnW1 = R"(if [ "$QBHOST" = w1 ]; then exit 3; fi; sleep 0.4)";

class BadHosts : public FarmTest {
 protected:
  static std::string id_text(std::uint64_t id) { return std::to_string(id); }
  static std::map<std::string, std::string> root() { return {{"QB_USER", "root"}}; }

  void start_farm(const std::string& extra_config = {}) {
    SupervisorOptions options;
    options.extra_config = extra_config;
    start_supervisor(options);
    start_worker("w1");
    start_worker("w2");
  }

  std::uint64_t submit_failing_on_w1(const std::string& range = "1-4") {
    return submit({"--range", range, "--cpus", "2", "--retrywork", "50", "sh", "-c", kFailsOnW1});
  }

  // Failed attempts of the job's items on `host`.
  int failures_on(const Json& job, const std::string& host) {
    int n = 0;
    for (const auto& item : job.at("agenda"))
      for (const auto& a : item.at("history"))
        n += a.value("host", "") == host && a.value("status", "") == "failed" ? 1 : 0;
    return n;
  }

  static std::string excluded(const Json& job) {
    std::string hosts;
    for (const auto& e : job.value("excluded_hosts", Json::array())) hosts += e.value("host", "") + ";";
    return hosts;
  }

  std::string history_text(std::uint64_t id) {
    const RunResult r = run({"qb", "history", id_text(id)});
    EXPECT_EQ(r.code, 0) << r.describe();
    return r.out;
  }
};

TEST_F(BadHosts, AJobThatFailsOnlyOnOneHostCompletesOnTheOther) {
  start_farm();
  const auto job = submit_failing_on_w1();
  ASSERT_EQ(wait_terminal(job, 60s), "complete");
  const Json j = show(job);
  // Three in a row, then no more: not 50 retries burnt on w1.
  EXPECT_EQ(failures_on(j, "w1"), 3) << j.dump(1);
  EXPECT_EQ(excluded(j), "w1;") << j.dump(1);
  EXPECT_EQ(j.at("excluded_hosts").at(0).value("reason", ""), "3 items failed in a row");
  for (const auto& item : j.at("agenda")) EXPECT_EQ(item.value("host", ""), "w2") << item.dump();

  const RunResult text = run({"qb", "show", id_text(job)});
  EXPECT_NE(text.out.find("host w1 excluded: 3 items failed in a row"), std::string::npos) << text.describe();
  const RunResult failed = run({"qb", "show", id_text(job), "--failed"});
  EXPECT_NE(failed.out.find("EXCLUDED HOSTS"), std::string::npos) << failed.describe();
  EXPECT_NE(failed.out.find("w1"), std::string::npos) << failed.describe();
  const RunResult failed_json = run({"qb", "show", id_text(job), "--failed", "--json"});
  ASSERT_EQ(failed_json.code, 0) << failed_json.describe();
  EXPECT_EQ(Json::parse(failed_json.out).at("excluded_hosts").at(0).value("host", ""), "w1") << failed_json.out;
  EXPECT_NE(history_text(job).find("host w1 excluded: 3 items failed in a row"), std::string::npos);
}

TEST_F(BadHosts, TheExclusionSurvivesARestartAndClearingItLetsTheHostBack) {
  start_farm();
  // Long items on w2 keep the job alive while it is steered.
  const auto job = submit({"--range", "1-4", "--cpus", "2", "--retrywork", "50", "sh", "-c",
                           R"(if [ "$QBHOST" = w1 ]; then exit 3; fi; sleep 300)"});
  ASSERT_TRUE(wait_until([&] { return excluded(show(job)) == "w1;"; })) << show(job).dump(1);

  kill9_supervisor();
  restart_supervisor();
  ASSERT_TRUE(wait_until([&] { return try_show(job).has_value(); }));
  EXPECT_EQ(excluded(show(job)), "w1;") << "the exclusion is stored with the job";

  const RunResult cleared = run({"qb", "modify", id_text(job), "--clear-bad-hosts"});
  ASSERT_EQ(cleared.code, 0) << cleared.describe();
  EXPECT_NE(history_text(job).find("bad hosts cleared by"), std::string::npos);
  // Let back, w1 runs (and fails) the job's items again.
  EXPECT_TRUE(wait_until([&] { return failures_on(show(job), "w1") > 3; })) << show(job).dump(1);
  ASSERT_EQ(run({"qb", "kill", id_text(job)}).code, 0);
}

TEST_F(BadHosts, ClearBadHostsWithNothingElseOnAJobWithoutBadHostsIsFine) {
  start_supervisor();
  const auto job = submit({"--status", "blocked", "--range", "1", "true"});
  const RunResult r = run({"qb", "modify", id_text(job), "--clear-bad-hosts"});
  EXPECT_EQ(r.code, 0) << r.describe();
  const RunResult both = run({"qb", "modify", id_text(job), "--clear-bad-hosts", "--priority", "7"});
  EXPECT_EQ(both.code, 0) << both.describe();
  EXPECT_EQ(show(job).value("priority", 0), 7);
}

TEST_F(BadHosts, AHostManyJobsExcludeIsSuspectAndLockedUntilUnlocked) {
  start_farm("suspect_host_jobs: 2\nsuspect_host_lock: true\n");
  const auto first = submit_failing_on_w1();
  ASSERT_EQ(wait_terminal(first, 60s), "complete");
  EXPECT_FALSE(host("w1")->value("suspect", true)) << "one job is not enough";
  const auto second = submit_failing_on_w1();
  ASSERT_EQ(wait_terminal(second, 60s), "complete");

  const Json w1 = *host("w1");
  EXPECT_TRUE(w1.value("suspect", false)) << w1.dump();
  EXPECT_EQ(w1.value("state", ""), "locked") << w1.dump();
  EXPECT_NE(w1.value("suspect_reason", "").find("2 jobs excluded it"), std::string::npos) << w1.dump();
  const RunResult hosts = run({"qb", "hosts"});
  EXPECT_NE(hosts.out.find("SUSPECT"), std::string::npos) << hosts.describe();
  EXPECT_NE(history_text(second).find("host w1 marked suspect and locked"), std::string::npos);

  ASSERT_EQ(run({"qb", "unlock", "w1"}, root()).code, 0);
  EXPECT_FALSE(host("w1")->value("suspect", true));
  EXPECT_EQ(host("w1")->value("state", ""), "active");
}

TEST_F(BadHosts, AJobWhoseAttemptsMostlyFailIsBlockedWithAReason) {
  start_farm("max_failure_rate: 0.5\nfailure_rate_min_items: 4\n");
  const auto job = submit({"--range", "1-20", "--cpus", "2", "sh", "-c", "exit 1"});
  ASSERT_TRUE(wait_until([&] { return show(job).value("status", "") == "blocked"; }, 30s)) << show(job).dump(1);
  const std::string reason = show(job).value("reason", "");
  EXPECT_NE(reason.find("max_failure_rate 50%"), std::string::npos) << reason;
  EXPECT_NE(reason.find("blocked for its failure rate: "), std::string::npos) << reason;
  EXPECT_NE(history_text(job).find("job blocked for its failure rate: "), std::string::npos);
}

TEST_F(BadHosts, AnItemKilledForMemoryRunsOnceMoreOnABiggerHost) {
  SupervisorOptions options;
  start_supervisor(options);
  start_worker("w1", 1, "memory_mb: 100\n");
  start_worker("w2", 1, "memory_mb: 100000\n");
  // On w1 it holds about 150 MB, then dies by SIGKILL as the OOM killer would
  // kill it (the shell around it reports exit 137).
  const auto job = submit({"--range", "1", "sh", "-c",
                           R"(if [ "$QBHOST" = w1 ]; then perl -e '$x = "a" x 150000000'; kill -9 $$; fi)"});
  ASSERT_EQ(wait_terminal(job, 60s), "complete") << show(job).dump(1);
  const Json item = show(job).at("agenda").at(0);
  ASSERT_EQ(item.at("history").size(), 2u) << item.dump(1);
  EXPECT_EQ(item.at("history").at(0).value("host", ""), "w1");
  EXPECT_EQ(item.at("history").at(0).value("exitcode", 0), 137);
  EXPECT_EQ(item.value("host", ""), "w2");
  EXPECT_NE(history_text(job).find("runs once more on a host with more than 100 MB"), std::string::npos);
}

}  // namespace
}  // namespace qube_it
