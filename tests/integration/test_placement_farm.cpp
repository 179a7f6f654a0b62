// Placement on a real farm: several workers on one machine, each given different
// facts in its worker.yaml, and jobs whose requirements, reservations, tags and
// priorities decide where (and whether) their instances run. Every assertion is
// on where instances actually ran, what they were granted, or why they wait.
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

constexpr const char* kAdmin = "wrangler";

class Placement : public FarmTest {
 protected:
  // The supervisor, with `wrangler` as its admin and `extra` config lines.
  void start(const std::string& extra = {}) {
    SupervisorOptions o;
    o.extra_config = std::string("admins: [") + kAdmin + "]\n" + extra;
    start_supervisor(o);
  }
  static std::map<std::string, std::string> admin() { return {{"QB_USER", kAdmin}}; }

  // The hosts the job's instances ran on.
  std::set<std::string> hosts_of(std::uint64_t id) {
    std::set<std::string> out;
    const Json job = show(id);  // kept alive while its instances are read
    for (const auto& i : job.at("instances")) out.insert(i.value("host", ""));
    return out;
  }
  std::string reason(std::uint64_t id) { return show(id).value("reason", ""); }
  std::string status(std::uint64_t id) { return show(id).value("status", ""); }
  bool reason_has(std::uint64_t id, const std::string& text) {
    return wait_until([&] { return reason(id).find(text) != std::string::npos; }, 10s);
  }
  // A command that runs until `gate` exists (the test opens it), so that a
  // test decides when work ends without sleeping.
  std::vector<std::string> held(const std::string& gate, const std::string& before = "true") {
    return {"sh", "-c", before + "; while [ ! -e " + path(gate) + " ]; do sleep 0.02; done"};
  }
  void open_gate(const std::string& gate) { std::ofstream(path(gate)) << "go\n"; }
  std::uint64_t submit_with(std::vector<std::string> options, const std::vector<std::string>& command) {
    options.insert(options.end(), command.begin(), command.end());
    return submit(options);
  }
};

TEST_F(Placement, RequirementsGroupsServicesAndHostListsChooseTheHost) {
  start();
  start_worker("gpu1", 1, "groups: [gpu, render]\nproperties: {maya2024: 1}\ngpus: 2\ncluster: /show/a");
  start_worker("cpu1", 1, "groups: [render]\nproperties: {nuke: 1}");

  const auto by_requirement = submit({"--requirements", "host.maya2024 == 1", "true"});
  const auto by_group = submit({"--groups", "gpu", "true"});
  const auto by_service = submit({"--service", "gpu", "true"});
  const auto by_omission = submit({"--omithosts", "gpu1", "true"});
  const auto by_list = submit({"--hosts", "cpu1", "true"});
  const auto by_cluster = submit({"--restrictions", "/show/a", "true"});
  // An HQueue job spec's conditions.
  std::ofstream(path("spec.json")) << R"({"name": "cond", "command": "true",
      "conditions": [{"type": "client", "name": "hostname", "op": "==", "value": "cpu1"}]})";
  const RunResult hq = run({"qbsub", "--file", path("spec.json")});
  ASSERT_EQ(hq.code, 0) << hq.describe();
  const std::uint64_t by_condition = std::stoull(hq.out);
  for (auto id : {by_requirement, by_group, by_service, by_omission, by_list, by_cluster, by_condition})
    EXPECT_EQ(wait_terminal(id), "complete");
  EXPECT_EQ(hosts_of(by_cluster), std::set<std::string>{"gpu1"});
  EXPECT_EQ(hosts_of(by_condition), std::set<std::string>{"cpu1"});
  EXPECT_EQ(hosts_of(by_requirement), std::set<std::string>{"gpu1"});
  EXPECT_EQ(hosts_of(by_group), std::set<std::string>{"gpu1"});
  EXPECT_EQ(hosts_of(by_service), std::set<std::string>{"gpu1"});
  EXPECT_EQ(hosts_of(by_omission), std::set<std::string>{"cpu1"});
  EXPECT_EQ(hosts_of(by_list), std::set<std::string>{"cpu1"});

  // Nothing matches: it waits and says why.
  const auto impossible = submit({"--requirements", "host.gpu >= 8", "true"});
  EXPECT_TRUE(reason_has(impossible, "no host matches requirements")) << reason(impossible);
  EXPECT_EQ(status(impossible), "pending");

  // qb hosts --long shows the facts each worker registered.
  const RunResult long_hosts = run({"qb", "hosts", "--long", "--json"});
  ASSERT_EQ(long_hosts.code, 0) << long_hosts.describe();
  for (const auto& h : Json::parse(long_hosts.out))
    if (h.value("name", "") == "gpu1") {
      EXPECT_EQ(h.at("facts").at("groups"), Json({"gpu", "render"}));
      EXPECT_EQ(h.at("facts").at("cluster"), "/show/a");
      EXPECT_EQ(h.at("facts").at("gpus"), 2);
      EXPECT_EQ(h.at("facts").at("properties").at("maya2024"), "1");
    }
  const RunResult text = run({"qb", "hosts", "--long"});
  EXPECT_NE(text.out.find("groups gpu,render"), std::string::npos) << text.describe();
}

