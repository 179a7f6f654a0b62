// A wrangler's controls on a real farm: ownership, bulk filters, suspend and
// resume, modify, top and bottom, requeue, per-attempt history, failure analysis,
// retries on another host and of dying instances, and each job's history.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class Wrangling : public FarmTest {
 protected:
  std::map<std::string, std::string> as(const std::string& user) { return {{"QB_USER", user}}; }

  // qbsub as another user; returns the job id.
  std::uint64_t submit_as(const std::string& user, std::vector<std::string> args) {
    args.insert(args.begin(), "qbsub");
    const RunResult r = run(args, as(user));
    EXPECT_EQ(r.code, 0) << r.describe();
    return std::stoull(r.out);
  }

  static std::string id_text(std::uint64_t id) { return std::to_string(id); }

  // The process's state letter from /proc (R S D T Z ...).
  static char process_state(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
  }

  // Jobs of one queue, by the time their only item started.
  std::vector<std::uint64_t> by_start(const std::vector<std::uint64_t>& ids) {
    std::vector<std::pair<double, std::uint64_t>> starts;
    for (auto id : ids) starts.emplace_back(show(id).at("agenda").at(0).at("timestart").get<double>(), id);
    std::sort(starts.begin(), starts.end());
    std::vector<std::uint64_t> order;
    for (const auto& [t, id] : starts) order.push_back(id);
    return order;
  }
};

TEST_F(Wrangling, OnlyTheOwnerOrAnAdminMaySteerAJob) {
  start_supervisor();
  const auto job = submit_as("alice", {"--status", "blocked", "echo", "hi"});
  EXPECT_EQ(show(job).value("user", ""), "alice");

  const RunResult bob_kills = run({"qb", "kill", id_text(job)}, as("bob"));
  EXPECT_EQ(bob_kills.code, 1) << bob_kills.describe();
  EXPECT_NE(bob_kills.err.find("belongs to alice"), std::string::npos) << bob_kills.describe();
  const RunResult bob_reads = run({"qb", "show", id_text(job)}, as("bob"));
  EXPECT_EQ(bob_reads.code, 0) << "anyone may look: " << bob_reads.describe();
  EXPECT_EQ(show(job).value("status", ""), "blocked");

  const RunResult bob_for_alice = run({"qbsub", "--user", "alice", "echo", "x"}, as("bob"));
  EXPECT_EQ(bob_for_alice.code, 1) << bob_for_alice.describe();
  EXPECT_NE(bob_for_alice.err.find("admin"), std::string::npos) << bob_for_alice.describe();

  // root is the default admin.
  const RunResult admin_for_carol = run({"qbsub", "--user", "carol", "--status", "blocked", "echo", "x"}, as("root"));
  ASSERT_EQ(admin_for_carol.code, 0) << admin_for_carol.describe();
  EXPECT_EQ(show(std::stoull(admin_for_carol.out)).value("user", ""), "carol");
  const RunResult admin_kills = run({"qbkill", id_text(job)}, as("root"));
  EXPECT_EQ(admin_kills.code, 0) << admin_kills.describe();
  EXPECT_EQ(show(job).value("status", ""), "killed");
}

TEST_F(Wrangling, FiltersSelectJobsForBulkOperations) {
  start_supervisor();
  const auto a1 = submit_as("alice", {"--name", "render-a", "--status", "blocked", "echo", "1"});
  const auto a2 = submit_as("alice", {"--name", "render-b", "--status", "blocked", "echo", "2"});
  const auto a3 = submit_as("alice", {"--name", "comp", "--status", "blocked", "echo", "3"});
  const auto b1 = submit_as("bob", {"--name", "render-c", "--status", "blocked", "echo", "4"});

  const RunResult no_target = run({"qb", "kill"}, as("alice"));
  EXPECT_EQ(no_target.code, 2) << "neither ids nor a filter: " << no_target.describe();

  // "Kill all my render jobs": bob's is not touched, nor alice's comp.
  const RunResult kill = run({"qb", "kill", "--user", "alice", "--name", "render-*", "--json"}, as("alice"));
  ASSERT_EQ(kill.code, 0) << kill.describe();
  const Json reply = Json::parse(kill.out);
  EXPECT_EQ(reply.at("killed").size(), 2u) << kill.out;
  EXPECT_EQ(show(a1).value("status", ""), "killed");
  EXPECT_EQ(show(a2).value("status", ""), "killed");
  EXPECT_EQ(show(a3).value("status", ""), "blocked");
  EXPECT_EQ(show(b1).value("status", ""), "blocked");

  // A filter that reaches other users' jobs acts on what the caller may steer
  // and reports the rest.
  const RunResult all_blocked = run({"qb", "unblock", "--status", "blocked"}, as("alice"));
  EXPECT_EQ(all_blocked.code, 1) << all_blocked.describe();
  EXPECT_NE(all_blocked.err.find("belongs to bob"), std::string::npos) << all_blocked.describe();
  EXPECT_EQ(show(a3).value("status", ""), "pending") << "unblocked; no worker yet";
  EXPECT_EQ(show(b1).value("status", ""), "blocked");
}

