// End-to-end tests: each one starts its own supervisor and workers on loopback
// (farm_fixture.hpp), drives them with qbsub and qb as a user would, and checks
// what happened through `qb ... --json` and the files the jobs wrote.
#include <filesystem>
#include <fstream>
#include <signal.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "farm_fixture.hpp"
#include "qube/codec.hpp"
#include "qube/protocol.hpp"

namespace qube_it {
namespace {

class EndToEnd : public FarmTest {};

const Json* find_item(const Json& job, const std::string& name) {
  for (const auto& item : job.at("agenda"))
    if (item.value("name", "") == name) return &item;
  return nullptr;
}

std::string id_text(std::uint64_t id) { return std::to_string(id); }

std::map<std::string, std::string> parse_env_file(const std::vector<std::string>& lines) {
  std::map<std::string, std::string> env;
  for (const auto& line : lines) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// ---------------------------------------------------------------- 1

TEST_F(EndToEnd, OneCommandJobCompletesWithItsOutput) {
  start_supervisor();
  start_worker("w1", 1);
  const auto id = submit({"echo", "hi"});
  ASSERT_EQ(wait_terminal(id), "complete");

  const RunResult out = run({"qb", "out", id_text(id)});
  EXPECT_EQ(out.code, 0) << out.describe();
  EXPECT_TRUE(contains(out.out, "hi")) << out.describe();
  const RunResult sub = run({"qb", "out", id_text(id) + ".0"});
  EXPECT_EQ(sub.code, 0) << sub.describe();
  EXPECT_TRUE(contains(sub.out, "hi")) << sub.describe();
  const RunResult alias = run({"qbout", id_text(id)});  // Qube's tool name, same binary
  EXPECT_EQ(alias.code, 0) << alias.describe();
  EXPECT_TRUE(contains(alias.out, "hi")) << alias.describe();

  const Json job = show(id);
  for (const char* key : {"id", "name", "status", "priority", "user", "type", "cpus", "pgrp", "label", "pid",
                          "timesubmit", "timestart", "timecomplete", "agenda", "instances"})
    EXPECT_TRUE(job.contains(key)) << "qb show --json lacks '" << key << "': " << job.dump();
  EXPECT_EQ(job.value("id", 0u), id);
  EXPECT_EQ(job.value("type", ""), "cmdline");
  EXPECT_TRUE(job.at("agenda").empty()) << "a job without a range has an empty agenda: " << job.dump();
  ASSERT_EQ(job.at("instances").size(), 1u) << job.dump();
  const Json& inst = job.at("instances")[0];
  EXPECT_EQ(inst.value("status", ""), "complete") << job.dump();
  EXPECT_EQ(inst.value("host", ""), "w1") << job.dump();
  EXPECT_EQ(inst.value("subid", -1), 0);
  EXPECT_TRUE(inst.at("timestart").is_number() && inst.at("timecomplete").is_number()) << job.dump();
  EXPECT_TRUE(job.at("timecomplete").is_number()) << job.dump();
}

// ---------------------------------------------------------------- 2

TEST_F(EndToEnd, HundredFramesRunExactlyOnceOnTwoInstances) {
  start_supervisor();
  start_worker("w1", 2);
  const std::string file = path("frames.txt");
  const auto id = submit({"--range", "1-100", "--cpus", "2", "sh", "-c", "echo $QB_FRAME_NUMBER >> " + file});
  ASSERT_EQ(wait_terminal(id, 60s), "complete");

  std::map<std::string, int> seen;
  const auto lines = read_lines(file);
  for (const auto& line : lines) seen[line] += 1;
  std::string wrong;
  for (int f = 1; f <= 100; ++f)
    if (const int n = seen[std::to_string(f)]; n != 1) wrong.append(" ").append(std::to_string(f)).append("x").append(std::to_string(n));
  EXPECT_TRUE(wrong.empty()) << "frames not written exactly once (frame x times):" << wrong;
  EXPECT_EQ(lines.size(), 100u) << "first lines of " << file << ": '" << (lines.size() > 0 ? lines[0] : "")
                                << "', '" << (lines.size() > 1 ? lines[1] : "") << "'";

  const Json job = show(id);
  ASSERT_EQ(job.at("agenda").size(), 100u);
  std::set<int> subids;
  for (const auto& item : job.at("agenda")) {
    EXPECT_EQ(item.value("status", ""), "complete") << item.dump();
    EXPECT_EQ(item.value("attempts", 0), 1) << item.dump();
    EXPECT_EQ(item.at("exitcode"), Json(0)) << item.dump();
    EXPECT_EQ(item.value("host", ""), "w1") << item.dump();
    EXPECT_TRUE(item.at("timestart").is_number() && item.at("timecomplete").is_number()) << item.dump();
    EXPECT_TRUE(item.contains("peak_rss_kb")) << item.dump();
    subids.insert(item.value("subid", -1));
  }
  EXPECT_EQ(job.at("instances").size(), 2u) << job.at("instances").dump();
  // The job completes once no instance holds an item; an instance told "no more
  // work" reports its own end a moment later (seen in CI: 21 ms).
  EXPECT_TRUE(wait_until([&] {
    const Json now = show(id);
    for (const auto& inst : now.at("instances"))
      if (inst.value("status", "") != "complete") return false;
    return true;
  })) << show(id).at("instances").dump();
  EXPECT_EQ(subids, (std::set<int>{0, 1})) << "both instances should have pulled frames";
}

// ---------------------------------------------------------------- 3

TEST_F(EndToEnd, ChunksAndPaddingAreSubstituted) {
  start_supervisor();
  start_worker("w1", 2);
  const std::string chunks = path("chunks.txt"), padded = path("padded.txt"), env = path("env.txt");
  const auto a = submit({"--range", "1-10", "--chunk", "2", "sh", "-c", "echo QB_FRAME_START-QB_FRAME_END >> " + chunks});
  // `env | grep _FRAME_NUMBER=` shows the variable without naming its token.
  const auto b = submit({"--range", "1-3", "--padding", "4", "sh", "-c",
                         "echo QB_FRAME_NUMBER >> " + padded + "; env | grep _FRAME_NUMBER= >> " + env});
  ASSERT_EQ(wait_terminal(a), "complete");
  ASSERT_EQ(wait_terminal(b), "complete");

  auto sorted = [&](const std::string& file) {
    auto lines = read_lines(file);
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  EXPECT_EQ(sorted(chunks), (std::vector<std::string>{"1-2", "3-4", "5-6", "7-8", "9-10"}));
  EXPECT_EQ(sorted(padded), (std::vector<std::string>{"0001", "0002", "0003"}));
  EXPECT_EQ(sorted(env), (std::vector<std::string>{"QB_FRAME_NUMBER=0001", "QB_FRAME_NUMBER=0002",
                                                   "QB_FRAME_NUMBER=0003"}));
  const Json job = show(a);
  std::vector<std::string> names;
  for (const auto& item : job.at("agenda")) names.push_back(item.value("name", ""));
  EXPECT_EQ(names, (std::vector<std::string>{"1-2", "3-4", "5-6", "7-8", "9-10"}));
}

// ---------------------------------------------------------------- 4

TEST_F(EndToEnd, JobEnvironmentAndToolsFromInsideAJob) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string env_file = path("env.txt"), jobs_file = path("jobs.json");
  // --name after the --env options: RepeatableOptionDoesNotSwallowTheCommand
  // tests --env directly before the command.
  const auto id = submit({"--env", "FOO=bar", "--env", std::string("QB_BIN=") + QUBE_BIN_DIR, "--name", "envjob",
                          "sh", "-c", "env > " + env_file + "; \"$QB_BIN/qb\" jobs --json > " + jobs_file});
  ASSERT_EQ(wait_terminal(id), "complete") << "the job's own `qb jobs` failed? " << read_file(jobs_file);

  const auto env = parse_env_file(read_lines(env_file));
  EXPECT_EQ(env.count("QBJOBID") ? env.at("QBJOBID") : "<unset>", id_text(id));
  EXPECT_EQ(env.count("QBSUBID") ? env.at("QBSUBID") : "<unset>", "0");
  EXPECT_EQ(env.count("QBPGRPID") ? env.at("QBPGRPID") : "<unset>", id_text(id));
  EXPECT_EQ(env.count("QB_SUPERVISOR") ? env.at("QB_SUPERVISOR") : "<unset>", clients_endpoint());
  EXPECT_EQ(env.count("FOO") ? env.at("FOO") : "<unset>", "bar");

  const Json jobs = Json::parse(read_file(jobs_file), nullptr, false);
  ASSERT_TRUE(jobs.is_array()) << "qb jobs --json inside the job wrote: " << read_file(jobs_file);
  bool found = false;
  for (const auto& j : jobs)
    if (j.value("id", 0u) == id) {
      found = true;
      EXPECT_EQ(j.value("status", ""), "running") << j.dump();
      EXPECT_FALSE(j.contains("agenda")) << "qb jobs --json is the summary form";
    }
  EXPECT_TRUE(found) << "job " << id << " not in " << jobs.dump();
}

TEST_F(EndToEnd, AJobInheritsNoOpenFilesButItsOwnStdinStdoutAndStderr) {
  start_supervisor();
  start_worker("w1", 1);
  // ls run directly (no shell) lists its own descriptors: 0, 1, 2, and 3 for the
  // directory it reads. A leaked descriptor (the worker's channel to the instance,
  // anything the test runner left open) would add to the list.
  const auto id = submit({"ls", "/proc/self/fd"});
  ASSERT_EQ(wait_terminal(id), "complete");
  const RunResult out = run({"qb", "out", id_text(id)});
  EXPECT_EQ(out.out, "0\n1\n2\n3\n");
}

TEST_F(EndToEnd, RepeatableOptionDoesNotSwallowTheCommand) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string file = path("foo.txt");
  // `--env K=V` takes one value; what follows is the command, as with any option.
  const RunResult sub = run({"qbsub", "--env", "FOO=bar", "sh", "-c", "echo $FOO > " + file});
  ASSERT_EQ(sub.code, 0) << sub.describe();
  EXPECT_EQ(wait_terminal(std::stoull(sub.out)), "complete");
  EXPECT_EQ(read_file(file), "bar\n");
}

// ---------------------------------------------------------------- 5

TEST_F(EndToEnd, FailingFrameFailsTheJobAndWaitonSaysSo) {
  start_supervisor();
  start_worker("w1", 1);
  const RunResult bad =
      run({"qbsub", "--waiton", "--range", "1-5", "sh", "-c", "test QB_FRAME_NUMBER -ne 3 || exit 7"}, {}, 60s);
  EXPECT_EQ(bad.code, 1) << bad.describe();
  const std::string first_line = bad.out.substr(0, bad.out.find('\n'));
  ASSERT_FALSE(first_line.empty()) << bad.describe();
  const auto id = std::stoull(first_line);

  const Json job = show(id);
  EXPECT_EQ(job.value("status", ""), "failed") << job.dump();
  for (int f = 1; f <= 5; ++f) {
    const Json* item = find_item(job, std::to_string(f));
    ASSERT_NE(item, nullptr) << "no item " << f << " in " << job.dump();
    if (f == 3) {
      EXPECT_EQ(item->value("status", ""), "failed") << item->dump();
      EXPECT_EQ(item->at("exitcode"), Json(7)) << item->dump();
    } else {
      EXPECT_EQ(item->value("status", ""), "complete") << item->dump();
      EXPECT_EQ(item->at("exitcode"), Json(0)) << item->dump();
    }
  }
  const RunResult wait_bad = run({"qb", "wait", id_text(id), "--timeout", "20"});
  EXPECT_EQ(wait_bad.code, 1) << wait_bad.describe();

  const RunResult good = run({"qbsub", "--waiton", "echo", "ok"}, {}, 60s);
  EXPECT_EQ(good.code, 0) << good.describe();
  const auto good_id = std::stoull(good.out.substr(0, good.out.find('\n')));
  const RunResult wait_good = run({"qb", "wait", id_text(good_id), "--timeout", "20"});
  EXPECT_EQ(wait_good.code, 0) << wait_good.describe();
}

// ---------------------------------------------------------------- 6

TEST_F(EndToEnd, KillingARunningJobEndsItsProcesses) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string pid_file = path("pid");
  const auto id = submit({"sh", "-c", "echo $$ > " + pid_file + "; exec sleep 300"});
  std::optional<pid_t> pid;
  ASSERT_TRUE(wait_until([&] { return (pid = read_pid(pid_file)).has_value(); })) << "the job never started";
  track_pid(*pid);
  EXPECT_TRUE(process_alive(*pid));

