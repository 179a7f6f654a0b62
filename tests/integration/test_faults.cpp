// The fault suite (issue 15): one run of many short items on a real farm (two
// workers, four slots in all), a fault injected into it, then the same checks
// every time: every item is recorded complete exactly once in the store (also
// after the supervisor reloads it), and every item's side effect (its name
// appended to a file) is there, more than once only for an item that was in
// flight at a fault.
//
// Seeded and repeatable: each test's generator starts from QUBE_FAULT_SEED
// (default kDefaultSeed) mixed with the test's name; the seed is printed. What
// the seed picks: how long each item takes (0 to 20 ms), the moments of the
// faults (as counts of side effects seen) and which worker is hit.
// Sizes: CI by default; QUBE_FAULT_FULL=1 for the (docs/faults.md).
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

constexpr std::uint64_t kDefaultSeed = 15015;

bool full_size() {
  const char* e = std::getenv("QUBE_FAULT_FULL");
  return e && std::string(e) == "1";
}

std::uint64_t base_seed() {
  const char* e = std::getenv("QUBE_FAULT_SEED");
  return e && *e ? std::stoull(e) : kDefaultSeed;
}

// How big a run is and how many faults go into it.
struct Sizes {
  std::size_t items;
  int supervisor_kills;  // scenario 1
  int worker_kills;      // scenario 2
};
Sizes sizes() { return full_size() ? Sizes{5000, 20, 5} : Sizes{1000, 5, 2}; }