TEST_F(Placement, BadRequirementsAreRefusedAtSubmissionWithTheColumn) {
  start();
  const RunResult r = run({"qbsub", "--requirements", "host.os == && 1", "true"});
  EXPECT_EQ(r.code, 1) << r.describe();
  EXPECT_NE(r.err.find("requirements"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("column"), std::string::npos) << r.describe();
  const RunResult unknown = run({"qbsub", "--reservations", "license.houdini=1", "true"});
  EXPECT_EQ(unknown.code, 1) << unknown.describe();
  EXPECT_NE(unknown.err.find("license.houdini is not defined"), std::string::npos) << unknown.describe();
}

TEST_F(Placement, ReservationsGrantSlotsAndLicensesThatAdminsResize) {
  start("global_resources: {license.nuke: 1}\n");
  start_worker("big", 4);
  const auto first = submit_with({"--reservations", "host.processors=3,license.nuke=1"},
                                 held("gate1", "echo \"$QB_JOBSLOTS $QB_ALLOCATIONS\" > " + path("granted")));
  ASSERT_TRUE(wait_until([&] { return read_file(path("granted")).find('\n') != std::string::npos; }));
  EXPECT_EQ(read_file(path("granted")), "3 host.processors=3,license.nuke=1\n");
  EXPECT_EQ(show(first).at("instances").at(0).value("allocation", ""), "host.processors=3,license.nuke=1");

  // The one license is held: the next nuke job waits and says for what.
  const auto second = submit({"--reservations", "license.nuke=1", "true"});
  EXPECT_TRUE(reason_has(second, "license.nuke (1/1 in use)")) << reason(second);
  const RunResult listed = run({"qb", "resources", "--json"});
  ASSERT_EQ(listed.code, 0) << listed.describe();
  EXPECT_EQ(Json::parse(listed.out), Json::parse(R"([{"name": "license.nuke", "total": 1, "used": 1}])"));

  // Only an admin may add licenses; once added, the waiting job runs at once.
  const RunResult refused = run({"qb", "resource", "set", "license.nuke", "2"}, {{"QB_USER", "mallory"}});
  EXPECT_EQ(refused.code, 1) << refused.describe();
  EXPECT_NE(refused.err.find("only an admin"), std::string::npos) << refused.describe();
  const RunResult added = run({"qb", "resource", "set", "license.nuke", "2"}, admin());
  ASSERT_EQ(added.code, 0) << added.describe();
  EXPECT_EQ(wait_terminal(second), "complete");
  open_gate("gate1");
  EXPECT_EQ(wait_terminal(first), "complete");
}

TEST_F(Placement, MemoryAndGpuReservationsAreHeldWhileAnInstanceRuns) {
  start();
  start_worker("gpu", 2, "memory_mb: 1000\ngpus: 1");
  const auto first = submit_with({"--reservations", "host.memory=800,host.gpu=1"},
                                 held("gate", "echo \"$QB_ALLOCATIONS\" > " + path("granted")));
  ASSERT_TRUE(wait_until([&] { return read_file(path("granted")).find('\n') != std::string::npos; }));
  EXPECT_EQ(read_file(path("granted")), "host.processors=1,host.memory=800,host.gpu=1\n");
  // A slot is free, but not the memory: it waits and says so.
  const auto second = submit({"--reservations", "host.memory=800", "true"});
  EXPECT_TRUE(reason_has(second, "800 MB of free memory")) << reason(second);
  const auto third = submit({"--reservations", "host.gpu=1", "true"});
  EXPECT_TRUE(reason_has(third, "free GPUs")) << reason(third);
  open_gate("gate");
  for (auto id : {first, second, third}) EXPECT_EQ(wait_terminal(id), "complete");
}

TEST_F(Placement, SingleRunsAloneAndZeroSlotJobsRunBesideAnything) {
  start();
  start_worker("w", 2);
  const auto single = submit_with({"--tags", "single"}, held("gate"));
  ASSERT_TRUE(wait_until([&] { return status(single) == "running"; }));
  const auto plain = submit({"true"});
  EXPECT_TRUE(reason_has(plain, "single")) << reason(plain);
  EXPECT_EQ(status(plain), "pending");
  open_gate("gate");
  EXPECT_EQ(wait_terminal(single), "complete");
  EXPECT_EQ(wait_terminal(plain), "complete");

  // Both slots busy: a job that needs no slot still runs.
  const auto busy = submit_with({"--cpus", "2", "--range", "1-2"}, held("gate2"));
  ASSERT_TRUE(wait_until([&] { return host("w")->value("slots_used", 0) == 2; }));
  const auto beside = submit({"--reservations", "host.processors=0", "true"});
  EXPECT_EQ(wait_terminal(beside), "complete");
  open_gate("gate2");
  EXPECT_EQ(wait_terminal(busy), "complete");
}

TEST_F(Placement, LockedHostsTakeNoWorkAndPurgeStopsWhatRuns) {
  start();
  start_worker("w", 1);
  const RunResult not_admin = run({"qb", "lock", "w"}, {{"QB_USER", "mallory"}});
  EXPECT_EQ(not_admin.code, 1) << not_admin.describe();
  ASSERT_EQ(run({"qb", "lock", "w"}, admin()).code, 0);
  EXPECT_EQ(host("w")->value("state", ""), "locked");
  const auto job = submit_with({"--range", "1-2"}, held("gate", "echo $$ > " + path("pid-$QB_FRAME_NUMBER")));
  EXPECT_TRUE(reason_has(job, "locked")) << reason(job);
  ASSERT_EQ(run({"qbunlock", "w"}, admin()).code, 0);
  ASSERT_TRUE(wait_until([&] { return read_pid(path("pid-1")).has_value(); }));
  const pid_t pid = *read_pid(path("pid-1"));
  track_pid(pid);

  // --purge: what runs there is stopped, and its item waits for another host.
  const RunResult purge = run({"qblock", "--purge", "w"}, admin());
  ASSERT_EQ(purge.code, 0) << purge.describe();
  EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 15s));
  const Json item = show(job).at("agenda").at(0);
  EXPECT_EQ(item.value("status", ""), "pending");
  EXPECT_EQ(item.value("failures", -1), 0) << "a purge is not the item's failure";
  open_gate("gate");
  ASSERT_EQ(run({"qb", "unlock", "w"}, admin()).code, 0);
  EXPECT_EQ(wait_terminal(job), "complete");
}