  const RunResult killed = run({"qb", "kill", id_text(id)});
  EXPECT_EQ(killed.code, 0) << killed.describe();
  EXPECT_EQ(wait_terminal(id), "killed");
  EXPECT_TRUE(wait_until([&] { return !process_alive(*pid); })) << "process " << *pid << " outlived qb kill";
  EXPECT_TRUE(wait_until([&] {
    const Json job = show(id);
    return job.at("instances").size() == 1 && job.at("instances")[0].value("status", "") == "killed";
  })) << show(id).dump();

  const RunResult again = run({"qb", "kill", id_text(id)});
  EXPECT_EQ(again.code, 1) << "killing a killed job is a failed request: " << again.describe();
}

// ---------------------------------------------------------------- 7

TEST_F(EndToEnd, SupervisorKill9KeepsQueuedAndRunningWork) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string fa = path("a.txt"), fb = path("b.txt");
  const auto a = submit({"--range", "1-20", "sh", "-c", "sleep 0.3; echo QB_FRAME_NUMBER >> " + fa});
  const auto b = submit({"--range", "1-5", "sh", "-c", "echo QB_FRAME_NUMBER >> " + fb});
  ASSERT_TRUE(wait_until([&] { return read_lines(fa).size() >= 4; })) << "job A made no progress";
  EXPECT_EQ(show(b).value("status", ""), "pending") << "job B should still be queued behind A";