TEST_F(Wrangling, SuspendStopsProcessesAndKeepsTheSlotResumeContinues) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string pid_file = path("pid");
  const auto job = submit({"--range", "1", "sh", "-c", "echo $$ > " + pid_file + "; exec sleep 300"});
  std::optional<pid_t> pid;
  ASSERT_TRUE(wait_until([&] { return (pid = read_pid(pid_file)).has_value(); }));
  track_pid(*pid);

  const RunResult suspend = run({"qb", "suspend", id_text(job)});
  ASSERT_EQ(suspend.code, 0) << suspend.describe();
  EXPECT_TRUE(wait_until([&] { return process_state(*pid) == 'T'; }, 10s)) << "not stopped";
  const Json suspended = show(job);
  EXPECT_EQ(suspended.value("status", ""), "suspended");
  EXPECT_EQ(suspended.at("instances").at(0).value("status", ""), "suspended");
  EXPECT_EQ(host("w1")->value("slots_used", -1), 1) << "the slot stays held";
  // Another job does not take the held slot.
  const auto other = submit({"echo", "other"});
  EXPECT_EQ(show(other).value("status", ""), "pending");

  const RunResult resume = run({"qbresume", id_text(job)});
  ASSERT_EQ(resume.code, 0) << resume.describe();
  EXPECT_TRUE(wait_until([&] { return process_state(*pid) != 'T'; }, 10s)) << "still stopped";
  EXPECT_EQ(show(job).value("status", ""), "running");

  // A suspended job can still be killed: its processes really go.
  run({"qb", "suspend", id_text(job)});
  ASSERT_TRUE(wait_until([&] { return process_state(*pid) == 'T'; }, 10s));
  const RunResult kill = run({"qb", "kill", id_text(job)});
  EXPECT_EQ(kill.code, 0) << kill.describe();
  EXPECT_TRUE(wait_until([&] { return !process_alive(*pid); }, 10s)) << "the suspended process survived a kill";
  EXPECT_EQ(wait_terminal(other), "complete");
}

// qb modify --dependency on live jobs: a new wait holds the job, a cycle across
// jobs is refused with the cycle named, and dropping the wait releases the job.
TEST_F(Wrangling, ModifyDependencyOnALiveJobRefusesCycles) {
  start_supervisor();
  const auto first = submit({"--status", "blocked", "true"});
  const auto second = submit({"--dependency", "link-complete-job-" + std::to_string(first), "true"});
  const auto third = submit({"true"});  // queued: no worker yet
  const RunResult wait = run({"qb", "modify", id_text(third), "--dependency", "link-complete-job-" + id_text(second)});
  ASSERT_EQ(wait.code, 0) << wait.describe();
  EXPECT_EQ(show(third).value("dependency", ""), "link-complete-job-" + id_text(second));

  const RunResult cycle = run({"qb", "modify", id_text(first), "--dependency", "link-complete-job-" + id_text(third)});
  EXPECT_EQ(cycle.code, 1) << cycle.describe();
  EXPECT_NE(cycle.err.find("dependency cycle: " + id_text(first) + " -> " + id_text(third) + " -> " +
                           id_text(second) + " -> " + id_text(first)),
            std::string::npos)
      << cycle.describe();
  EXPECT_EQ(show(first).value("dependency", ""), "");

  start_worker("w1", 1);
  EXPECT_TRUE(wait_until([&] { return show(third).value("reason", "").find("waiting for job " + id_text(second)) == 0; }))
      << show(third).dump();
  ASSERT_EQ(run({"qb", "modify", id_text(third), "--dependency", ""}).code, 0);
  EXPECT_EQ(wait_terminal(third), "complete");
  EXPECT_EQ(show(second).value("status", ""), "waiting");
  ASSERT_EQ(run({"qb", "unblock", id_text(first)}).code, 0);
  EXPECT_EQ(wait_terminal(second), "complete");
}