TEST_F(Placement, AnAdminChangesARunningWorkersFactsWithoutRestartingIt) {
  start();
  const pid_t worker = start_worker("w", 1);
  const auto job = submit({"--requirements", "host.maya2024 == 1 && host.scratch >= 2", "true"});
  EXPECT_TRUE(reason_has(job, "no host matches requirements")) << reason(job);
  const RunResult set = run({"qb", "host", "set", "w", "--property", "maya2024=1", "--resource", "host.scratch=4"},
                            admin());
  ASSERT_EQ(set.code, 0) << set.describe();
  EXPECT_EQ(wait_terminal(job), "complete");
  EXPECT_EQ(worker_pid("w"), worker);
  EXPECT_TRUE(process_alive(worker)) << "the worker was not restarted";
}

// qb lock --drain: the item running there finishes and is kept; its instance
// takes no other and ends; nothing new starts until the host is unlocked.
TEST_F(Placement, LockDrainLetsTheRunningItemFinishThenStops) {
  start();
  start_worker("w", 1);
  const std::string gate = path("gate");
  const auto job = submit({"--range", "1-3", "sh", "-c", "while [ ! -e " + gate + " ]; do sleep 0.05; done"});
  ASSERT_TRUE(wait_until([&] { return show(job).value("status", "") == "running"; })) << show(job).dump();
  const RunResult both = run({"qb", "lock", "w", "--drain", "--purge"}, admin());
  EXPECT_EQ(both.code, 1) << both.describe();
  ASSERT_EQ(run({"qb", "lock", "w", "--drain"}, admin()).code, 0);
  EXPECT_EQ(host("w")->value("draining", false), true);
  std::ofstream(gate).put('\n');
  // Its item completes; the instance ends instead of taking item 2.
  ASSERT_TRUE(wait_until([&] {
    const Json j = show(job);
    return j.at("progress").at("complete") == 1 && j.value("status", "") == "pending";
  })) << show(job).dump();
  const Json drained = show(job);
  EXPECT_EQ(drained.at("progress").at("pending"), 2) << drained.dump();
  ASSERT_EQ(run({"qb", "unlock", "w"}, admin()).code, 0);
  EXPECT_EQ(host("w")->value("draining", true), false);
  EXPECT_EQ(wait_terminal(job), "complete");
}