  kill9_supervisor();
  restart_supervisor();

  EXPECT_EQ(wait_terminal(a, 60s), "complete");
  EXPECT_EQ(wait_terminal(b, 60s), "complete");
  for (const auto& [id, frames, file] : {std::tuple{a, 20, fa}, std::tuple{b, 5, fb}}) {
    const Json job = show(id);
    ASSERT_EQ(job.at("agenda").size(), static_cast<std::size_t>(frames)) << job.dump();
    for (const auto& item : job.at("agenda")) EXPECT_EQ(item.value("status", ""), "complete") << item.dump();
    std::set<std::string> seen;
    for (const auto& line : read_lines(file)) seen.insert(line);
    for (int f = 1; f <= frames; ++f)
      EXPECT_TRUE(seen.count(std::to_string(f))) << "job " << id << " frame " << f << " never ran";
  }
}

// A supervisor that restarts drops what a worker it does not know yet sends: the
// output made while it was down (queued on the worker's socket) was lost, the
// item's log left with a hole. The worker keeps it and sends it again once
// registered (worker/log_backlog.hpp): every line, once, in order.
TEST_F(EndToEnd, OutputMadeWhileTheSupervisorIsDownIsKeptOnceAndInOrder) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string go = path("go"), done = path("done");
  const auto id = submit({"sh", "-c",
                          "echo line1; echo line2; echo line3; while [ ! -e " + go +
                              " ]; do sleep 0.02; done; i=4; while [ $i -le 40 ]; do echo line$i; i=$((i+1)); done; "
                              "touch " + done});
  ASSERT_TRUE(wait_until([&] { return contains(run({"qb", "out", id_text(id)}).out, "line3"); }))
      << "the first lines never reached the supervisor";
  kill9_supervisor();
  std::ofstream{go};
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(done); })) << "the item did not go on";
  restart_supervisor();
  EXPECT_EQ(wait_terminal(id), "complete");
  std::vector<std::string> lines, expected;
  for (int n = 1; n <= 40; ++n) expected.push_back("line" + std::to_string(n));
  const RunResult out = run({"qb", "out", id_text(id)});
  std::istringstream text(out.out);
  for (std::string line; std::getline(text, line);)
    if (line.rfind("line", 0) == 0) lines.push_back(line);
  EXPECT_EQ(lines, expected) << out.describe();
}