// qb append: a running job grows; the new items run on it and complete; a
// repeated item, an agenda-less job and an empty request are refused.
TEST_F(Wrangling, AppendGrowsARunningJob) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string gate = path("gate");
  const auto job = submit({"--range", "1-2", "sh", "-c", "while [ ! -e " + gate + " ]; do sleep 0.05; done"});
  ASSERT_TRUE(wait_until([&] { return show(job).value("status", "") == "running"; })) << show(job).dump();
  const RunResult grow = run({"qb", "append", id_text(job), "--range", "3-6", "--chunk", "2"});
  ASSERT_EQ(grow.code, 0) << grow.describe();
  EXPECT_NE(grow.out.find("2 item(s) appended"), std::string::npos) << grow.describe();
  const RunResult named = run({"qb", "append", id_text(job), "--items", "extra"});
  ASSERT_EQ(named.code, 0) << named.describe();
  const RunResult again = run({"qb", "append", id_text(job), "--range", "2"});
  EXPECT_EQ(again.code, 1) << again.describe();
  EXPECT_NE(again.err.find("already has an item 2"), std::string::npos) << again.describe();
  const RunResult nothing = run({"qb", "append", id_text(job)});
  EXPECT_EQ(nothing.code, 1) << nothing.describe();
  EXPECT_NE(nothing.err.find("nothing to append"), std::string::npos) << nothing.describe();

  std::ofstream(gate).put('\n');
  ASSERT_EQ(wait_terminal(job), "complete");
  std::vector<std::string> names;
  const Json shown = show(job);  // kept alive across the loop
  for (const auto& item : shown.at("agenda")) {
    EXPECT_EQ(item.value("status", ""), "complete") << item.dump();
    names.push_back(item.value("name", ""));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"1", "2", "3-4", "5-6", "extra"}));

  const auto once = submit({"true"});
  ASSERT_EQ(wait_terminal(once), "complete");
  const auto held = submit({"--status", "blocked", "true"});
  const RunResult flat = run({"qb", "append", id_text(held), "--range", "1-3"});
  EXPECT_EQ(flat.code, 1) << flat.describe();
  EXPECT_NE(flat.err.find("has no agenda"), std::string::npos) << flat.describe();
}

TEST_F(Wrangling, ModifyTopAndBottomChangeTheOrderAtOnce) {
  start_supervisor();
  // Queued before any worker: the queue alone decides.
  const auto a = submit({"--priority", "100", "--range", "1", "true"});
  const auto b = submit({"--priority", "200", "--range", "1", "true"});
  const auto c = submit({"--priority", "300", "--range", "1", "true"});
  const auto d = submit({"--priority", "300", "--range", "1", "true"});
  const RunResult modify = run({"qbmodify", id_text(c), "--priority", "50", "--name", "urgent"});
  ASSERT_EQ(modify.code, 0) << modify.describe();
  EXPECT_EQ(show(c).value("priority", 0), 50);
  EXPECT_EQ(show(c).value("name", ""), "urgent");
  const RunResult bottom = run({"qb", "bottom", id_text(c)});  // alone at 50: stays first
  EXPECT_EQ(bottom.code, 0) << bottom.describe();
  const RunResult up = run({"qb", "modify", id_text(d), "--priority", "100"});
  ASSERT_EQ(up.code, 0) << up.describe();
  const RunResult top = run({"qb", "top", id_text(d)});  // ahead of a, same priority, older
  ASSERT_EQ(top.code, 0) << top.describe();

  const RunResult bad = run({"qb", "modify", id_text(a), "--priority", "0"});
  EXPECT_EQ(bad.code, 1) << bad.describe();
  EXPECT_NE(bad.err.find("priority"), std::string::npos) << bad.describe();
  const RunResult nothing = run({"qb", "modify", id_text(a)});
  EXPECT_EQ(nothing.code, 2) << nothing.describe();

  start_worker("w1", 1);
  for (auto id : {a, b, c, d}) ASSERT_EQ(wait_terminal(id), "complete");
  EXPECT_EQ(by_start({a, b, c, d}), (std::vector<std::uint64_t>{c, d, a, b}));

  const RunResult history = run({"qb", "history", id_text(c), "--json"});
  ASSERT_EQ(history.code, 0) << history.describe();
  const Json events = Json::parse(history.out);
  bool modified = false, submitted = false, completed = false;
  for (const auto& e : events) {
    const std::string text = e.value("text", "");
    submitted |= e.value("event", "") == "submit";
    modified |= e.value("event", "") == "modified" && text.find("priority 300 -> 50") != std::string::npos &&
                e.value("who", "") != "";
    completed |= e.value("event", "") == "complete" && e.value("type", "") == "job";
  }
  EXPECT_TRUE(submitted && modified && completed) << events.dump(1);
}

