// Big agendas through real processes (issue 15): a job of more items than one
// round stores (kRowsPerRound, 20,000) is stored a slice per round, its reply
// waits until all of it is durable, it runs only then, and a kill or a removal
// of it is durable too, whatever the supervisor's death in between.
#include <gtest/gtest.h>

#include <set>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

constexpr int kItems = 50000;  // two and a half rounds' worth of rows

class BigAgenda : public FarmTest {
 protected:
  // The first page's summary of the job's agenda: counts by status.
  Json counts(std::uint64_t id) {
    const RunResult r = run({"qb", "show", std::to_string(id), "--json", "--work", "1"});
    EXPECT_EQ(r.code, 0) << r.describe();
    const Json j = Json::parse(r.out, nullptr, false);
    if (!j.is_object()) return Json::object();
    EXPECT_EQ(j.value("agenda_total", 0), kItems);
    return j.at("agenda_summary").at("by_status");
  }
};

TEST_F(BigAgenda, SubmittedKilledAndRemovedDurablyAcrossKills) {
  start_supervisor();
  const std::uint64_t id = submit({"--range", "1-" + std::to_string(kItems), "--status", "blocked", "/bin/true"});
  // Acknowledged: every item is stored, so a supervisor killed at once has them all.
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(counts(id), (Json{{"pending", kItems}})) << "every item stored";
  const Json stored = show(id);
  ASSERT_EQ(stored.at("agenda").size(), static_cast<std::size_t>(kItems)) << "the whole agenda, streamed in pages";
  EXPECT_EQ(stored.at("agenda").back().at("name"), std::to_string(kItems));

  RunResult r = run({"qb", "kill", std::to_string(id)});
  ASSERT_EQ(r.code, 0) << r.describe();
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(counts(id).value("killed", 0), kItems) << "the kill's reply came once every item was stored killed";

  r = run({"qb", "remove", std::to_string(id)});
  ASSERT_EQ(r.code, 0) << r.describe();
  kill9_supervisor();
  restart_supervisor();
  EXPECT_FALSE(try_show(id)) << "removed for good";
  r = run({"qb", "admin", "quarantine", "--json"});
  ASSERT_EQ(r.code, 0) << r.describe();
  EXPECT_EQ(Json::parse(r.out, nullptr, false), Json::array()) << "no row of the removed job was left behind";
}

TEST_F(BigAgenda, RunsOnceStoredAndWhatRanSurvivesARestart) {
  start_supervisor();
  start_worker("w1", 2);
  const std::uint64_t id = submit({"--range", "1-" + std::to_string(kItems), "--cpus", "2", "/bin/true"});
  ASSERT_TRUE(wait_until([&] { return counts(id).value("complete", 0) >= 20; })) << show(id).dump(1).substr(0, 2000);
  ASSERT_EQ(run({"qb", "block", std::to_string(id)}).code, 0);
  const int complete = counts(id).value("complete", 0);
  kill9_supervisor();
  restart_supervisor();
  const Json after = counts(id);
  EXPECT_GE(after.value("complete", 0), complete) << after.dump();
  int total = 0;
  for (const auto& [status, n] : after.items()) total += n.get<int>();
  EXPECT_EQ(total, kItems) << after.dump();
}

class ManyJobs : public FarmTest {
 protected:
  // The names of the jobs `qb jobs --json` lists.
  std::set<std::string> listed_names() {
    const RunResult r = run({"qb", "jobs", "--json"});
    EXPECT_EQ(r.code, 0) << r.describe();
    const Json listed = Json::parse(r.out, nullptr, false);
    EXPECT_TRUE(listed.is_array()) << r.out.substr(0, 500);
    std::set<std::string> names;
    for (const auto& j : listed.is_array() ? listed : Json::array()) names.insert(j.value("name", ""));
    return names;
  }
};

// A file of many jobs (more than 100, its body past kDecodedApartFrom)
// is decoded off the loop: acknowledged, every job is durable, and each runs.
TEST_F(ManyJobs, OfOneFileAreAllDurableWhenAcknowledgedAndRun) {
  start_supervisor();
  constexpr int kJobs = 600;
  const std::string file = many_jobs_file(kJobs);
  RunResult r = run({"qbsub", "--file", file});
  ASSERT_EQ(r.code, 0) << r.describe();
  std::vector<std::uint64_t> ids;
  for (std::size_t at = 0, end; (end = r.out.find('\n', at)) != std::string::npos; at = end + 1)
    ids.push_back(std::stoull(r.out.substr(at, end - at)));
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs)) << r.out.substr(0, 300);
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(listed_names().size(), static_cast<std::size_t>(kJobs)) << "every acknowledged job was stored";
  start_worker("w1", 1);
  ASSERT_EQ(run({"qb", "unblock", std::to_string(ids.back())}).code, 0);
  EXPECT_TRUE(wait_until([&] { return show(ids.back()).value("status", "") == "complete"; }))
      << show(ids.back()).dump();
}

// A listing that would encode hundreds of new jobs' summaries at once waits while
// they are encoded a slice per round (Server::answer_listings), and then answers
// with every job: none is left out, and the listing does not wait for ever.
TEST_F(ManyJobs, ListedRightAfterSubmissionAreAllThere) {
  start_supervisor();
  constexpr int kJobs = 2000;  // more than background warming gets through before qb asks
  const std::string file = many_jobs_file(kJobs);
  RunResult r = run({"qbsub", "--file", file});
  ASSERT_EQ(r.code, 0) << r.describe();
  const std::set<std::string> names = listed_names();
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kJobs));
  EXPECT_TRUE(names.count("j1") && names.count("j" + std::to_string(kJobs)));
}

}  // namespace
}  // namespace qube_it