std::string trim_id(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Faults : public FarmTest {
 protected:
  void SetUp() override {
    FarmTest::SetUp();
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    rng_.seed(base_seed() ^ std::hash<std::string>{}(test));
    std::cerr << "[faults] " << test << ": seed " << base_seed() << " (QUBE_FAULT_SEED overrides), "
              << sizes().items << " items" << (full_size() ? " (QUBE_FAULT_FULL)" : "") << "\n";
  }

  // ------------------------------------------------------------ the farm and the run
  // Two workers of two slots: four slots in all.
  void start_farm(SupervisorOptions options = {}) {
    start_supervisor(options);
    for (const auto& w : workers_) start_worker(w, 2);
  }

  // One run: items 1..N, each appending its name to `log` and then taking 0 to
  // 20 ms (from the seed, per item: the same run every time).
  struct Run {
    std::uint64_t id = 0;
    std::size_t items = 0;
    std::string log;
  };
  Run submit_run(std::size_t items) {
    const std::uint64_t a = rng_() % 97 + 1, b = rng_() % 21;
    Run run{0, items, path("items.log")};
    run.id = submit({"--range", "1-" + std::to_string(items), "--cpus", "4", "sh", "-c",
                     "n=$QB_ITEM_NAME; echo $n >> " + run.log + "; ms=$(( (n * " + std::to_string(a) + " + " +
                         std::to_string(b) + ") % 21 )); [ $ms -lt 10 ] && ms=0$ms; sleep 0.0$ms"});
    return run;
  }
  std::size_t seen(const Run& run) const { return read_lines(run.log).size(); }
  // Waits until `n` side effects were seen; false on timeout.
  bool wait_seen(const Run& run, std::size_t n) {
    return wait_until([&] { return seen(run) >= n; }, 60s);
  }
  // `count` moments of a run, as counts of side effects seen: between 5% and
  // 90% of the items, ascending.
  std::vector<std::size_t> moments(const Run& run, int count) {
    std::uniform_int_distribution<std::size_t> pick(run.items / 20, run.items * 9 / 10);
    std::vector<std::size_t> out;
    for (int i = 0; i < count; ++i) out.push_back(pick(rng_));
    std::sort(out.begin(), out.end());
    return out;
  }
  const std::string& random_worker() { return workers_[rng_() % workers_.size()]; }

  // ------------------------------------------------------------ what was in flight
  // The items running now (on `host`, if given), by name, with their attempt id.
  std::map<std::string, int> running_items(const Run& run, const std::string& on_host = {}) {
    std::map<std::string, int> out;
    const auto j = try_show(run.id);
    if (!j) return out;
    for (const auto& item : j->at("agenda"))
      if (item.value("status", "") == "running" && (on_host.empty() || item.value("host", Json()) == on_host))
        out[item.at("name").get<std::string>()] = item.value("attempt_id", 0);
    return out;
  }
  // A fault from start to recovery (`hit` registered again, every worker
  // active): the items running just before it, and every item whose side
  // effect appeared until then, were in flight.
  void fault(const Run& run, const std::vector<std::string>& hit, const std::function<void()>& inject) {
    const std::size_t from = seen(run);
    for (const auto& [name, attempt] : running_items(run)) in_flight_.insert(name);
    const double at = wall_now();
    inject();
    ASSERT_TRUE(wait_recovered(hit, at)) << "the workers did not come back: " << hosts().dump();
    const auto lines = read_lines(run.log);
    for (std::size_t i = from; i < lines.size(); ++i) in_flight_.insert(lines[i]);
    ++faults_;
  }
  // Every worker active, those of `hit` registered again at or after `t`.
  bool wait_recovered(const std::vector<std::string>& hit, double t) {
    return wait_until([&] {
      try {
        std::size_t ok = 0;
        for (const auto& h : hosts()) {
          const bool again = std::find(hit.begin(), hit.end(), h.value("name", "")) == hit.end() ||
                             h.value("registered", 0.0) >= t - 0.5;
          if (h.value("state", "") == "active" && again) ++ok;
        }
        return ok == workers_.size();
      } catch (const std::exception&) {
        return false;  // the supervisor is not answering yet
      }
    }, 30s);
  }

  // ------------------------------------------------------------ the checks
  void check_exactly_once(const Run& run) {
    const auto timeout = std::chrono::milliseconds(60000 + run.items * 40);
    ASSERT_EQ(wait_terminal(run.id, timeout), "complete");
    check_store(run, show(run.id), "as run");
    // What the supervisor showed is what it stored: a reload finds the same.
    kill9_supervisor();
    restart_supervisor();
    const Json reloaded = show(run.id);
    EXPECT_EQ(reloaded.value("status", ""), "complete") << "after a reload of the store";
    check_store(run, reloaded, "after a reload");
    check_side_effects(run, reloaded);
  }

  // One agenda entry per item, each complete.
  void check_store(const Run& run, const Json& job, const std::string& when) {
    const Json& agenda = job.at("agenda");
    EXPECT_EQ(agenda.size(), run.items) << when;
    std::map<std::string, int> recorded;
    std::size_t not_complete = 0;
    for (const auto& item : agenda) {
      ++recorded[item.at("name").get<std::string>()];
      if (item.value("status", "") != "complete" && ++not_complete <= 5)
        ADD_FAILURE() << when << ": item not complete: " << item.dump();
    }
    EXPECT_EQ(not_complete, 0u) << when;
    for (std::size_t n = 1; n <= run.items; ++n) {
      const auto it = recorded.find(std::to_string(n));
      if (it == recorded.end()) ADD_FAILURE() << when << ": item " << n << " is not recorded (lost)";
      else if (it->second != 1) ADD_FAILURE() << when << ": item " << n << " is recorded " << it->second << " times";
    }
    EXPECT_EQ(recorded.size(), run.items) << when << ": names that are not items of the run";
    EXPECT_EQ(job.at("progress").value("complete", 0u), run.items) << when << ": " << job.at("progress").dump();
  }

  // Each item's side effect at least once; more than once only for an item in
  // flight at a fault, or one the store says ran more than once.
  void check_side_effects(const Run& run, const Json& job) {
    std::map<std::string, int> attempts;
    for (const auto& item : job.at("agenda")) attempts[item.at("name").get<std::string>()] = item.value("attempts", 0);
    std::map<std::string, std::size_t> count;
    for (const auto& line : read_lines(run.log)) ++count[line];
    std::size_t repeated = 0, unexplained = 0, once_in_store = 0;
    for (std::size_t n = 1; n <= run.items; ++n) {
      const std::string name = std::to_string(n);
      const std::size_t c = count.count(name) ? count[name] : 0;
      if (c == 0) ADD_FAILURE() << "item " << name << ": no side effect (result without running?)";
      if (c <= 1) continue;
      ++repeated;
      if (attempts[name] <= 1) ++once_in_store;
      if (!in_flight_.count(name) && attempts[name] <= 1 && ++unexplained <= 10)
        ADD_FAILURE() << "item " << name << " ran " << c << " times, but it was not in flight at a fault and the "
                      << "store records " << attempts[name] << " attempt";
    }
    EXPECT_EQ(count.size(), run.items) << "side effects of names that are not items of the run";
    std::cerr << "[faults] " << run.items << " items complete once; " << faults_ << " fault(s); "
              << in_flight_.size() << " item(s) in flight at a fault; " << repeated << " ran more than once ("
              << once_in_store << " of them with one attempt in the store)\n";
  }

  std::mt19937_64 rng_;
  const std::vector<std::string> workers_{"a", "b"};
  std::set<std::string> in_flight_;
  int faults_ = 0;
};

// 1. kill -9 of the supervisor at seeded moments of one run, restarted each
// time on the same data directory and ports.
TEST_F(Faults, SupervisorKilledAtRandomMoments) {
  start_farm();
  const Run work = submit_run(sizes().items);
  for (const std::size_t at : moments(work, sizes().supervisor_kills)) {
    ASSERT_TRUE(wait_seen(work, at)) << "the run stalled before " << at << " items: " << seen(work);
    fault(work, workers_, [&] {
      kill9_supervisor();
      restart_supervisor();
    });
  }
  check_exactly_once(work);
}

// 2. kill -9 of a worker while it runs items, and its return under its name.
TEST_F(Faults, WorkerKilledMidItemAndItsReturn) {
  start_farm();
  const Run work = submit_run(sizes().items);
  for (const std::size_t at : moments(work, sizes().worker_kills)) {
    ASSERT_TRUE(wait_seen(work, at));
    const std::string victim = random_worker();
    ASSERT_TRUE(wait_until([&] { return !running_items(work, victim).empty(); }, 10s)) << "nothing runs on " << victim;
    fault(work, {victim}, [&] {
      kill9_worker(victim);
      start_worker(victim, 2);
    });
  }
  check_exactly_once(work);
}

// 3. SIGSTOP of a worker for twice the liveness window, then SIGCONT: it is
// marked down meanwhile, its items run elsewhere, and what it reports late (an
// earlier attempt) is dropped by attempt id.
TEST_F(Faults, StoppedWorkerLateResultsAreDroppedByAttemptId) {
  // The stopped worker's items must be read before the window ends.
  const SupervisorOptions options{kSanitized ? 1.0 : 0.25, 4, ""};
  const auto window = std::chrono::milliseconds(static_cast<int>(1000 * options.heartbeat_interval *
                                                                 options.heartbeat_misses));
  start_farm(options);
  const Run work = submit_run(sizes().items);
  // In the first half: each try below may need the run to go on for a while
  // (a late moment let a fast run end between tries).
  ASSERT_TRUE(wait_seen(work, std::min(moments(work, 1).front(), work.items / 2)));
  const std::string victim = random_worker();
  ASSERT_TRUE(wait_until([&] { return !running_items(work, victim).empty(); }, 10s));
  std::map<std::string, int> stale;  // the attempts the stopped worker holds

  fault(work, {victim}, [&] {
    const pid_t pid = worker_pid(victim);
    // Its items as the supervisor sees them once that set no longer changes
    // (results sent before the stop may still be on their way). Should the
    // supervisor see none of its items running (stopped as its last results
    // were arriving, with nothing started or held after them), it is let go
    // and stopped again, well inside the window each time.
    auto stopped = std::chrono::steady_clock::now();
    for (int tries = 0; tries < 20 && stale.empty(); ++tries) {
      if (tries > 0) {
        ASSERT_EQ(::kill(pid, SIGCONT), 0);
        ASSERT_TRUE(wait_until([&] { return !running_items(work, victim).empty(); }, 10s));
      }
      stopped = std::chrono::steady_clock::now();
      ASSERT_EQ(::kill(pid, SIGSTOP), 0);
      std::map<std::string, int> now = running_items(work, victim), before;
      wait_until([&] {
        before = std::exchange(now, running_items(work, victim));
        return now == before;
      }, window / 2);
      stale = now;
    }
    if (stale.empty()) ::kill(pid, SIGCONT);
    ASSERT_FALSE(stale.empty()) << "nothing of the stopped worker's running in the supervisor's eyes";
    EXPECT_TRUE(wait_until([&] { return host(victim)->value("state", "") == "down"; }, 2 * window + 3s))
        << "the stopped worker was not marked down: " << hosts().dump();
    std::this_thread::sleep_until(stopped + 2 * window);  // the fault's length, not a synchronisation
    ASSERT_EQ(::kill(pid, SIGCONT), 0);
  });
  check_exactly_once(work);
  // The attempts the stopped worker held ended without being recorded: each of
  // those items was recorded by a later attempt.
  const Json job = show(work.id);
  for (const auto& item : job.at("agenda")) {
    const auto it = stale.find(item.at("name").get<std::string>());
    if (it == stale.end()) continue;
    EXPECT_GT(item.value("attempt_id", 0), it->second) << "recorded by the late attempt: " << item.dump();
  }
}

// 4. A worker restarted under the same name while its old process and instances
// still run and report: the new one registers first, the old one is killed
// (-9, its instances left to end on their own) only once items completed
// meanwhile; nothing the old session reports after the new registration counts.
TEST_F(Faults, WorkerRestartedUnderItsNameWhileOldInstancesReport) {
  start_farm();
  const Run work = submit_run(sizes().items);
  ASSERT_TRUE(wait_seen(work, moments(work, 1).front()));
  const std::string victim = random_worker();
  ASSERT_TRUE(wait_until([&] { return !running_items(work, victim).empty(); }, 10s));
  fault(work, {victim}, [&] {
    const pid_t old_worker = worker_pid(victim);
    start_worker(victim, 2);
    const std::size_t now = seen(work);
    EXPECT_TRUE(wait_seen(work, now + 20)) << "the run stalled with two workers named " << victim;
    ASSERT_TRUE(signal_daemon(old_worker, SIGKILL, 10s).has_value());
  });
  check_exactly_once(work);
}

// 7. The supervisor restarted under 1,000 simulated workers (qbsim): all
// register again within 10 s and dispatch resumes.
TEST_F(Faults, SupervisorRestartedUnderAThousandSimulatedWorkers) {
  if (!std::filesystem::exists(bin("qbsim"))) GTEST_SKIP() << "qbsim is not built (QUBE_BUILD_BENCH=OFF)";
  constexpr int kSimulated = 1000;
  start_supervisor();
  launch("qbsim", {"qbsim", "farm", "--endpoints", path("data/endpoints.json"), "--workers",
                   std::to_string(kSimulated), "--item-seconds", "0.5", "--ramp", "2"});
  auto active_since = [&](double t) {
    std::size_t n = 0;
    if (const RunResult r = run({"qb", "hosts", "--json"}); r.code == 0)
      for (const auto& h : Json::parse(r.out, nullptr, false))
        if (h.is_object() && h.value("state", "") == "active" && h.value("registered", 0.0) >= t) ++n;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return active_since(0) == kSimulated; }, 60s)) << active_since(0) << " registered";
  const auto before = submit({"--range", "1-5000", "--cpus", "1000", "true"});
  ASSERT_TRUE(wait_until([&] { return show(before).at("progress").value("complete", 0) > 0; }, 30s));

  kill9_supervisor();
  const double at = wall_now();
  const auto restarted = std::chrono::steady_clock::now();
  restart_supervisor();
  std::size_t back = 0;
  const bool all = wait_until([&] { return (back = active_since(at)) == kSimulated; }, 10s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count();
  std::cerr << "[faults] " << back << " of " << kSimulated << " simulated workers registered again " << took
            << " s after the restart\n";
  EXPECT_TRUE(all) << "only " << back << " of " << kSimulated << " registered again within 10 s";

  EXPECT_EQ(wait_terminal(before, 60s), "complete") << "the job running at the restart";
  const auto after = submit({"--range", "1-2000", "--cpus", "1000", "true"});
  EXPECT_EQ(wait_terminal(after, 60s), "complete") << "a job submitted after the restart";
}