TEST_F(Wrangling, AttemptsAreKeptAndFailuresGroupedByHostAndExit) {
  start_supervisor();
  start_worker("w1", 1);
  // Each frame fails twice (exit 5, then exit 7), then succeeds.
  const std::string marks = path("m");
  const auto job = submit({"--range", "1-2", "--retrywork", "2", "sh", "-c",
                           "test -e " + marks + "QB_FRAME_NUMBER.2 && exit 0; "
                           "test -e " + marks + "QB_FRAME_NUMBER.1 && { touch " + marks + "QB_FRAME_NUMBER.2; exit 7; }; "
                           "touch " + marks + "QB_FRAME_NUMBER.1; exit 5"});
  ASSERT_EQ(wait_terminal(job), "complete");
  const Json shown = show(job);
  for (const auto& item : shown.at("agenda")) {
    const Json& history = item.at("history");
    ASSERT_EQ(history.size(), 3u) << item.dump(1);
    EXPECT_EQ(history[0].value("exitcode", -1), 5);
    EXPECT_EQ(history[1].value("exitcode", -1), 7);
    EXPECT_EQ(history[2].value("status", ""), "complete");
    for (const auto& a : history) {
      EXPECT_EQ(a.value("host", ""), "w1");
      EXPECT_TRUE(a.at("timestart").is_number() && a.at("timecomplete").is_number()) << a.dump();
    }
  }
  const RunResult failed = run({"qb", "show", id_text(job), "--failed", "--json"});
  ASSERT_EQ(failed.code, 0) << failed.describe();
  const Json summary = Json::parse(failed.out);
  EXPECT_EQ(summary.value("failures", 0), 4) << summary.dump(1);
  ASSERT_EQ(summary.at("by_host").size(), 1u);
  EXPECT_EQ(summary.at("by_host")[0].value("failures", 0), 4);
  ASSERT_EQ(summary.at("by_outcome").size(), 2u) << summary.dump(1);
  const RunResult text = run({"qb", "show", id_text(job), "--failed"});
  EXPECT_NE(text.out.find("exit 5"), std::string::npos) << text.out;
  const RunResult plain = run({"qb", "show", id_text(job)});
  EXPECT_NE(plain.out.find("ATTEMPTS"), std::string::npos) << plain.out;
}

TEST_F(Wrangling, RetriesAvoidTheHostsAnItemFailedOn) {
  start_supervisor();
  start_worker("w1", 1);
  start_worker("w2", 1);
  // Every frame fails the first time, wherever that is.
  const std::string marks = path("m");
  const auto job = submit({"--range", "1-4", "--cpus", "2", "--retrywork", "1", "--retrydifferenthost", "sh", "-c",
                           "test -e " + marks + "QB_FRAME_NUMBER && exit 0; touch " + marks + "QB_FRAME_NUMBER; exit 3"});
  ASSERT_EQ(wait_terminal(job), "complete");
  const Json shown = show(job);
  for (const auto& item : shown.at("agenda")) {
    const Json& history = item.at("history");
    ASSERT_EQ(history.size(), 2u) << item.dump(1);
    EXPECT_NE(history[0].value("host", ""), history[1].value("host", "")) << item.dump(1);
  }
}