TEST_F(Placement, AnAdminsLocksHostChangesAndLicensesOutliveASupervisorRestart) {
  start();
  start_worker("w", 1);
  ASSERT_EQ(run({"qb", "lock", "w"}, admin()).code, 0);
  ASSERT_EQ(run({"qb", "host", "set", "w", "--property", "maya2024=1"}, admin()).code, 0);
  ASSERT_EQ(run({"qb", "resource", "set", "license.katana", "1"}, admin()).code, 0);
  const auto job = submit({"--reservations", "license.katana=1", "--requirements", "host.maya2024 == 1", "sh", "-c",
                           "echo $QB_ALLOCATIONS > " + path("granted")});
  EXPECT_TRUE(reason_has(job, "locked")) << reason(job);

  kill9_supervisor();
  restart_supervisor();
  // The worker registers again by itself, and is still locked.
  ASSERT_TRUE(wait_until([&] {
    const auto h = host("w");
    return h && h->value("state", "") != "down" && h->value("registered", 0.0) > 0;
  }));
  EXPECT_EQ(host("w")->value("state", ""), "locked");
  const RunResult listed = run({"qb", "resources", "--json"});
  ASSERT_EQ(listed.code, 0) << listed.describe();
  EXPECT_EQ(Json::parse(listed.out), Json::parse(R"([{"name": "license.katana", "total": 1, "used": 0}])"));
  EXPECT_TRUE(reason_has(job, "locked")) << reason(job);

  // Unlocked, it runs there: the property and the license are still the admin's.
  ASSERT_EQ(run({"qb", "unlock", "w"}, admin()).code, 0);
  EXPECT_EQ(wait_terminal(job), "complete");
  EXPECT_EQ(read_file(path("granted")), "host.processors=1,license.katana=1\n");
}

TEST_F(Placement, PassivePreemptionLetsUrgentWorkInAfterTheCurrentItem) {
  start();
  start_worker("w", 1);
  // A long low-priority job: each item waits for its own gate.
  const auto low = submit_with({"--priority", "500", "--range", "1-3"},
                               held("low-$QB_FRAME_NUMBER", "echo started > " + path("low-started-$QB_FRAME_NUMBER")));
  ASSERT_TRUE(wait_until([&] { return read_file(path("low-started-1")).size() > 0; }));
  const auto urgent = submit({"--priority", "1", "true"});
  // The low job's first item finishes; the urgent job runs before its second.
  open_gate("low-1");
  EXPECT_EQ(wait_terminal(urgent), "complete");
  open_gate("low-2");
  open_gate("low-3");
  EXPECT_EQ(wait_terminal(low), "complete");
  const Json low_job = show(low), urgent_job = show(urgent);
  EXPECT_GT(low_job.at("agenda").at(1).at("timestart").get<double>(),
            urgent_job.at("instances").at(0).at("timestart").get<double>())
      << "the low job started another item before yielding";
  EXPECT_EQ(low_job.at("instances").size(), 2u) << "its first instance yielded its slot: " << low_job.dump();
  for (const auto& item : low_job.at("agenda")) EXPECT_EQ(item.value("failures", -1), 0);
}

