// Qube!'s hooks and placement shorthands through the real qbsub (issue 18,
// "qbsub speaks Qube!'s command line"; docs/usage.md "Hooks"): the supervisor's
// --preexec and --postexec, the worker's --preflights --postflights
// --agenda_preflights --agenda_postflights, --processors and --hostorder.
// Hooks append to marker files; the tests read their order.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class Hooks : public FarmTest {
 protected:
  static std::string id_text(std::uint64_t id) { return std::to_string(id); }
  // A shell command appending `line` to the marker file.
  std::string mark(const std::string& line) const { return "echo \"" + line + "\" >> " + path("marks"); }
  std::vector<std::string> marks() const { return read_lines(path("marks")); }
  bool marked(std::size_t n) const { return marks().size() >= n; }

  std::string history_text(std::uint64_t id) {
    const RunResult r = run({"qb", "history", id_text(id), "--json"});
    std::string all;
    if (r.code == 0)
      for (const auto& e : Json::parse(r.out)) all += e.value("text", "") + "\n";
    return all;
  }

  static const Json& item(const Json& job, const std::string& name) {
    for (const auto& i : job.at("agenda"))
      if (i.value("name", "") == name) return i;
    throw std::runtime_error("no item " + name + " in " + job.dump());
  }
};

TEST_F(Hooks, PreexecRunsBeforeTheJobAndPostexecAfterItWithItsIdAndStatus) {
  start_supervisor();
  start_worker("w1", 2);
  const auto id = submit({"--preexec", mark("preexec $QBJOBID"), "--postexec", mark("postexec $QBJOBID $QBSTATUS"),
                          "--range", "1-2", "--cpus", "2", "sh", "-c", mark("frame")});
  EXPECT_EQ(wait_terminal(id), "complete");
  ASSERT_TRUE(wait_until([&] { return marked(4); }, 20s)) << history_text(id);
  const auto lines = marks();
  EXPECT_EQ(lines, (std::vector<std::string>{"preexec " + id_text(id), "frame", "frame",
                                             "postexec " + id_text(id) + " complete"}));
  EXPECT_TRUE(contains(history_text(id), "preexec exited 0")) << history_text(id);
}

TEST_F(Hooks, NoInstanceStartsWhileThePreexecRuns) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string go = path("go");
  const auto id = submit({"--preexec", mark("preexec") + "; while [ ! -e " + go + " ]; do sleep 0.05; done", "sh", "-c",
                          mark("job")});
  ASSERT_TRUE(wait_until([&] { return marked(1); })) << show(id).dump(1);
  // The preexec runs: the job says so, and has started nothing.
  ASSERT_TRUE(wait_until([&] { return contains(show(id).value("reason", ""), "preexec"); })) << show(id).dump(1);
  const Json waiting = show(id);
  EXPECT_EQ(waiting.value("status", ""), "pending") << waiting.dump(1);
  EXPECT_TRUE(waiting.at("instances").empty()) << waiting.dump(1);
  EXPECT_EQ(marks(), std::vector<std::string>{"preexec"});
  std::ofstream(go) << "";
  EXPECT_EQ(wait_terminal(id), "complete");
  EXPECT_EQ(marks(), (std::vector<std::string>{"preexec", "job"}));
}

TEST_F(Hooks, AFailingPreexecFailsTheJobWithItsExitAndOutputAndThePostexecStillRuns) {
  start_supervisor();
  start_worker("w1", 1);
  const auto id = submit({"--preexec", "echo no license left; exit 3", "--postexec", mark("postexec $QBSTATUS"),
                          "--range", "1-2", "sh", "-c", mark("frame")});
  EXPECT_EQ(wait_terminal(id), "failed");
  const Json job = show(id);
  const std::string reason = job.value("reason", "");
  EXPECT_TRUE(contains(reason, "preexec")) << job.dump(1);
  EXPECT_TRUE(contains(reason, "exited 3")) << job.dump(1);
  EXPECT_TRUE(contains(reason, "no license left")) << job.dump(1);
  EXPECT_TRUE(job.at("instances").empty()) << job.dump(1);
  ASSERT_TRUE(wait_until([&] { return marked(1); }, 20s)) << history_text(id);
  EXPECT_EQ(marks(), std::vector<std::string>{"postexec failed"});
}