// After a short item the worker asks for the next one ahead, and the instance
// holds it behind the one it runs. When that one turns out long, the held item
// is given back (revoke, docs/protocol.md) and a free host runs it meanwhile.
TEST_F(EndToEnd, AnItemHeldBehindALongOneIsGivenBackAndRunsOnAFreeHost) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string started = path("started"), release = path("release");
  // Frame 1 is short; frame 2 waits for the test. As w1 hands frame 2 over, it
  // asks for frame 3 ahead.
  const auto id = submit({"--range", "1-3", "--cpus", "2", "sh", "-c",
                          "if [ QB_FRAME_NUMBER = 2 ]; then touch " + started + "; while [ ! -e " + release +
                              " ]; do sleep 0.05; done; fi"});
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(started); })) << "frame 2 never started";
  ASSERT_TRUE(wait_until([&] {
    const Json job = show(id);
    return job.at("agenda")[2].value("status", "") == "running" && job.at("agenda")[2].value("host", "") == "w1";
  })) << "frame 3 was not held on w1: " << show(id).dump();
  start_worker("w2", 1);
  EXPECT_TRUE(wait_until([&] { return show(id).at("agenda")[2].value("status", "") == "complete"; }, 20s))
      << "frame 3 still waits behind frame 2: " << show(id).dump();
  const Json job = show(id);
  EXPECT_EQ(job.at("agenda")[2].value("host", ""), "w2") << job.dump();
  EXPECT_EQ(job.at("agenda")[1].value("status", ""), "running") << job.dump();
  std::ofstream{release};
  EXPECT_EQ(wait_terminal(id), "complete");
}