TEST_F(Placement, AggressivePreemptionKillsLowerPriorityWorkButNotUninterruptibleWork) {
  start("preemption: aggressive\n");
  start_worker("w", 1);
  const auto low = submit_with({"--priority", "500"}, held("never", "echo $$ > " + path("low-pid")));
  ASSERT_TRUE(wait_until([&] { return read_pid(path("low-pid")).has_value(); }));
  const pid_t pid = *read_pid(path("low-pid"));
  track_pid(pid);
  const auto urgent = submit({"--priority", "1", "true"});
  EXPECT_EQ(wait_terminal(urgent), "complete");
  EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 15s));
  const Json low_job = show(low);
  EXPECT_NE(low_job.value("status", ""), "failed");
  EXPECT_EQ(low_job.at("instances").at(0).value("reason", ""),
            "preempted by job " + std::to_string(urgent) + " (priority 1)") << low_job.dump();
  ASSERT_EQ(run({"qb", "kill", std::to_string(low)}).code, 0);
  ASSERT_EQ(wait_terminal(low), "killed");

  // Uninterruptible work keeps its slot: urgent work waits for it.
  const auto kept = submit_with({"--priority", "500", "--flags", "uninterruptible"},
                                held("gate", "echo $$ > " + path("kept-pid")));
  ASSERT_TRUE(wait_until([&] { return read_pid(path("kept-pid")).has_value(); }));
  const pid_t kept_pid = *read_pid(path("kept-pid"));
  track_pid(kept_pid);
  const auto waits = submit({"--priority", "1", "true"});
  EXPECT_TRUE(reason_has(waits, "waiting for a free slot")) << reason(waits);
  EXPECT_TRUE(process_alive(kept_pid));
  EXPECT_EQ(status(kept), "running");
  open_gate("gate");
  EXPECT_EQ(wait_terminal(kept), "complete");
  EXPECT_EQ(wait_terminal(waits), "complete");
}

TEST_F(Placement, FairShareLetsASmallJobInBeforeABigJobOfTheSamePriorityEnds) {
  // No look-ahead: the seconds this test's items take decide.
  start("fair_share_lookahead: 0\n");
  start_worker("w", 1);
  const RunResult big = run({"qbsub", "--range", "1-30", "sh", "-c", "sleep 0.05"}, {{"QB_USER", "alice"}});
  ASSERT_EQ(big.code, 0) << big.describe();
  const auto big_id = std::stoull(big.out);
  ASSERT_TRUE(wait_until([&] { return show(big_id).at("progress").value("complete", 0) >= 3; }));
  const RunResult small = run({"qbsub", "--range", "1-2", "true"}, {{"QB_USER", "bob"}});
  ASSERT_EQ(small.code, 0) << small.describe();
  const auto small_id = std::stoull(small.out);
  EXPECT_EQ(wait_terminal(small_id), "complete");
  EXPECT_NE(status(big_id), "complete") << "bob's 2 frames waited for all of alice's 30";
  EXPECT_EQ(wait_terminal(big_id), "complete");
}

TEST_F(Placement, MaxCpusGrowsIntoIdleSlotsAndUserLimitsCapRunningInstances) {
  start("user_subjob_limits: {capped: 1}\n");
  start_worker("w", 3);
  // --max_cpus: one instance wanted, three idle slots taken.
  const auto grows = submit_with({"--cpus", "1", "--max_cpus", "3", "--range", "1-3"},
                                 held("gate", "echo x > " + path("grow-$QB_FRAME_NUMBER")));
  ASSERT_TRUE(wait_until([&] { return show(grows).at("instances").size() == 3; }));
  open_gate("gate");
  EXPECT_EQ(wait_terminal(grows), "complete");

  // A user capped at one running instance gets one, whatever --cpus says.
  const RunResult capped = run({"qbsub", "--cpus", "3", "--range", "1-3", "true"}, {{"QB_USER", "capped"}});
  ASSERT_EQ(capped.code, 0) << capped.describe();
  const auto id = std::stoull(capped.out);
  EXPECT_EQ(wait_terminal(id), "complete");
  EXPECT_EQ(show(id).at("instances").size(), 1u);
}

}  // namespace
}  // namespace qube_it