TEST_F(Hooks, PostexecRunsWhenTheJobIsKilled) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string pid_file = path("pid");
  const auto id = submit({"--postexec", mark("postexec $QBSTATUS"), "sh", "-c", "echo $$ > " + pid_file + "; exec sleep 300"});
  std::optional<pid_t> pid;
  ASSERT_TRUE(wait_until([&] { return (pid = read_pid(pid_file)).has_value(); })) << show(id).dump(1);
  track_pid(*pid);
  const RunResult killed = run({"qb", "kill", id_text(id)});
  ASSERT_EQ(killed.code, 0) << killed.describe();
  EXPECT_EQ(wait_terminal(id), "killed");
  ASSERT_TRUE(wait_until([&] { return marked(1); }, 20s)) << history_text(id);
  EXPECT_EQ(marks(), std::vector<std::string>{"postexec killed"});
}

TEST_F(Hooks, WorkerHooksRunAroundTheInstanceAndEachItemWithTheJobsEnvironment) {
  start_supervisor();
  start_worker("w1", 1);
  const auto id = submit({"--env", "SHOT=sh010", "--range", "1-2",                            //
                          "--preflights", mark("preflight $SHOT $QBJOBID.$QBSUBID"),          //
                          "--preflights", "echo preflight output",                            //
                          "--agenda_preflights", mark("agenda_preflight $QB_FRAME_NUMBER"),   //
                          "--agenda_postflights", mark("agenda_postflight $QB_FRAME_NUMBER"), //
                          "--postflights", mark("postflight $SHOT"),                          //
                          "sh", "-c", mark("frame QB_FRAME_NUMBER")});
  EXPECT_EQ(wait_terminal(id), "complete");
  ASSERT_TRUE(wait_until([&] { return marked(8); }, 20s)) << marks().size();
  EXPECT_EQ(marks(), (std::vector<std::string>{"preflight sh010 " + id_text(id) + ".0", "agenda_preflight 1", "frame 1",
                                               "agenda_postflight 1", "agenda_preflight 2", "frame 2",
                                               "agenda_postflight 2", "postflight sh010"}));
  // A hook's output is in the instance's log.
  const RunResult out = run({"qb", "out", id_text(id)});
  EXPECT_TRUE(contains(out.out, "preflight output")) << out.describe();
}

TEST_F(Hooks, AFailingAgendaPreflightFailsOnlyItsItemAndSaysWhy) {
  start_supervisor();
  start_worker("w1", 1);
  const auto id = submit({"--range", "1-3", "--agenda_preflights", "[ $QB_FRAME_NUMBER != 2 ]", "sh", "-c",
                          mark("frame QB_FRAME_NUMBER")});
  EXPECT_EQ(wait_terminal(id), "failed");
  const Json job = show(id);
  EXPECT_EQ(item(job, "1").value("status", ""), "complete") << job.dump(1);
  EXPECT_EQ(item(job, "3").value("status", ""), "complete") << job.dump(1);
  const Json& two = item(job, "2");
  EXPECT_EQ(two.value("status", ""), "failed") << job.dump(1);
  EXPECT_TRUE(contains(two.value("reason", ""), "agenda_preflight")) << job.dump(1);
  EXPECT_TRUE(contains(two.value("reason", ""), "exited with code 1")) << job.dump(1);
  EXPECT_EQ(marks(), (std::vector<std::string>{"frame 1", "frame 3"}));
  const RunResult err = run({"qb", "err", id_text(id), "--work", "2"});
  EXPECT_TRUE(contains(err.out, "agenda_preflight")) << err.describe();
}