// ---------------------------------------------------------------- 8

TEST_F(EndToEnd, WorkerKill9TakesItsFramesAlongAndTheWorkIsRetried) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string pids = path("pids"), mark = path("mark");
  // The first attempt blocks forever; the retry finds the mark and succeeds. The
  // pid is written after the mark, so that a kill once the pid is seen always
  // leaves the mark for the retry.
  const auto id = submit({"--range", "1", "sh", "-c",
                          "test -e " + mark + " && exit 0; touch " + mark + "; echo $$ >> " + pids +
                              "; exec sleep 300"});
  std::optional<pid_t> frame;
  ASSERT_TRUE(wait_until([&] { return (frame = read_pid(pids)).has_value(); })) << "the frame never started";
  track_pid(*frame);
  // Its ancestors up to the worker: the instance process and any shell between.
  std::vector<pid_t> chain;
  const pid_t worker = worker_pid("w1");
  for (auto p = parent_of(*frame); p && *p > 1 && *p != worker; p = parent_of(*p)) {
    chain.push_back(*p);
    track_pid(*p);
  }

  kill9_worker("w1");
  EXPECT_TRUE(wait_until([&] { return !process_alive(*frame); }, 5s))
      << "frame process " << *frame << " survived kill -9 of its worker";
  for (pid_t p : chain)
    EXPECT_TRUE(wait_until([&] { return !process_alive(p); }, 5s))
        << "process " << p << " between the worker and the frame survived kill -9 of the worker";

  start_worker("w1", 1);
  EXPECT_EQ(wait_terminal(id), "complete");
  const Json job = show(id);
  ASSERT_EQ(job.at("agenda").size(), 1u);
  EXPECT_GE(job.at("agenda")[0].value("attempts", 0), 2) << job.dump();
  EXPECT_EQ(job.at("agenda")[0].value("status", ""), "complete") << job.dump();
}

// ---------------------------------------------------------------- 9

TEST_F(EndToEnd, WorkerThatStopsHeartbeatingIsMarkedDownAndItsWorkRequeued) {
  start_supervisor(SupervisorOptions{0.2, 3, ""});
  const pid_t worker = start_worker("w1", 1);
  const std::string started = path("started");
  const auto id = submit({"--range", "1-2", "sh", "-c", "echo QB_FRAME_NUMBER >> " + started + "; sleep 2"});
  ASSERT_TRUE(wait_until([&] { return !read_lines(started).empty(); })) << "no frame started";

  ASSERT_EQ(::kill(worker, SIGSTOP), 0);
  EXPECT_TRUE(wait_until([&] {
    const auto h = host("w1");
    return h && h->value("state", "") == "down";
  }, 10s)) << hosts().dump();
  EXPECT_TRUE(wait_until([&] {
    const Json job = show(id);
    const Json* item = find_item(job, "1");
    return item && item->value("status", "") == "pending";
  }, 5s)) << "frame 1 should be pending again: " << show(id).dump();
  {
    const Json job = show(id);
    for (const auto& item : job.at("agenda")) EXPECT_NE(item.value("status", ""), "running") << item.dump();
  }

  ASSERT_EQ(::kill(worker, SIGCONT), 0);
  EXPECT_EQ(wait_terminal(id), "complete");
  EXPECT_TRUE(wait_until([&] {
    const auto h = host("w1");
    return h && h->value("state", "") == "active";
  })) << hosts().dump();
  const Json job = show(id);
  for (const auto& item : job.at("agenda")) EXPECT_EQ(item.value("status", ""), "complete") << item.dump();
  EXPECT_GE(find_item(job, "1")->value("attempts", 0), 2) << job.dump();
}

// ---------------------------------------------------------------- 10

