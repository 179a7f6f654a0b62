// Regression tests for the bugs a new user's tour of the wrangling features
// found (issue 18, "Bugs"): each one through the real qbsub and qb, on a real
// farm. The test names say what must hold; the comments name the bug.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class WranglerBugs : public FarmTest {
 protected:
  static std::string id_text(std::uint64_t id) { return std::to_string(id); }
  static std::map<std::string, std::string> as(const std::string& user) { return {{"QB_USER", user}}; }

  void write(const std::string& name, const std::string& text) { std::ofstream(path(name)) << text; }

  Json history(std::uint64_t id) {
    const RunResult r = run({"qb", "history", id_text(id), "--json"});
    EXPECT_EQ(r.code, 0) << r.describe();
    return r.code == 0 ? Json::parse(r.out) : Json::array();
  }

  // A string field; "" when absent or null.
  static std::string str(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() || !it->is_string() ? std::string() : it->get<std::string>();
  }

  static const Json& item(const Json& job, const std::string& name) {
    for (const auto& i : job.at("agenda"))
      if (i.value("name", "") == name) return i;
    throw std::runtime_error("no item " + name + " in " + job.dump());
  }

  // A one-item job whose process sleeps until killed; returns once it runs.
  std::uint64_t start_sleeper() {
    const std::string pid_file = path("pid");
    const auto job = submit({"--range", "1", "sh", "-c", "echo $$ > " + pid_file + "; exec sleep 300"});
    std::optional<pid_t> pid;
    EXPECT_TRUE(wait_until([&] { return (pid = read_pid(pid_file)).has_value(); })) << show(job).dump(1);
    if (pid) track_pid(*pid);
    return job;
  }

  // The job's instances that are still running.
  int running_instances(std::uint64_t id) {
    int n = 0;
    const Json job = show(id);  // kept: a range-for over show(id).at(...) would outlive it
    for (const auto& inst : job.at("instances")) n += inst.value("status", "") == "running" ? 1 : 0;
    return n;
  }
};

// Bug 1: blocked and unblocked, an agenda-less job went `failed` at once.
TEST_F(WranglerBugs, AnAgendaLessJobBlockedAndUnblockedRunsAgain) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string runs = path("runs");
  // The first run waits to be stopped; the second one ends at once.
  const auto job = submit({"sh", "-c", "echo $$ >> " + runs + "; test $(wc -l < " + runs + ") -ge 2 || exec sleep 300"});
  std::optional<pid_t> first;
  ASSERT_TRUE(wait_until([&] { return (first = read_pid(runs)).has_value(); }));
  track_pid(*first);

  const RunResult block = run({"qb", "block", id_text(job)});
  ASSERT_EQ(block.code, 0) << block.describe();
  ASSERT_TRUE(wait_until([&] { return running_instances(job) == 0; }, 15s)) << show(job).dump(1);
  EXPECT_EQ(show(job).value("status", ""), "blocked");

  const RunResult unblock = run({"qb", "unblock", id_text(job)});
  ASSERT_EQ(unblock.code, 0) << unblock.describe();
  EXPECT_EQ(wait_terminal(job), "complete") << show(job).dump(1);
  EXPECT_EQ(read_lines(runs).size(), 2u) << "it ran again after the unblock";
}

// Bug 2: onChildError fired twice (once for the child's event, once for the parent's).
TEST_F(WranglerBugs, HQueueOnChildErrorFiresOnceForOneFailedChild) {
  start_supervisor();
  start_worker("w1", 2);
  const std::string out = path("child-errors");
  write("spec.json", R"({"name": "parent", "command": "true",
    "onChildError": "echo child-error $QBJOBID >> )" + out + R"(",
    "children": [{"name": "ok", "command": "true"}, {"name": "bad", "command": "exit 3"}]})");
  const RunResult r = run({"qbsub", "--file", path("spec.json")});
  ASSERT_EQ(r.code, 0) << r.describe();
  const auto parent = std::stoull(r.out);
  ASSERT_EQ(wait_terminal(parent), "failed");
  // Every firing is recorded in the parent's history when it fires; wait for the
  // script's own outcome to be recorded too, then count.
  auto count = [&](const std::string& needle) {
    int n = 0;
    for (const auto& e : history(parent)) n += e.value("text", "").find(needle) != std::string::npos ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return read_lines(out).size() >= 1 && count("fired on") >= 1; }, 15s));
  ASSERT_TRUE(wait_until([&] { return count("callback") > count("fired on"); }, 15s)) << history(parent).dump(1);
  EXPECT_EQ(count("fired on"), 1) << history(parent).dump(1);
  EXPECT_EQ(read_lines(out), std::vector<std::string>{"child-error " + id_text(parent)}) << read_file(out);
}

