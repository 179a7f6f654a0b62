// SIGTERM with work in flight, through real processes: the supervisor commits
// and exits 0 within 2 s and loses nothing it had shown; a worker takes no new
// work and either hands its running items back at once or, draining
// (drain_on_stop / qbworker --drain), lets them finish; no item is lost.
#include <signal.h>

#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class GracefulStop : public FarmTest {
 protected:
  // Items that append their frame number to `log`, then wait for `go` to exist.
  std::uint64_t submit_gated(const std::string& range, const std::string& log, const std::string& go) {
    return submit({"--range", range, "sh", "-c",
                   "echo QB_FRAME_NUMBER >> " + log + "; while [ ! -e " + go + " ]; do sleep 0.02; done"});
  }
  std::size_t lines(const std::string& file) const { return read_lines(file).size(); }
  std::map<std::string, Json> items_by_name(std::uint64_t id) {
    std::map<std::string, Json> out;
    const Json job = show(id);  // named: a range-for over a temporary's member reads freed memory
    for (const auto& item : job.at("agenda")) out[item.at("name").get<std::string>()] = item;
    return out;
  }
  // Items of the job in `status` (pending, running, complete, failed).
  std::size_t count_status(std::uint64_t id, const std::string& status) {
    return show(id).at("progress").at(status).get<std::size_t>();
  }
};

TEST_F(GracefulStop, SupervisorCommitsAndExitsWithinTwoSeconds) {
  start_supervisor();
  start_worker("w", 2);
  const std::string log = path("frames.log");
  const auto id = submit({"--range", "1-300", "--cpus", "2", "sh", "-c", "echo QB_FRAME_NUMBER >> " + log});
  ASSERT_TRUE(wait_until([&] { return lines(log) >= 40; })) << "work never got going";
  const std::size_t shown = count_status(id, "complete");  // answered, so committed

  const auto started = std::chrono::steady_clock::now();
  const auto code = signal_daemon(supervisor_pid(), SIGTERM, 2s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(code.has_value()) << "qbsupervisor still ran 2 s after SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(took, 2.0);

  restart_supervisor();
  EXPECT_GE(count_status(id, "complete"), shown) << "a result shown before SIGTERM was lost";
  EXPECT_EQ(wait_terminal(id, 60s), "complete");
  std::set<std::string> seen;
  for (const auto& line : read_lines(log)) seen.insert(line);
  EXPECT_EQ(seen.size(), 300u) << "every item ran";
}

TEST_F(GracefulStop, WorkerHandsItsRunningItemsBackAtOnce) {
  // A 60 s liveness window: only the worker's own word can requeue in time.
  start_supervisor(SupervisorOptions{1.0, 60, ""});
  start_worker("a", 1);
  const std::string log = path("frames.log"), go = path("go");
  const auto id = submit_gated("1-3", log, go);
  ASSERT_TRUE(wait_until([&] { return lines(log) == 1; }));

  const auto code = signal_daemon(worker_pid("a"), SIGTERM, 10s);
  ASSERT_TRUE(code.has_value()) << "qbworker still ran 10 s after SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_TRUE(wait_until([&] { return host("a")->value("state", "") == "down"; }, 5s)) << hosts().dump();
  EXPECT_TRUE(wait_until([&] { return count_status(id, "pending") == 3; }, 5s))
      << "the running item went back to pending: " << show(id).dump();

  std::ofstream(go) << "";
  start_worker("b", 1);
  EXPECT_EQ(wait_terminal(id, 60s), "complete");
  std::set<std::string> seen;
  for (const auto& line : read_lines(log)) seen.insert(line);
  EXPECT_EQ(seen, (std::set<std::string>{"1", "2", "3"}));
  for (const auto& [name, item] : items_by_name(id)) EXPECT_EQ(item.at("host"), "b") << name;
}

TEST_F(GracefulStop, ADrainingWorkerLetsItsRunningItemsFinish) {
  start_supervisor(SupervisorOptions{1.0, 60, ""});
  const pid_t a = start_worker("a", 1, "drain_on_stop: true");
  const std::string log = path("frames.log"), go = path("go");
  const auto id = submit_gated("1-3", log, go);
  ASSERT_TRUE(wait_until([&] { return lines(log) == 1; }));

  ::kill(a, SIGTERM);
  ASSERT_TRUE(wait_until([&] { return host("a")->value("draining", false); }, 5s)) << hosts().dump();
  EXPECT_TRUE(process_alive(a)) << "it waits for its running item";
  EXPECT_EQ(count_status(id, "running"), 1u) << show(id).dump();

  std::ofstream(go) << "";
  const auto code = signal_daemon(a, 0, 10s);  // signal 0: only wait
  ASSERT_TRUE(code.has_value()) << "the draining worker did not exit once its item was done";
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(count_status(id, "complete"), 1u) << show(id).dump();
  EXPECT_EQ(count_status(id, "pending"), 2u) << "no new item went to the draining worker: " << show(id).dump();
  EXPECT_TRUE(wait_until([&] { return host("a")->value("state", "") == "down"; }, 5s)) << hosts().dump();

  start_worker("b", 1);
  EXPECT_EQ(wait_terminal(id, 60s), "complete");
  EXPECT_EQ(read_lines(log).size(), 3u) << "each item ran exactly once: " << read_file(log);
  for (const auto& [name, item] : items_by_name(id)) EXPECT_EQ(item.at("attempts"), 1) << name;
}

// Short items are held ahead (docs/protocol.md): a drain hands over the item
// its instances hold, and fails none of them.
TEST_F(GracefulStop, ADrainingWorkerOfShortItemsFailsNoneAndLosesNone) {
  start_supervisor(SupervisorOptions{1.0, 60, ""});
  const pid_t a = start_worker("a", 2, "drain_on_stop: true");
  const std::string log = path("frames.log");
  const auto id = submit({"--range", "1-400", "--cpus", "2", "sh", "-c", "echo QB_FRAME_NUMBER >> " + log});
  ASSERT_TRUE(wait_until([&] { return lines(log) >= 40; })) << "work never got going";

  ::kill(a, SIGTERM);
  const auto code = signal_daemon(a, 0, 10s);  // signal 0: only wait
  ASSERT_TRUE(code.has_value()) << "the draining worker did not exit";
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(count_status(id, "failed"), 0u) << show(id).dump();
  start_worker("b", 2);
  EXPECT_EQ(wait_terminal(id, 60s), "complete") << show(id).dump();
  std::set<std::string> seen;
  for (const auto& line : read_lines(log)) seen.insert(line);
  EXPECT_EQ(seen.size(), 400u) << "every item ran";
}

}  // namespace
}  // namespace qube_it