TEST_F(EndToEnd, BadCommandLinesAreUsageErrors) {
  start_supervisor();
  const RunResult range = run({"qbsub", "--range", "1-x", "echo", "hi"});
  EXPECT_EQ(range.code, 2) << range.describe();
  EXPECT_TRUE(contains(range.err, "range")) << range.describe();

  const RunResult option = run({"qbsub", "--no-such-option", "echo", "hi"});
  EXPECT_EQ(option.code, 2) << option.describe();

  const RunResult package = run({"qbsub", "--package", "{a: [", "echo", "hi"});
  EXPECT_EQ(package.code, 2) << package.describe();
  EXPECT_TRUE(contains(package.err, "package")) << package.describe();

  const RunResult no_command = run({"qbsub", "--range", "1-3"});
  EXPECT_EQ(no_command.code, 2) << no_command.describe();
  const RunResult qb_unknown = run({"qb", "no-such-command"});
  EXPECT_EQ(qb_unknown.code, 2) << qb_unknown.describe();
  const RunResult qb_bad_id = run({"qb", "show", "abc"});
  EXPECT_EQ(qb_bad_id.code, 2) << qb_bad_id.describe();
  const RunResult qb_no_job = run({"qb", "show", "999"});
  EXPECT_EQ(qb_no_job.code, 1) << qb_no_job.describe();

  // None of the rejected submissions reached the supervisor.
  const RunResult jobs = run({"qb", "jobs", "--json"});
  ASSERT_EQ(jobs.code, 0) << jobs.describe();
  EXPECT_EQ(Json::parse(jobs.out, nullptr, false), Json::array()) << jobs.describe();
}

TEST_F(EndToEnd, UnreachableSupervisorFailsQuicklyWithAClearMessage) {
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"qbsub", "--supervisor", "tcp://127.0.0.1:1", "echo", "hi"},
        std::vector<std::string>{"qb", "ping", "--supervisor", "tcp://127.0.0.1:1"}}) {
    const RunResult r = run(cmd, {{"QB_TIMEOUT", "1"}}, 20s);
    EXPECT_EQ(r.code, 1) << cmd[0] << ": " << r.describe();
    EXPECT_LT(r.seconds, 5.0) << cmd[0] << ": " << r.describe();
    EXPECT_TRUE(contains(r.err, "supervisor")) << cmd[0] << ": " << r.describe();
  }
}

TEST_F(EndToEnd, UnknownJobTypeWaitsAndSaysWhy) {
  start_supervisor();
  start_worker("w1", 1);
  const RunResult sub = run({"qbsub", "--type", "nosuch", "echo", "hi"});
  ASSERT_EQ(sub.code, 0) << sub.describe();
  const auto id = std::stoull(sub.out);
  EXPECT_TRUE(contains(sub.err, "nosuch")) << "a warning should name the type: " << sub.describe();
  EXPECT_TRUE(wait_until([&] { return contains(show(id).value("reason", ""), "nosuch"); }))
      << show(id).dump();

  // Other work flows past it; it still waits.
  const auto ok = submit({"echo", "ok"});
  EXPECT_EQ(wait_terminal(ok), "complete");
  const Json job = show(id);
  EXPECT_EQ(job.value("status", ""), "pending") << job.dump();
  EXPECT_TRUE(job.at("instances").empty()) << job.dump();
  EXPECT_TRUE(contains(job.value("reason", ""), "nosuch")) << job.dump();
}