// Bug 3: "qbsub: not found" inside a job; and QBDIR names the installation.
TEST_F(WranglerBugs, AJobFindsQbsubOnItsPathAndQbdirNamesTheInstallation) {
  start_supervisor();
  start_worker("w1", 2);
  const std::string child = path("child"), qbdir = path("qbdir");
  const auto job = submit({"sh", "-c", "qbsub --name child true > " + child + " && echo \"$QBDIR\" > " + qbdir});
  ASSERT_EQ(wait_terminal(job), "complete") << read_file(path("supervisor.log"));
  const std::string child_id = read_lines(child).at(0);
  EXPECT_EQ(wait_terminal(std::stoull(child_id)), "complete");
  const auto installed = std::filesystem::canonical(std::filesystem::path(bin("qbsub")).parent_path().parent_path());
  EXPECT_EQ(std::filesystem::canonical(read_lines(qbdir).at(0)), installed);
}

// Bug 4: a child submitted from inside a job got a process group of its own.
TEST_F(WranglerBugs, AChildSubmittedFromAJobJoinsItsParentsProcessGroup) {
  start_supervisor();
  start_worker("w1", 2);
  const std::string child = path("child");
  // qbsub by its full path: this is about the process group, not PATH.
  const auto parent = submit({"sh", "-c", bin("qbsub") + " --name child true > " + child});
  ASSERT_EQ(wait_terminal(parent), "complete");
  const auto kid = std::stoull(read_lines(child).at(0));
  ASSERT_EQ(wait_terminal(kid), "complete");
  const Json p = show(parent), k = show(kid);
  EXPECT_EQ(k.value("pid", 0u), parent);
  EXPECT_EQ(k.value("pgrp", 0u), p.value("pgrp", 1u)) << k.dump();
  // An explicit --pid from outside any job joins the family too.
  const auto adopted = submit({"--pid", id_text(parent), "--status", "blocked", "true"});
  EXPECT_EQ(show(adopted).value("pgrp", 0u), p.value("pgrp", 1u));

  const RunResult family = run({"qb", "jobs", "--pgrp", id_text(p.value("pgrp", 0u)), "--json"});
  ASSERT_EQ(family.code, 0) << family.describe();
  std::set<std::uint64_t> ids;
  for (const auto& j : Json::parse(family.out)) ids.insert(j.value("id", 0u));
  EXPECT_EQ(ids, (std::set<std::uint64_t>{parent, kid, adopted})) << family.out;
}

// Bug 5: `qbsub ""` was accepted and then failed with exit 127.
TEST_F(WranglerBugs, AnEmptyCommandIsAUsageError) {
  start_supervisor();
  for (const std::string blank : {"", "  "}) {
    const RunResult r = run({"qbsub", blank});
    EXPECT_EQ(r.code, 2) << "'" << blank << "': " << r.describe();
    EXPECT_NE(r.err.find("empty"), std::string::npos) << r.describe();
  }
  const RunResult jobs = run({"qb", "jobs", "--json"});
  EXPECT_EQ(Json::parse(jobs.out).size(), 0u) << "nothing was submitted: " << jobs.out;
}

// Bug 6: `qbsub -- echo hi` stored the command as "-- echo hi".
TEST_F(WranglerBugs, DoubleDashSeparatesTheCommand) {
  start_supervisor();
  start_worker("w1", 1);
  const auto job = submit({"--name", "sep", "--", "echo", "hi"});
  EXPECT_EQ(show(job).at("package").value("cmdline", ""), "echo hi");
  EXPECT_EQ(wait_terminal(job), "complete") << show(job).dump(1);
  // A command that starts with '-' still needs the separator, and gets it.
  const auto dashed = submit({"--", "-x"});
  EXPECT_EQ(show(dashed).at("package").value("cmdline", ""), "-x");
  EXPECT_EQ(show(dashed).value("name", ""), "-x");
}