TEST_F(Wrangling, DyingInstancesAreRetriedUnderRetrysubjob) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string mark = path("died");
  // The first run kills itself; the second succeeds.
  const auto job = submit({"--retrysubjob", "1", "sh", "-c",
                           "test -e " + mark + " && exit 0; touch " + mark + "; kill -9 $$"});
  EXPECT_EQ(wait_terminal(job), "complete");
  const Json shown = show(job);
  ASSERT_EQ(shown.at("instances").size(), 2u) << shown.dump(1);
  EXPECT_TRUE(shown.at("instances")[0].value("retried", false));

  const std::string mark2 = path("died2");
  const auto no_retry = submit({"sh", "-c", "test -e " + mark2 + " && exit 0; touch " + mark2 + "; kill -9 $$"});
  EXPECT_EQ(wait_terminal(no_retry), "failed");
}

TEST_F(Wrangling, EachAttemptsOutputIsKeptApartAndSurvivesARestart) {
  start_supervisor();
  start_worker("w", 1);
  const std::string marker = path("tried");
  const auto job = submit({"--range", "1", "--retrywork", "1", "sh", "-c",
                           "if [ -e " + marker + " ]; then echo second try; else touch " + marker +
                               "; echo first try; echo oops >&2; exit 3; fi"});
  ASSERT_EQ(wait_terminal(job), "complete");
  const std::string id = id_text(job);
  auto out = [&](const std::string& stream, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"qb", stream, id, "--work", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  // Both attempts ran in the same instance, one log; each reads its own part.
  EXPECT_EQ(out("out", {"--attempt", "1"}).out, "first try\n");
  EXPECT_EQ(out("out", {"--attempt", "2"}).out, "second try\n");
  EXPECT_EQ(out("out", {}).out, "second try\n") << "the latest attempt by default";
  EXPECT_EQ(out("err", {"--attempt", "1"}).out, "oops\n");
  EXPECT_EQ(out("err", {"--attempt", "2"}).out, "");
  const RunResult missing = out("out", {"--attempt", "3"});
  EXPECT_EQ(missing.code, 1) << missing.describe();
  EXPECT_NE(missing.err.find("no attempt 3"), std::string::npos) << missing.describe();
  EXPECT_EQ(run({"qb", "out", id, "--attempt", "1"}).code, 2) << "--attempt needs --work";

  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(out("out", {"--attempt", "1"}).out, "first try\n");
  EXPECT_EQ(out("out", {"--attempt", "2"}).out, "second try\n");
}

TEST_F(Wrangling, ALogLongerThanOneReplyIsPrintedWhole) {
  // About 8 MB: the supervisor answers a read with at most 4 MiB, so qb must page.
  start_supervisor();
  start_worker("w", 1);
  const auto job = submit({"--range", "1", "seq", "1", "1200000"});
  ASSERT_EQ(wait_terminal(job), "complete");
  std::string expected;
  for (int i = 1; i <= 1200000; ++i) expected += std::to_string(i) + "\n";
  const std::string id = id_text(job);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"qb", "out", id + ".0"}, {"qb", "out", id}, {"qb", "out", id, "--work", "1"}}) {
    const RunResult r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.size(), expected.size()) << args.back();
    EXPECT_TRUE(r.out == expected) << args.back() << ": the log differs";
  }
}

TEST_F(Wrangling, RequeueHoldsTheJobSoItCanBeChangedFirst) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string gate = path("gate");
  const auto job = submit({"--range", "1-3", "sh", "-c", "test QB_FRAME_NUMBER -ne 2 || test -e " + gate});
  ASSERT_EQ(wait_terminal(job), "failed");
  const RunResult requeue = run({"qb", "requeue", id_text(job)});
  ASSERT_EQ(requeue.code, 0) << requeue.describe();
  const Json held = show(job);
  EXPECT_EQ(held.value("status", ""), "blocked");
  EXPECT_EQ(held.at("agenda")[1].value("status", ""), "pending");
  { std::ofstream(gate) << "open"; }
  ASSERT_EQ(run({"qb", "modify", id_text(job), "--priority", "10"}).code, 0);
  ASSERT_EQ(run({"qb", "unblock", id_text(job)}).code, 0);
  EXPECT_EQ(wait_terminal(job), "complete");
  const Json history = Json::parse(run({"qb", "history", id_text(job), "--json"}).out);
  bool item_failed = false, retried = false;
  for (const auto& e : history) {
    item_failed |= e.value("event", "") == "failed" && e.value("type", "") == "work" && e.value("work", "") == "2";
    retried |= e.value("event", "") == "retried";
  }
  EXPECT_TRUE(item_failed && retried) << history.dump(1);
}

}  // namespace
}  // namespace qube_it