TEST_F(EndToEnd, MalformedMessagesDoNotHurtTheSupervisor) {
  start_supervisor();
  start_worker("w1", 1);
  const std::string huge_array("\xdd\xff\xff\xff\xff", 5);
  const std::string huge_map("\xdf\xff\xff\xff\xff", 5);
  const std::string huge_str("\xdb\xff\xff\xff\xff", 5);
  const std::string deep = std::string(100000, '\x91') + "\xc0";
  const std::string never_used("\xc1", 1);
  auto header = [](const std::string& type, std::uint64_t id) {
    return qube::proto::encode_header(qube::proto::Message{type, id, Json::object()});
  };
  // Each entry is one multi-part message.
  const std::vector<std::vector<std::string>> garbage = {
      {"just one frame"},
      {huge_array},
      {huge_array, huge_array},
      {header("ping", 11), huge_array},
      {header("submit", 12), huge_map},
      {header("register", 13), huge_str},
      {header("ping", 14), deep},
      {deep, qube::encode(Json::object())},
      {never_used, never_used},
      {"", ""},
      {"a", "b", "c"},
      {qube::encode(Json{{"v", 999}, {"type", "ping"}, {"id", 15}}), qube::encode(Json::object())},
      {qube::encode(Json{{"v", "x"}, {"type", 5}}), qube::encode(Json::object())},
      {header("submit", 16), qube::encode(Json{{"jobs", "not a list"}})},
      {header("submit", 17), qube::encode(Json{{"jobs", Json::array({Json{{"priority", "high"}}})}})},
      {header("register", 18), qube::encode(Json{{"name", 5}, {"slots", -3}})},
      {header("register", 19), qube::encode(Json{{"name", ""}})},
      {header("work_result", 20), qube::encode(Json{{"job", "x"}, {"subid", Json::array()}})},
      {header("no_such_type", 21), qube::encode(Json::object())},
  };
  zmq::context_t ctx;
  for (const std::string& endpoint : {workers_endpoint(), clients_endpoint()}) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(endpoint);
    for (const auto& message : garbage) {
      for (std::size_t i = 0; i < message.size(); ++i)
        s.send(zmq::buffer(message[i]), i + 1 < message.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    if (endpoint == clients_endpoint()) {
      // The client socket answers every request, however bad, with an error.
      std::size_t errors = 0, replies = 0;
      std::set<std::uint64_t> ids;  // of the replies
      wait_until([&] {
        zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(0));
        while (item.revents & ZMQ_POLLIN) {
          std::vector<zmq::message_t> frames;
          do {
            zmq::message_t f;
            if (!s.recv(f, zmq::recv_flags::dontwait)) break;
            const bool more = f.more();
            frames.push_back(std::move(f));
            if (!more) break;
          } while (true);
          ++replies;
          if (frames.size() == 2) {
            try {
              const auto reply = qube::proto::decode(frames[0].to_string_view(), frames[1].to_string_view());
              if (!reply.body.value("ok", true) && !reply.body.value("error", "").empty()) ++errors;
              ids.insert(reply.id);
            } catch (const std::exception&) {
            }
          }
          zmq::poll(&item, 1, std::chrono::milliseconds(0));
        }
        return replies >= garbage.size();
      }, 10s);
      EXPECT_EQ(replies, garbage.size()) << "every malformed client message should get a reply";
      EXPECT_EQ(errors, garbage.size()) << "every reply should be an error with a message";
      // A good header over a bad body: the refusal carries the request's id, which
      // the client waits on (else it would time out instead of reading the error).
      for (const std::uint64_t id : {11, 12, 13, 14}) EXPECT_TRUE(ids.count(id)) << "no reply to request " << id;
    }
    const RunResult ping = run({"qb", "ping"});
    EXPECT_EQ(ping.code, 0) << "after garbage on " << endpoint << ": " << ping.describe();
  }
  EXPECT_TRUE(process_alive(supervisor_pid()));
  // And the farm still works.
  const auto id = submit({"echo", "still", "alive"});
  EXPECT_EQ(wait_terminal(id), "complete");
  const auto h = host("w1");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->value("state", ""), "active");
}

// ---------------------------------------------------------------- 11

TEST_F(EndToEnd, JobsStartInPriorityOrder) {
  start_supervisor();
  // Submitted before any worker exists: the queue decides the order alone.
  const auto a = submit({"--priority", "9999", "--range", "1", "sh", "-c", "sleep 0.2"});
  const auto b = submit({"--priority", "5", "--range", "1", "sh", "-c", "sleep 0.2"});
  const auto c = submit({"--priority", "5000", "--range", "1", "sh", "-c", "sleep 0.2"});
  start_worker("w1", 1);
  for (auto id : {a, b, c}) ASSERT_EQ(wait_terminal(id), "complete") << "job " << id;

  auto started = [&](std::uint64_t id) {
    const Json job = show(id);
    return job.at("agenda").at(0).at("timestart").get<double>();
  };
  const double ta = started(a), tb = started(b), tc = started(c);
  EXPECT_LT(tb, tc) << "priority 5 before 5000";
  EXPECT_LT(tc, ta) << "priority 5000 before 9999";
}

// ---------------------------------------------------------------- retries and job control