// Bug 7: items completed by hand kept the previous attempt's host and exit code.
TEST_F(WranglerBugs, ItemsCompletedByHandShowNoHostOrExitOfTheirOwn) {
  start_supervisor();
  start_worker("w1", 1);
  const auto job = submit({"--range", "4-6", "sh", "-c", "test QB_FRAME_NUMBER -lt 5"});
  ASSERT_EQ(wait_terminal(job), "failed");
  const RunResult complete = run({"qb", "complete", id_text(job), "--work", "5-6"});
  ASSERT_EQ(complete.code, 0) << complete.describe();
  const Json shown = show(job);
  EXPECT_EQ(shown.value("status", ""), "complete");
  for (const std::string name : {"5", "6"}) {
    const Json& i = item(shown, name);
    EXPECT_EQ(i.value("status", ""), "skipped") << i.dump();
    EXPECT_EQ(str(i, "host"), "") << i.dump();
    EXPECT_TRUE(!i.contains("exitcode") || i.at("exitcode").is_null()) << i.dump();
    // The attempt that failed is still there, with its host and exit code.
    ASSERT_EQ(i.at("history").size(), 1u) << i.dump();
    EXPECT_EQ(i.at("history").at(0).value("host", ""), "w1");
    EXPECT_EQ(i.at("history").at(0).value("exitcode", 0), 1);
  }
  EXPECT_EQ(str(item(shown, "4"), "host"), "w1") << "items that ran keep theirs";
}

// Bug 8: an item killed by its time limit showed WALL 0.00s.
TEST_F(WranglerBugs, AnItemKilledByItsTimeLimitShowsTheTimeItRan) {
  start_supervisor();
  start_worker("w1", 1);
  const auto job = submit({"--range", "1", "--agendatimelimit", "1", "sleep", "30"});
  ASSERT_EQ(wait_terminal(job), "failed");
  const Json shown = show(job);
  const Json& i = item(shown, "1");
  EXPECT_GE(i.value("walltime", 0.0), 0.9) << i.dump();
  // qb show's agenda line: ITEM STATUS HOST EXIT TRY STARTED(2 words) WALL ...
  const RunResult text = run({"qb", "show", id_text(job)});
  std::istringstream lines(text.out);
  bool found = false;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    if (w.size() < 8 || w[0] != "1" || w[1] != "failed") continue;
    found = true;
    EXPECT_NE(w[7], "0.00s") << line;
  }
  EXPECT_TRUE(found) << text.out;
}

// Bug 9: an item waiting frame by frame, and its job, gave no reason.
TEST_F(WranglerBugs, AFrameWaitingOnItsPredecessorSaysWhatItWaitsFor) {
  start_supervisor();
  start_worker("w1", 2);
  const auto render = submit({"--range", "1-2", "--status", "blocked", "true"});
  const auto comp = submit({"--range", "1-2", "--dependency", "link-complete-work-" + id_text(render), "true"});
  const std::string wanted = "job " + id_text(render);
  ASSERT_TRUE(wait_until([&] { return show(comp).value("status", "") == "waiting"; }, 10s)) << show(comp).dump(1);
  const Json shown = show(comp);
  EXPECT_NE(shown.value("reason", "").find(wanted), std::string::npos) << shown.dump(1);
  for (const std::string name : {"1", "2"}) {
    const Json& i = item(shown, name);
    EXPECT_EQ(i.value("status", ""), "waiting");
    EXPECT_NE(i.value("reason", "").find("item " + name + " of " + wanted), std::string::npos) << i.dump();
  }
  const RunResult text = run({"qb", "show", id_text(comp)});
  EXPECT_NE(text.out.find("status    waiting  (waiting for"), std::string::npos) << text.out;
  ASSERT_EQ(run({"qb", "unblock", id_text(render)}).code, 0);
  EXPECT_EQ(wait_terminal(comp), "complete");
}