// 8. SIGTERM of the supervisor, then of a worker, during the run; each is
// started again.
TEST_F(Faults, SupervisorAndWorkerTerminatedDuringWork) {
  start_farm();
  const Run work = submit_run(sizes().items);
  const auto at = moments(work, 2);
  ASSERT_TRUE(wait_seen(work, at[0]));
  fault(work, workers_, [&] {
    const auto code = signal_daemon(supervisor_pid(), SIGTERM, 2s);
    ASSERT_TRUE(code.has_value()) << "qbsupervisor still ran 2 s after SIGTERM";
    EXPECT_EQ(*code, 0);
    restart_supervisor();
  });
  ASSERT_TRUE(wait_seen(work, at[1]));
  const std::string victim = random_worker();
  fault(work, {victim}, [&] {
    const auto code = signal_daemon(worker_pid(victim), SIGTERM, 10s);
    ASSERT_TRUE(code.has_value()) << "qbworker still ran 10 s after SIGTERM";
    EXPECT_EQ(*code, 0);
    start_worker(victim, 2);
  });
  check_exactly_once(work);
}

// 9. A client submits a 1,000,000-item job (of a type no worker offers) while
// the run goes on: heartbeats and dispatch go on (no worker marked down, the
// run completes) and the stall probe's worst round trip stays under 50 ms (the
// issue's bound, asserted with QUBE_FAULT_FULL=1; CI asserts 500 ms, timing on
// a loaded 2-core machine being what it is).
TEST_F(Faults, AMillionItemSubmitDoesNotStallTheRun) {
  if (!std::filesystem::exists(bin("stall_probe"))) GTEST_SKIP() << "stall_probe is not built (QUBE_BUILD_BENCH=OFF)";
  start_farm();
  const Run work = submit_run(sizes().items);
  ASSERT_TRUE(wait_seen(work, work.items / 10));
  const pid_t probe = launch("stall_probe", {"stall_probe", "--supervisor", clients_endpoint()});
  // Pinging already: its first round trips are in before the big request goes.
  ASSERT_TRUE(wait_seen(work, seen(work) + 20));

  // The reply waits until all million items are stored (seconds): qbsub waits
  // for it without a QB_TIMEOUT (Client::request_stored).
  const RunResult big = run({"qbsub", "--range", "1-1000000", "--type", "no-worker-offers-this", "--package", "{}"},
                            {}, 300s);
  ASSERT_EQ(big.code, 0) << big.describe();
  // The run goes on after it, too (it may have ended meanwhile under a sanitizer).
  EXPECT_TRUE(wait_seen(work, std::min(seen(work) + 50, work.items))) << "dispatch stopped after the big submit";
  const auto code = signal_daemon(probe, SIGTERM, 10s);
  ASSERT_TRUE(code.has_value()) << "stall_probe did not stop";
  const auto probe_lines = read_lines(path("stall_probe.log"));
  const Json stalls = Json::parse(probe_lines.empty() ? "" : probe_lines.back(), nullptr, false);
  ASSERT_TRUE(stalls.is_object()) << "no report from stall_probe: " << read_file(path("stall_probe.log"));
  const double worst = stalls.value("worst_ms", 1e9);
  std::cerr << "[faults] the 1,000,000-item submit took " << big.seconds << " s; stall probe: " << stalls.dump()
            << "\n";

  for (const auto& h : hosts()) EXPECT_EQ(h.value("state", ""), "active") << h.dump();
  for (const auto& line : read_lines(path("supervisor.log")))
    EXPECT_EQ(line.find("missed its heartbeats"), std::string::npos) << "a worker was marked down: " << line;
  // Out of the way before the run's checks reload the store.
  const std::string id = trim_id(big.out);
  for (const char* verb : {"kill", "remove"}) {
    const RunResult r = run({"qb", verb, id}, {}, 300s);
    EXPECT_EQ(r.code, 0) << verb << ": " << r.describe();
    std::cerr << "[faults] qb " << verb << " of the 1,000,000-item job took " << r.seconds << " s\n";
  }
  check_exactly_once(work);
  // 50 ms is the figure (bench/big_job.sh measures it); the default run
  // allows for a CI machine busy with other tests.
  const double bound = full_size() ? 50 : 500;
  EXPECT_LT(worst, bound) << "the supervisor's loop stalled for " << worst << " ms (issue 15: under 50 ms)";
}

}  // namespace
}  // namespace qube_it