TEST_F(Hooks, AFailingPreflightFailsTheInstanceBeforeAnyItem) {
  start_supervisor();
  start_worker("w1", 1);
  const auto id = submit({"--range", "1", "--preflights", "echo cannot mount; exit 4", "sh", "-c", mark("frame")});
  EXPECT_EQ(wait_terminal(id), "failed");
  const Json job = show(id);
  ASSERT_FALSE(job.at("instances").empty()) << job.dump(1);
  const std::string reason = job.at("instances")[0].value("reason", "");
  EXPECT_TRUE(contains(reason, "preflight 'echo cannot mount; exit 4' exited with code 4")) << job.dump(1);
  EXPECT_TRUE(marks().empty());
  const RunResult out = run({"qb", "out", id_text(id)});
  EXPECT_TRUE(contains(out.out, "cannot mount")) << out.describe();
}

TEST_F(Hooks, AFailingPostflightIsLoggedAndTheWorkStillCompletes) {
  start_supervisor();
  start_worker("w1", 1);
  const auto id = submit({"--range", "1", "--agenda_postflights", "exit 5", "--postflights", "exit 6", "true"});
  EXPECT_EQ(wait_terminal(id), "complete");
  std::string err;
  EXPECT_TRUE(wait_until([&] {
    err = run({"qb", "err", id_text(id)}).out;
    return contains(err, "postflight 'exit 6' exited with code 6");
  })) << err;
  EXPECT_TRUE(contains(err, "agenda_postflight 'exit 5' exited with code 5")) << err;
}

TEST_F(Hooks, BadHooksAndPlacementShorthandsAreUsageErrors) {
  start_supervisor();
  const struct {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--hostorder", "memory.avail", "true"}, "hostorder: 'memory.avail' must name a host fact"},
      {{"--hostorder", "+host.memory,,-host.processors.used", "true"}, "hostorder: an empty key"},
      {{"--hostorder", "+host.mem ory", "true"}, "hostorder: '+host.mem ory' has ' ' in its name"},
      {{"--processors", "2", "--reservations", "host.processors=4", "true"}, "processors: 2 conflicts with"},
      {{"--processors=-1", "true"}, "processors: must be between 1"},
      {{"--preflights", " ", "true"}, "preflights: the command is empty"},
      {{"--preexec", "  ", "true"}, "preexec: the command is empty"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{"qbsub"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const RunResult r = run(argv);
    EXPECT_EQ(r.code, 2) << r.describe();
    EXPECT_TRUE(contains(r.err, c.says)) << r.describe();
  }
  // The same value twice is no conflict.
  const auto id = submit({"--processors", "2", "--reservations", "host.processors=2", "true"});
  EXPECT_EQ(show(id).value("processors", 0), 2);
}

TEST_F(Hooks, ProcessorsReservesSlotsPerInstance) {
  start_supervisor();
  start_worker("w1", 4);
  const auto id = submit({"--processors", "3", "--reservations", "host.memory=100", "sh", "-c",
                          "echo $QB_JOBSLOTS > " + path("slots")});
  EXPECT_EQ(wait_terminal(id), "complete");
  const Json job = show(id);
  EXPECT_EQ(job.at("instances")[0].value("slots", 0), 3) << job.dump(1);
  EXPECT_EQ(read_lines(path("slots")), std::vector<std::string>{"3"});
}

TEST_F(Hooks, HostorderPicksThePreferredEligibleHost) {
  start_supervisor();
  // Hosts are offered work in name order: without a host order, "a-small" is first.
  start_worker("a-small", 1, "memory_mb: 1000");
  start_worker("z-big", 4, "memory_mb: 8000");
  const auto most = submit({"--hostorder", "+host.memory.avail", "true"});
  EXPECT_EQ(wait_terminal(most), "complete");
  EXPECT_EQ(show(most).at("instances")[0].value("host", ""), "z-big") << show(most).dump(1);
  const auto fewest = submit({"--hostorder", "-host.processors,+host.memory", "true"});
  EXPECT_EQ(wait_terminal(fewest), "complete");
  EXPECT_EQ(show(fewest).at("instances")[0].value("host", ""), "a-small") << show(fewest).dump(1);
  // A host the job may not run on is no preference.
  const auto only = submit({"--hostorder", "+host.memory", "--hosts", "a-small", "true"});
  EXPECT_EQ(wait_terminal(only), "complete");
  EXPECT_EQ(show(only).at("instances")[0].value("host", ""), "a-small") << show(only).dump(1);
}

}  // namespace
}  // namespace qube_it