// Bug 10: a status wider than its column ran into the next one ("interruptedrunning").
TEST_F(WranglerBugs, WideStatusesAndHostNamesKeepTheirColumnsApart) {
  start_supervisor();
  start_worker("a-rather-long-worker-name", 1);
  const auto job = start_sleeper();
  ASSERT_EQ(run({"qb", "suspend", id_text(job)}).code, 0);
  ASSERT_EQ(run({"qb", "resume", id_text(job)}).code, 0);
  ASSERT_EQ(run({"qb", "interrupt", id_text(job)}).code, 0);
  const RunResult shown = run({"qb", "show", id_text(job)});
  const RunResult events = run({"qb", "history", id_text(job)});
  ASSERT_EQ(shown.code, 0) << shown.describe();
  for (const std::string& text : {shown.out, events.out})
    for (const std::string word : {"interrupted", "suspended", "a-rather-long-worker-name", "unblocked", "preempted"}) {
      for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
        const auto end = at + word.size();
        EXPECT_TRUE(end == text.size() || text[end] == ' ' || text[end] == '\n' || text[end] == ':' ||
                    text[end] == ';' || text[end] == ',' || text[end] == ')')
            << "'" << word << "' runs into what follows: " << text.substr(at, 40);
      }
    }
  EXPECT_NE(events.out.find("interrupted "), std::string::npos) << events.out;
  run({"qb", "kill", id_text(job)});
}

// Bug 11: reasons read "waiting for job 20 to done" and "to failed".
TEST_F(WranglerBugs, WaitingReasonsReadAsEnglish) {
  start_supervisor();
  const auto target = submit({"--status", "blocked", "true"});
  const auto on_done = submit({"--dependency", "link-done-job-" + id_text(target), "true"});
  const auto on_failed = submit({"--dependency", "link-failed-job-" + id_text(target), "true"});
  const auto on_killed = submit({"--dependency", "link-killed-job-" + id_text(target), "true"});
  const auto on_complete = submit({"--dependency", "link-complete-job-" + id_text(target), "true"});
  const std::string waiting = "waiting for job " + id_text(target);
  EXPECT_NE(show(on_done).value("reason", "").find(waiting + " to end"), std::string::npos) << show(on_done).dump();
  EXPECT_NE(show(on_failed).value("reason", "").find(waiting + " to fail"), std::string::npos) << show(on_failed).dump();
  EXPECT_NE(show(on_killed).value("reason", "").find(waiting + " to be killed"), std::string::npos)
      << show(on_killed).dump();
  EXPECT_NE(show(on_complete).value("reason", "").find(waiting + " to complete"), std::string::npos)
      << show(on_complete).dump();
  // A broken dependency says the same in its failure.
  ASSERT_EQ(run({"qb", "kill", id_text(target)}).code, 0);
  ASSERT_EQ(wait_terminal(on_failed), "failed");
  const std::string broken = show(on_failed).value("reason", "");
  EXPECT_NE(broken.find("waited for it to fail"), std::string::npos) << broken;
  EXPECT_EQ(broken.find("to failed"), std::string::npos) << broken;
}

// Bug 12: host locks and unlocks were only in the supervisor's log.
TEST_F(WranglerBugs, HostLocksAndUnlocksAreInTheHistoryOfTheJobsRunningThere) {
  start_supervisor();
  start_worker("w1", 1);
  const auto job = start_sleeper();
  const auto idle = submit({"--status", "blocked", "true"});
  ASSERT_EQ(run({"qb", "lock", "w1"}, as("root")).code, 0);
  ASSERT_EQ(run({"qb", "unlock", "w1"}, as("root")).code, 0);
  bool locked = false, unlocked = false;
  for (const auto& e : history(job)) {
    const std::string text = e.value("text", "");
    const bool about_w1 = e.value("host", "") == "w1" && e.value("who", "") == "root";
    locked |= e.value("event", "") == "locked" && about_w1 && text.find("host w1 locked by root") != std::string::npos;
    unlocked |= e.value("event", "") == "unlocked" && about_w1 && text.find("host w1 unlocked by root") != std::string::npos;
  }
  EXPECT_TRUE(locked && unlocked) << history(job).dump(1);
  for (const auto& e : history(idle)) EXPECT_EQ(e.value("host", ""), "") << "not running there: " << e.dump();
  const RunResult text = run({"qb", "history", id_text(job)});
  EXPECT_NE(text.out.find("host w1 locked by root"), std::string::npos) << text.out;
  run({"qb", "kill", id_text(job)});
}

}  // namespace
}  // namespace qube_it