TEST_F(EndToEnd, FailedItemsAreRetriedAutomaticallyAndByHand) {
  start_supervisor();
  start_worker("w1", 2);
  // Each frame fails the first time it runs (it leaves a mark), then succeeds.
  const std::string marks = path("m");
  const auto flaky = submit({"--range", "1-3", "--retrywork", "2", "--retryworkdelay", "0.2", "sh", "-c",
                             "test -e " + marks + "QB_FRAME_NUMBER && exit 0; touch " + marks +
                                 "QB_FRAME_NUMBER; exit 5"});
  EXPECT_EQ(wait_terminal(flaky), "complete");
  const Json flaky_job = show(flaky);  // named: a range-for over a temporary's member dangles
  for (const auto& item : flaky_job.at("agenda")) {
    EXPECT_EQ(item.value("attempts", 0), 2) << item.dump();
    EXPECT_EQ(item.value("failures", 0), 1) << item.dump();
  }

  // Without --retrywork a failure stands until `qb retry`; --work picks frames.
  const std::string gate = path("gate");
  const auto gated = submit({"--range", "1-4", "sh", "-c", "test QB_FRAME_NUMBER -lt 3 || test -e " + gate});
  EXPECT_EQ(wait_terminal(gated), "failed");
  { std::ofstream(gate) << "open"; }
  const RunResult one = run({"qb", "retry", id_text(gated), "--work", "3"});
  EXPECT_EQ(one.code, 0) << one.describe();
  EXPECT_EQ(wait_terminal(gated), "failed") << "item 4 was not retried and still fails";
  EXPECT_EQ(find_item(show(gated), "3")->value("status", ""), "complete");
  EXPECT_EQ(find_item(show(gated), "4")->value("status", ""), "failed");
  const RunResult rest = run({"qbretry", id_text(gated)});
  EXPECT_EQ(rest.code, 0) << rest.describe();
  EXPECT_EQ(wait_terminal(gated), "complete");
  const RunResult nothing = run({"qb", "retry", id_text(gated)});
  EXPECT_EQ(nothing.code, 1) << "nothing left to retry: " << nothing.describe();
}

TEST_F(EndToEnd, BlockedJobsStartNothingUntilUnblocked) {
  start_supervisor();
  start_worker("w1", 1);
  const auto held = submit({"--status", "blocked", "echo", "held"});
  const auto other = submit({"echo", "other"});
  EXPECT_EQ(wait_terminal(other), "complete");
  EXPECT_EQ(show(held).value("status", ""), "blocked");
  EXPECT_TRUE(show(held).at("instances").empty());
  const RunResult unblock = run({"qbunblock", id_text(held)});
  EXPECT_EQ(unblock.code, 0) << unblock.describe();
  EXPECT_EQ(wait_terminal(held), "complete");

  // Blocking a running job stops its work and puts the item back to pending.
  const std::string pid_file = path("pid");
  const auto running = submit({"--range", "1", "sh", "-c", "echo $$ > " + pid_file + "; exec sleep 300"});
  std::optional<pid_t> frame;
  ASSERT_TRUE(wait_until([&] { return (frame = read_pid(pid_file)).has_value(); }));
  track_pid(*frame);
  const RunResult block = run({"qb", "block", id_text(running)});
  EXPECT_EQ(block.code, 0) << block.describe();
  EXPECT_TRUE(wait_until([&] { return !process_alive(*frame); }, 10s)) << "the blocked job's frame still runs";
  const Json job = show(running);
  EXPECT_EQ(job.value("status", ""), "blocked");
  EXPECT_EQ(job.at("agenda")[0].value("status", ""), "pending") << job.dump();
  run({"qb", "kill", id_text(running)});
}

TEST_F(EndToEnd, TimeLimitsCompleteAndRemove) {
  start_supervisor();
  start_worker("w1", 2);
  // Frame 2 hangs past its item limit; the others finish.
  const auto items = submit({"--range", "1-3", "--agendatimelimit", "1", "sh", "-c",
                             "test QB_FRAME_NUMBER -eq 2 && exec sleep 60; exit 0"});
  const auto whole = submit({"--timelimit", "1", "sleep", "60"});
  EXPECT_EQ(wait_terminal(items), "failed");
  const Json items_job = show(items);
  const Json* hung = find_item(items_job, "2");
  ASSERT_NE(hung, nullptr);
  EXPECT_NE(hung->value("reason", "").find("time limit"), std::string::npos) << hung->dump();
  EXPECT_EQ(wait_terminal(whole), "failed");
  EXPECT_NE(show(whole).value("reason", "").find("time limit"), std::string::npos) << show(whole).dump();

  // "Eat" the failed frame: the job completes without running it again.
  const RunResult eat = run({"qb", "complete", id_text(items), "--work", "2"});
  EXPECT_EQ(eat.code, 0) << eat.describe();
  EXPECT_EQ(show(items).value("status", ""), "complete");
  EXPECT_EQ(find_item(show(items), "2")->value("status", ""), "skipped");

  const RunResult removed = run({"qbremove", id_text(items), id_text(whole)});
  EXPECT_EQ(removed.code, 0) << removed.describe();
  EXPECT_FALSE(try_show(items).has_value());
  EXPECT_FALSE(std::filesystem::exists(path("data/logs/" + id_text(items))));
}

}  // namespace
}  // namespace qube_it
