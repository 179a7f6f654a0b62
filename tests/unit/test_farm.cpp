// qube::supervisor::Farm driven directly: no sockets, no store, and a FakeClock
// that moves only when a test says. Each test plays the worker's side by calling
// on_register / on_work_request / on_work_result / on_instance_done with
// messages decoded from their wire form, as the server does, and reads what the
// farm would send from `farm.effects().outbox`.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "agenda_builds.hpp"
#include "farm.hpp"
#include "qube/codec.hpp"
#include "qube/json.hpp"
#include "qube/messages.hpp"
#include "qube/protocol.hpp"

namespace {

using qube::AgendaItem;
using qube::Host;
using qube::Instance;
using qube::Job;
using qube::JobId;
using qube::JobSpec;
using qube::JobStatus;
using qube::Json;
using qube::WorkStatus;
using qube::supervisor::Farm;
using qube::supervisor::JobState;
using qube::supervisor::Outgoing;
namespace proto = qube::proto;

// A valid cmdline job; an empty range makes it agenda-less.
JobSpec make_spec(const std::string& name, int priority = qube::kDefaultPriority,
                  const std::string& range = "1-3", int cpus = 1) {
  JobSpec s;
  s.name = name;
  s.type = "cmdline";
  s.user = "alice";
  s.priority = priority;
  s.cpus = cpus;
  s.range = range;
  s.package = {{"cmdline", "echo QB_FRAME_NUMBER"}};
  s.env = {{"SHOT", "010"}};
  return s;
}

Host make_host(const std::string& name, int slots, std::vector<std::string> types = {"cmdline"}) {
  Host h;
  h.name = name;
  h.slots = slots;
  h.memory_mb = 1024;
  h.jobtypes = std::move(types);
  return h;
}

// An instance as the store keeps it: on host a.
Instance stored_instance(std::int32_t subid, JobStatus status) {
  Instance inst;
  inst.subid = subid;
  inst.host = "a";
  inst.status = status;
  return inst;
}

// The client requests as they come off the wire, decoded as the server does.
Json submit_wire(Farm& f, const Json& body) { return f.submit(qube::supervisor::submission_from_json(body)); }
Json lock_wire(Farm& f, const Json& body, bool lock) { return f.lock_hosts(qube::supervisor::host_lock_from_json(body), lock); }
Json host_set_wire(Farm& f, const Json& body) { return f.set_host_facts(qube::supervisor::host_change_from_json(body)); }
Json resource_set_wire(Farm& f, const Json& body) {
  return f.set_resource(qube::supervisor::resource_total_from_json(body));
}

struct Started {
  std::string rid;
  JobId job = 0;
  std::int32_t subid = -1;
};

class FarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
  }
  void TearDown() override {
    // Whatever a test did, each job's kept counts must equal a recount of its agenda.
    for (JobId id = 1; id < 1000; ++id)
      if (const JobState* s = farm.job(id)) expect_counts_match(*s);
    spdlog::set_level(saved_level_);
  }

  static void expect_counts_match(const JobState& s) {
    std::array<std::size_t, qube::supervisor::kWorkStatuses> counted{};
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < s.job.agenda.size(); ++i) {
      ++counted[static_cast<std::size_t>(s.job.agenda[i].status)];
      if (s.job.agenda[i].status == WorkStatus::pending) pending.push_back(i);
    }
    EXPECT_EQ(s.items_by_status, counted) << "job " << s.job.id;
    EXPECT_EQ(std::vector<std::size_t>(s.pending.begin(), s.pending.end()), pending) << "job " << s.job.id;
    EXPECT_EQ(s.pending.size(), pending.size()) << "job " << s.job.id;
  }

  JobId submit(const JobSpec& s) {
    const Json reply = submit_wire(farm, Json{{"jobs", Json::array({qube::to_json(s)})}});
    return reply.at("ids").at(0).get<JobId>();
  }

  void reg(const std::string& rid, const Host& h) {
    farm.on_register(rid, proto::decode_register(qube::to_json(h)), "tcp://127.0.0.1:1", 1.0, 1);
  }

  // Everything sent since the last drain.
  std::vector<Outgoing> drain() {
    std::vector<Outgoing> out = std::move(farm.effects().outbox);
    farm.effects().outbox.clear();
    return out;
  }

  // Runs the scheduler and returns the start_instance messages it produced
  // (other messages are dropped).
  std::vector<Started> schedule() {
    farm.schedule();
    std::vector<Started> starts;
    for (const auto& o : drain()) {
      if (o.msg.type != proto::kStartInstance) continue;
      starts.push_back(Started{o.routing_id, o.msg.body.at("job").at("id").get<JobId>(),
                               o.msg.body.at("job").at("subid").get<std::int32_t>()});
    }
    return starts;
  }

  // Asks for work as instance (job, subid) from `rid`; returns the kWork body,
  // or a null Json if nothing was sent (a stale request).
  Json request(const std::string& rid, JobId job, std::int32_t subid) {
    farm.on_work_request(rid, proto::decode_work_request(Json{{"job", job}, {"subid", subid}}));
    Json body;
    for (const auto& o : drain()) {
      if (o.msg.type != proto::kWork) continue;
      EXPECT_EQ(o.routing_id, rid);
      body = o.msg.body;
    }
    return body;
  }

  // Asks ahead, as a worker does while its instance runs an item; the kWork body.
  Json request_ahead(const std::string& rid, JobId job, std::int32_t subid) {
    farm.on_work_request(rid, proto::decode_work_request(Json{{"job", job}, {"subid", subid}, {"ahead", true}}));
    Json body;
    for (const auto& o : drain())
      if (o.msg.type == proto::kWork) body = o.msg.body;
    return body;
  }

  void result(const std::string& rid, JobId job, std::int32_t subid, std::int64_t index,
              std::uint64_t attempt, const std::string& status, int exitcode) {
    farm.on_work_result(rid, proto::decode_work_result(Json{{"job", job},
                                  {"subid", subid},
                                  {"index", index},
                                  {"attempt", attempt},
                                  {"status", status},
                                  {"exitcode", exitcode},
                                  {"walltime", 1.5},
                                  {"cputime", 1.25},
                                  {"peak_rss_kb", 2048},
                                  {"reason", status == "failed" ? "exit code " + std::to_string(exitcode) : ""}}));
  }

  // With `hosts` hosts (a, b ...) and this bad_host_threshold, a job that
  // retries fails 5 items in a row on a: true if a was excluded. Once per test.
  bool five_failures_on_a_exclude_it(int hosts, int threshold) {
    qube::supervisor::FarmPolicy policy;
    policy.wrangling.bad_host_threshold = threshold;
    farm.set_policy(policy);
    for (int h = 0; h < hosts; ++h)
      reg(std::string("r").append(std::to_string(h)), make_host(std::string(1, static_cast<char>('a' + h)), 1));
    JobSpec spec = make_spec("flaky", 10, "1-10", 1);
    spec.retrywork = 50;
    const JobId id = submit(spec);
    const auto starts = schedule();
    EXPECT_EQ(starts.size(), 1u);
    fail_items("r0", id, 0, 5);
    return js(id).bad_host("a");
  }

  // The instance fails the next `n` items it is given.
  void fail_items(const std::string& rid, JobId job, std::int32_t subid, int n) {
    for (int i = 0; i < n; ++i) {
      const Json w = request(rid, job, subid);
      ASSERT_FALSE(w.value("done", false)) << w.dump();
      result(rid, job, subid, w.at("index").get<std::int64_t>(), w.at("attempt").get<std::uint64_t>(), "failed", 1);
    }
  }

  void done(const std::string& rid, JobId job, std::int32_t subid, const std::string& status,
            const std::string& reason = "") {
    farm.on_instance_done(
        rid, proto::decode_instance_done(Json{{"job", job}, {"subid", subid}, {"status", status}, {"reason", reason}}));
  }

  // Runs one instance through all the work it is given, each item ending with
  // `status`, then ends the instance as complete.
  void run_to_end(const std::string& rid, JobId job, std::int32_t subid, const std::string& status = "complete") {
    for (int guard = 0; guard < 1000; ++guard) {
      const Json w = request(rid, job, subid);
      ASSERT_FALSE(w.is_null()) << "no reply to a work request of " << job << "." << subid;
      if (w.value("done", false)) break;
      result(rid, job, subid, w.at("index").get<std::int64_t>(), w.at("attempt").get<std::uint64_t>(), status,
             status == "complete" ? 0 : 1);
    }
    done(rid, job, subid, "complete");
  }

  const JobState& js(JobId id) {
    const JobState* s = farm.job(id);
    EXPECT_NE(s, nullptr) << "no job " << id;
    static const JobState none{};
    return s ? *s : none;
  }

  const AgendaItem& item(JobId id, std::size_t index) { return js(id).job.agenda.at(index); }
  const Instance& instance(JobId id, std::int32_t subid) {
    return js(id).job.instances.at(static_cast<std::size_t>(subid));
  }

  // Fair share on the fake clock: alice runs a 100 s frame; 1,000 s later she
  // starts another job and runs 5 s of it; then bob's job arrives at equal
  // priority on the farm's one slot. True if alice's instance yields the slot
  // to bob after its item, which depends on how much of her old use is left.
  bool alice_yields(double half_life) {
    qube::supervisor::FarmPolicy policy;
    policy.placer.fair_share.enabled = true;
    policy.placer.fair_share.half_life = half_life;
    policy.placer.fair_share.lookahead = 10;
    farm.set_policy(policy);
    reg("w1", make_host("a", 1));
    const JobId old_job = submit(make_spec("old", 50, "1"));
    EXPECT_EQ(schedule().size(), 1u);
    const Json first = request("w1", old_job, 0);
    clock.advance(100);
    result("w1", old_job, 0, 0, first.at("attempt").get<std::uint64_t>(), "complete", 0);
    EXPECT_TRUE(request("w1", old_job, 0).value("done", false));
    done("w1", old_job, 0, "complete");
    clock.advance(1000);
    const JobId mine = submit(make_spec("mine", 50, "1-3"));
    EXPECT_EQ(schedule().size(), 1u);
    const Json w = request("w1", mine, 0);
    clock.advance(5);
    JobSpec theirs = make_spec("theirs", 50, "1-3");
    theirs.user = "bob";
    submit(theirs);
    EXPECT_TRUE(schedule().empty()) << "the slot is alice's until her item ends";
    result("w1", mine, 0, w.at("index").get<std::int64_t>(), w.at("attempt").get<std::uint64_t>(), "complete", 0);
    return request("w1", mine, 0).value("done", false);
  }

  // Submits the job to a farm of one one-slot host "a" (rid w1), whose instance
  // 0 then holds the job's first item.
  JobId start_first_item(const JobSpec& spec) {
    const JobId id = submit(spec);
    reg("w1", make_host("a", 1));
    EXPECT_EQ(schedule().size(), 1u);
    EXPECT_EQ(request("w1", id, 0).at("index"), 0);
    return id;
  }

  // Hosts a (r1) and b (r2), one slot each, and a job that retries its items.
  JobId flaky_job_on_two_hosts() {
    reg("r1", make_host("a", 1));
    reg("r2", make_host("b", 1));
    JobSpec spec = make_spec("flaky", 10, "1-10", 1);
    spec.retrywork = 50;
    return submit(spec);
  }

  // The server stored this round's rows (and sent its messages).
  void stored() { (void)farm.take_effects(); }
  Json kill(const Json& body) {
    return qube::supervisor::to_json(
        farm.steer(qube::supervisor::SteerVerb::kill, qube::supervisor::steering_from_json(body)));
  }

  qube::FakeClock clock;
  Farm farm{clock};

 private:
  spdlog::level::level_enum saved_level_ = spdlog::level::info;
};

// ------------------------------------------------------------------ ordering

TEST_F(FarmTest, PriorityOneBeatsDefaultPriority) {
  const JobId low = submit(make_spec("low", 9999));
  const JobId urgent = submit(make_spec("urgent", 1));
  ASSERT_LT(low, urgent);
  reg("w1", make_host("a", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].job, urgent);
  EXPECT_EQ(starts[0].subid, 0);
  EXPECT_EQ(starts[0].rid, "w1");
  EXPECT_TRUE(js(low).running.empty());
  EXPECT_EQ(js(low).job.status, JobStatus::pending);
  EXPECT_EQ(js(low).job.reason, "waiting for a free slot (1 host can run it, all busy)");
  EXPECT_EQ(js(urgent).job.status, JobStatus::running);
}

TEST_F(FarmTest, EqualPriorityLowerJobIdFirst) {
  const JobId first = submit(make_spec("first", 50));
  const JobId second = submit(make_spec("second", 50));
  ASSERT_LT(first, second);
  reg("w1", make_host("a", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].job, first);
}

TEST_F(FarmTest, OneSlotHostRunsJobsInPriorityThenIdOrder) {
  const JobId a = submit(make_spec("a", 50, "1"));
  const JobId b = submit(make_spec("b", 50, "1"));
  const JobId c = submit(make_spec("c", 10, "1"));
  const JobId d = submit(make_spec("d", 9999, "1"));
  reg("w1", make_host("h", 1));
  std::vector<JobId> order;
  for (int round = 0; round < 4; ++round) {
    const auto starts = schedule();
    ASSERT_EQ(starts.size(), 1u) << "round " << round;
    order.push_back(starts[0].job);
    run_to_end("w1", starts[0].job, starts[0].subid);
    EXPECT_EQ(js(starts[0].job).job.status, JobStatus::complete);
  }
  EXPECT_EQ(order, (std::vector<JobId>{c, a, b, d}));
  EXPECT_TRUE(schedule().empty());
}

TEST_F(FarmTest, StartInstanceCarriesTheJob) {
  JobSpec s = make_spec("render", 10);
  s.padding = 4;
  s.cwd = "/shots/010";
  const JobId id = submit(s);
  reg("w1", make_host("a", 1));
  farm.schedule();
  const auto out = drain();
  const Outgoing* start = nullptr;
  for (const auto& o : out)
    if (o.msg.type == proto::kStartInstance) start = &o;
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->routing_id, "w1");
  const Json& j = start->msg.body.at("job");
  EXPECT_EQ(j.at("id").get<JobId>(), id);
  EXPECT_EQ(j.at("subid"), 0);
  EXPECT_EQ(j.at("pgrp").get<JobId>(), id);
  EXPECT_EQ(j.at("name"), "render");
  EXPECT_EQ(j.at("type"), "cmdline");
  EXPECT_EQ(j.at("user"), "alice");
  EXPECT_EQ(j.at("package"), s.package);
  EXPECT_EQ(j.at("env").at("SHOT"), "010");
  EXPECT_EQ(j.at("padding"), 4);
  EXPECT_EQ(j.at("cwd"), "/shots/010");
  EXPECT_EQ(instance(id, 0).host, "a");
  EXPECT_EQ(instance(id, 0).status, JobStatus::running);
  EXPECT_TRUE(farm.effects().dirty_instances.count({id, 0}));
  EXPECT_EQ(farm.host_by_rid("w1")->host.slots_used, 1);
}

// ------------------------------------------------------------------ instances per job

TEST_F(FarmTest, CpusLimitsInstancesOnABigHost) {
  const JobId id = submit(make_spec("two", 9999, "1-10", 2));
  reg("w1", make_host("a", 4));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0].job, id);
  EXPECT_EQ(starts[1].job, id);
  EXPECT_EQ(starts[0].subid, 0);
  EXPECT_EQ(starts[1].subid, 1);
  EXPECT_EQ(js(id).running.size(), 2u);
  EXPECT_EQ(farm.host_by_rid("w1")->host.slots_used, 2);
  // Nothing more on another round either.
  EXPECT_TRUE(schedule().empty());
}

TEST_F(FarmTest, NoMoreInstancesThanPendingItems) {
  const JobId id = submit(make_spec("small", 9999, "1-2", 8));
  reg("w1", make_host("a", 4));
  const auto starts = schedule();
  EXPECT_EQ(starts.size(), 2u);
  EXPECT_EQ(js(id).running.size(), 2u);
  EXPECT_EQ(farm.host_by_rid("w1")->host.slots_used, 2);
}

TEST_F(FarmTest, FreeSlotsGoToTheNextJob) {
  const JobId a = submit(make_spec("a", 10, "1-10", 2));
  const JobId b = submit(make_spec("b", 20, "1-10", 1));
  const JobId c = submit(make_spec("c", 30, "1-10", 5));
  reg("w1", make_host("h", 4));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_EQ(js(a).running.size(), 2u);
  EXPECT_EQ(js(b).running.size(), 1u);
  EXPECT_EQ(js(c).running.size(), 1u);
}

// ------------------------------------------------------------------ pulling work

TEST_F(FarmTest, InstancePullsItemsInOrderThenDone) {
  const JobId id = submit(make_spec("pull", 9999, "1-3"));
  reg("w1", make_host("a", 1));
  ASSERT_EQ(schedule().size(), 1u);
  for (std::size_t i = 0; i < 3; ++i) {
    const Json w = request("w1", id, 0);
    ASSERT_FALSE(w.is_null());
    EXPECT_FALSE(w.contains("done"));
    EXPECT_EQ(w.at("job").get<JobId>(), id);
    EXPECT_EQ(w.at("subid"), 0);
    EXPECT_EQ(w.at("index").get<std::size_t>(), i);
    EXPECT_EQ(w.at("item"), std::to_string(i + 1));
    EXPECT_EQ(w.at("attempt"), 1);
    EXPECT_EQ(item(id, i).status, WorkStatus::running);
    EXPECT_EQ(item(id, i).attempts, 1u);
    EXPECT_EQ(item(id, i).host, "a");
    EXPECT_EQ(item(id, i).subid, 0);
    EXPECT_TRUE(farm.effects().dirty_items.count({id, i}));
    result("w1", id, 0, static_cast<std::int64_t>(i), 1, "complete", 0);
    EXPECT_EQ(item(id, i).status, WorkStatus::complete);
  }
  const Json w = request("w1", id, 0);
  EXPECT_EQ(w.value("done", false), true);
  EXPECT_EQ(js(id).job.status, JobStatus::complete);
  done("w1", id, 0, "complete");
  EXPECT_EQ(instance(id, 0).status, JobStatus::complete);
  EXPECT_EQ(farm.host_by_rid("w1")->host.slots_used, 0);
  EXPECT_EQ(js(id).job.status, JobStatus::complete);
}

TEST_F(FarmTest, TwoInstancesShareTheAgendaInOrder) {
  const JobId id = submit(make_spec("share", 9999, "1-4", 2));
  reg("w1", make_host("a", 2));
  ASSERT_EQ(schedule().size(), 2u);
  EXPECT_EQ(request("w1", id, 0).at("index"), 0);
  EXPECT_EQ(request("w1", id, 1).at("index"), 1);
  result("w1", id, 1, 1, 1, "complete", 0);
  EXPECT_EQ(request("w1", id, 1).at("index"), 2);
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_EQ(request("w1", id, 0).at("index"), 3);
  result("w1", id, 0, 3, 1, "complete", 0);
  EXPECT_EQ(request("w1", id, 0).value("done", false), true);
  EXPECT_EQ(js(id).job.status, JobStatus::running);  // item 2 still runs
  result("w1", id, 1, 2, 1, "complete", 0);
  EXPECT_EQ(js(id).job.status, JobStatus::complete);
}

TEST_F(FarmTest, WorkRequestFromAnotherHostIsIgnored) {
  const JobId id = submit(make_spec("mine", 9999, "1-3"));
  reg("w1", make_host("a", 1));
  reg("w2", make_host("b", 0));
  ASSERT_EQ(schedule().size(), 1u);
  // A stale or foreign request gets no item: at most {done: true}, which ends a
  // stray instance instead of leaving it waiting.
  auto no_item = [](const Json& r) { return r.is_null() || (r.value("done", false) && !r.contains("index")); };
  EXPECT_TRUE(no_item(request("w2", id, 0)));
  EXPECT_TRUE(no_item(request("nobody", id, 0)));
  EXPECT_TRUE(no_item(request("w1", id, 5)));
  EXPECT_TRUE(no_item(request("w1", id + 100, 0)));
  EXPECT_EQ(item(id, 0).status, WorkStatus::pending);
  EXPECT_EQ(item(id, 0).attempts, 0u);
}

// ------------------------------------------------------------------ items held ahead

TEST_F(FarmTest, AnItemAskedForAheadIsHeldAndStartsWhenTheCurrentOnesResultComes) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-3"));
  const Json held = request_ahead("w1", id, 0);
  EXPECT_EQ(held.value("ahead", false), true) << held.dump();
  ASSERT_EQ(held.at("index"), 1) << held.dump();
  EXPECT_EQ(item(id, 1).status, WorkStatus::running);  // no one else takes it
  EXPECT_EQ(js(id).running.at(0).next, 1u);
  // One held at a time: a second ask gets nothing, and that is not "done".
  const Json second = request_ahead("w1", id, 0);
  EXPECT_FALSE(second.contains("index")) << second.dump();
  EXPECT_EQ(second.value("ahead", false), true);
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_EQ(js(id).running.at(0).item, 1u);
  EXPECT_FALSE(js(id).running.at(0).next);
  result("w1", id, 0, 1, 1, "complete", 0);
  EXPECT_EQ(item(id, 1).status, WorkStatus::complete);
  EXPECT_EQ(item(id, 1).history.size(), 1u);
  // The last item: nothing to hold, and the ordinary request ends the instance.
  ASSERT_EQ(request("w1", id, 0).at("index"), 2);
  EXPECT_FALSE(request_ahead("w1", id, 0).contains("index"));
  result("w1", id, 0, 2, 1, "complete", 0);
  EXPECT_TRUE(request("w1", id, 0).value("done", false));
  done("w1", id, 0, "complete");
  EXPECT_EQ(js(id).job.status, JobStatus::complete);
}

TEST_F(FarmTest, AResultThatAsksAheadStartsTheHeldItemAndHoldsTheOneAfter) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-4"));
  ASSERT_EQ(request_ahead("w1", id, 0).at("index"), 1);
  Json report{{"job", id}, {"subid", 0}, {"index", 0}, {"attempt", 1}, {"status", "complete"},
              {"exitcode", 0}, {"walltime", 0.01}, {"ahead", true}};
  farm.on_work_result("w1", proto::decode_work_result(report));
  Json reply;
  for (const auto& o : drain())
    if (o.msg.type == proto::kWork) reply = o.msg.body;
  EXPECT_EQ(reply.value("ahead", false), true) << reply.dump();
  EXPECT_EQ(reply.at("index"), 2) << reply.dump();
  EXPECT_EQ(item(id, 0).status, WorkStatus::complete);
  EXPECT_EQ(js(id).running.at(0).item, 1u);
  EXPECT_EQ(js(id).running.at(0).next, 2u);
  // A stale result that asks ahead is still answered: no worker waits forever.
  report["subid"] = 9;
  farm.on_work_result("w1", proto::decode_work_result(report));
  int answers = 0;
  for (const auto& o : drain()) answers += o.msg.type == proto::kWork && o.msg.body.value("ahead", false) ? 1 : 0;
  EXPECT_EQ(answers, 1);
}

TEST_F(FarmTest, AnItemHeldForAnInstanceThatEndsGoesBackUnstartedAndItsAttemptIdIsNotReused) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-3"));
  ASSERT_EQ(request_ahead("w1", id, 0).at("index"), 1);
  done("w1", id, 0, "failed", "the instance crashed");
  EXPECT_EQ(item(id, 0).status, WorkStatus::failed);   // it was running
  EXPECT_EQ(item(id, 1).status, WorkStatus::pending);  // it never started
  EXPECT_TRUE(item(id, 1).history.empty());
  const auto again = schedule();
  ASSERT_EQ(again.size(), 1u);
  const Json w = request("w1", id, again[0].subid);
  ASSERT_EQ(w.at("index"), 1);
  EXPECT_EQ(w.at("attempt"), 2);  // attempt 1 stays spent: a late word of it is told apart
  result("w1", id, again[0].subid, 1, 1, "complete", 0);
  EXPECT_EQ(item(id, 1).status, WorkStatus::running);
}

TEST_F(FarmTest, AnInstanceThatEndsCleanlyBeforeStartingItsHeldItemGivesItBackButACrashFailsIt) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-4"));
  ASSERT_EQ(request_ahead("w1", id, 0).at("index"), 1);
  result("w1", id, 0, 0, 1, "complete", 0);  // item 1 starts from its hold
  ASSERT_EQ(js(id).running.at(0).item, 1u);
  done("w1", id, 0, "complete");  // told done instead (its worker stopping)
  EXPECT_EQ(item(id, 1).status, WorkStatus::pending);
  EXPECT_EQ(item(id, 1).failures, 0u);
  const auto again = schedule();
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(request("w1", id, again[0].subid).at("index"), 1);
  ASSERT_EQ(request_ahead("w1", id, again[0].subid).at("index"), 2);
  result("w1", id, again[0].subid, 1, 2, "complete", 0);
  done("w1", id, again[0].subid, "failed", "instance process killed by signal 11");
  EXPECT_EQ(item(id, 2).status, WorkStatus::failed);  // it may have crashed it
}

TEST_F(FarmTest, NothingIsHeldAheadOnADrainingHostOrForAJobThatEnded) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-4"));
  qube::supervisor::FarmPolicy policy;
  policy.admins = {"bob"};
  farm.set_policy(policy);
  const Json locked = lock_wire(farm, Json{{"hosts", Json::array({"a"})}, {"user", "bob"}, {"drain", true}}, true);
  ASSERT_TRUE(farm.host_by_rid("w1")->draining) << locked.dump();
  EXPECT_FALSE(request_ahead("w1", id, 0).contains("index"));
  EXPECT_EQ(item(id, 1).status, WorkStatus::pending);
  // A stale instance asking ahead is answered (nothing held), not left waiting.
  const Json stale = request_ahead("w1", id, 7);
  EXPECT_EQ(stale.value("ahead", false), true);
  EXPECT_FALSE(stale.contains("index"));
}

// What revoke_long_holds sent: (job, subid, index, attempt) of each revoke.
std::vector<std::tuple<JobId, std::int32_t, std::int64_t, std::uint64_t>> revokes(const std::vector<Outgoing>& out) {
  std::vector<std::tuple<JobId, std::int32_t, std::int64_t, std::uint64_t>> r;
  for (const auto& o : out)
    if (o.msg.type == proto::kRevoke) {
      const proto::Revoke m = proto::decode_revoke(o.msg.body);
      r.emplace_back(m.instance.job, m.instance.subid, m.index, m.attempt);
    }
  return r;
}

TEST_F(FarmTest, AnItemHeldBehindALongItemIsRevokedOnceAndGivenBackGoesToPending) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-2"));
  ASSERT_EQ(request_ahead("w1", id, 0).at("index"), 1);
  farm.revoke_long_holds();
  EXPECT_TRUE(revokes(drain()).empty()) << "item 1 has not run long yet";
  clock.advance(Farm::kHoldBehindAtMost + 0.5);
  farm.revoke_long_holds();
  const auto sent = revokes(drain());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], std::make_tuple(id, 0, std::int64_t{1}, std::uint64_t{1}));
  farm.revoke_long_holds();
  EXPECT_TRUE(revokes(drain()).empty()) << "asked once per hold";
  // A late answer about another attempt is ignored; the right one returns it.
  farm.on_revoked("w1", proto::Revoked{proto::HeldItem{{id, 0}, 1, 7}});
  EXPECT_EQ(item(id, 1).status, WorkStatus::running);
  farm.on_revoked("w1", proto::Revoked{proto::HeldItem{{id, 0}, 1, 1}});
  EXPECT_EQ(item(id, 1).status, WorkStatus::pending);
  EXPECT_TRUE(item(id, 1).history.empty());
  EXPECT_FALSE(js(id).running.at(0).next);
  EXPECT_EQ(js(id).running.at(0).item, 0u);  // it still runs its current item
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_EQ(item(id, 0).status, WorkStatus::complete);
}

TEST_F(FarmTest, NothingIsRevokedWhileTheJobHasPendingItemsForAFreeHostToTake) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-3"));
  ASSERT_EQ(request_ahead("w1", id, 0).at("index"), 1);
  clock.advance(Farm::kHoldBehindAtMost + 0.5);
  farm.revoke_long_holds();
  EXPECT_TRUE(revokes(drain()).empty());
}

TEST_F(FarmTest, AGivenBackItemThatTheResultBeforeItBeganGoesToPendingAndTheNextHeldOneRuns) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-3"));
  ASSERT_EQ(request_ahead("w1", id, 0).at("index"), 1);
  clock.advance(Farm::kHoldBehindAtMost + 0.5);
  farm.revoke_long_holds();
  drain();
  // The worker gave item 1 back as item 0's result (asking ahead) was on its way:
  // here the result comes first, begins item 1 and holds item 2.
  Json report{{"job", id}, {"subid", 0}, {"index", 0}, {"attempt", 1}, {"status", "complete"},
              {"exitcode", 0}, {"walltime", 0.01}, {"ahead", true}};
  farm.on_work_result("w1", proto::decode_work_result(report));
  drain();
  ASSERT_EQ(js(id).running.at(0).item, 1u);
  ASSERT_EQ(js(id).running.at(0).next, 2u);
  farm.on_revoked("w1", proto::Revoked{proto::HeldItem{{id, 0}, 1, 1}});
  EXPECT_EQ(item(id, 1).status, WorkStatus::pending);
  EXPECT_EQ(js(id).running.at(0).item, 2u);  // its worker hands item 2 over when it comes
  EXPECT_FALSE(js(id).running.at(0).next);
  result("w1", id, 0, 2, 1, "complete", 0);
  EXPECT_EQ(item(id, 2).status, WorkStatus::complete);
  ASSERT_EQ(request("w1", id, 0).at("index"), 1);  // the given-back item, a new attempt
}

TEST_F(FarmTest, KillingAnItemHeldAheadStopsItsInstanceAndRequeuesTheOneItWasRunning) {
  const JobId id = start_first_item(make_spec("ahead", 9999, "1-3"));
  ASSERT_EQ(request_ahead("w1", id, 0).at("index"), 1);
  stored();
  const Json reply = qube::supervisor::to_json(farm.steer(
      qube::supervisor::SteerVerb::kill,
      qube::supervisor::steering_from_json(Json{{"ids", Json::array({id})}, {"user", "alice"}, {"work", "2"}})));
  int kills = 0;
  for (const auto& o : drain()) kills += o.msg.type == proto::kKillInstance ? 1 : 0;
  EXPECT_EQ(kills, 1) << reply.dump();  // its worker would hand the item over without asking
  EXPECT_EQ(item(id, 1).status, WorkStatus::killed);
  EXPECT_EQ(item(id, 0).status, WorkStatus::pending);  // not its fault
  EXPECT_FALSE(js(id).running.at(0).next);
  done("w1", id, 0, "killed", "killed");
  EXPECT_EQ(item(id, 0).status, WorkStatus::pending);
}

TEST_F(FarmTest, AHostExcludedAsBadTakesBackTheItemItStartedFromItsHold) {
  const JobId id = flaky_job_on_two_hosts();
  ASSERT_EQ(schedule().size(), 1u);
  Json w = request("r1", id, 0);
  std::uint32_t failures_before = 0;
  for (int failures = 0; failures < 3; ++failures) {
    const Json next = request_ahead("r1", id, 0);
    ASSERT_TRUE(next.contains("index")) << next.dump();
    failures_before = item(id, next.at("index").get<std::size_t>()).failures;
    result("r1", id, 0, w.at("index").get<std::int64_t>(), w.at("attempt").get<std::uint64_t>(), "failed", 1);
    w = next;
  }
  ASSERT_EQ(js(id).job.excluded_hosts.size(), 1u);
  // The fourth item had started there from its hold as the third failure left:
  // its instance is stopped, the item pending again, no failure counted.
  const std::size_t fourth = w.at("index").get<std::size_t>();
  EXPECT_EQ(item(id, fourth).status, WorkStatus::pending);
  EXPECT_EQ(item(id, fourth).failures, failures_before);
  EXPECT_FALSE(js(id).running.count(0));
}

// ------------------------------------------------------------------ results

TEST_F(FarmTest, ResultRecordedOnlyForTheCurrentAttempt) {
  const JobId id = submit(make_spec("res", 9999, "1-3", 2));
  reg("w1", make_host("a", 2));
  reg("w2", make_host("b", 0));
  ASSERT_EQ(schedule().size(), 2u);
  ASSERT_EQ(request("w1", id, 0).at("index"), 0);
  ASSERT_EQ(request("w1", id, 1).at("index"), 1);

  result("w1", id, 0, 0, 2, "complete", 7);  // attempt not yet dispatched
  result("w1", id, 0, 0, 0, "complete", 7);  // attempt 0 never existed
  result("w1", id, 1, 0, 1, "complete", 7);  // subid 1 holds item 1, not 0
  result("w1", id, 5, 0, 1, "complete", 7);  // no such instance
  result("w2", id, 0, 0, 1, "complete", 7);  // host b does not run 0
  result("w1", id, 0, 2, 1, "complete", 7);  // an item the instance does not hold
  EXPECT_EQ(item(id, 0).status, WorkStatus::running);
  EXPECT_FALSE(item(id, 0).exitcode.has_value());
  EXPECT_EQ(item(id, 2).status, WorkStatus::pending);
  EXPECT_FALSE(item(id, 2).exitcode.has_value());

  result("w1", id, 0, 0, 1, "failed", 3);
  EXPECT_EQ(item(id, 0).status, WorkStatus::failed);
  ASSERT_TRUE(item(id, 0).exitcode.has_value());
  EXPECT_EQ(*item(id, 0).exitcode, 3);
  EXPECT_DOUBLE_EQ(item(id, 0).walltime, 1.5);
  EXPECT_DOUBLE_EQ(item(id, 0).cputime, 1.25);
  EXPECT_EQ(item(id, 0).peak_rss_kb, 2048u);
  EXPECT_EQ(item(id, 0).reason, "exit code 3");
  EXPECT_TRUE(item(id, 0).timecomplete.has_value());

  // A duplicate of the same report changes nothing.
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_EQ(item(id, 0).status, WorkStatus::failed);
  EXPECT_EQ(*item(id, 0).exitcode, 3);
}

TEST_F(FarmTest, ResultWithBadStatusThrows) {
  const JobId id = submit(make_spec("bad", 9999, "1"));
  reg("w1", make_host("a", 1));
  ASSERT_EQ(schedule().size(), 1u);
  ASSERT_EQ(request("w1", id, 0).at("index"), 0);
  EXPECT_THROW(result("w1", id, 0, 0, 1, "running", 0), qube::FormatError);
  EXPECT_THROW(result("w1", id, 0, 0, 1, "bogus", 0), qube::FormatError);
  EXPECT_EQ(item(id, 0).status, WorkStatus::running);
}

TEST_F(FarmTest, FailedItemFailsTheJobOnceAllItemsEnd) {
  const JobId id = submit(make_spec("fails", 9999, "1-2"));
  reg("w1", make_host("a", 1));
  ASSERT_EQ(schedule().size(), 1u);
  ASSERT_EQ(request("w1", id, 0).at("index"), 0);
  result("w1", id, 0, 0, 1, "failed", 2);
  EXPECT_EQ(item(id, 0).status, WorkStatus::failed);
  EXPECT_EQ(js(id).job.status, JobStatus::running);
  EXPECT_FALSE(js(id).job.timecomplete.has_value());
  ASSERT_EQ(request("w1", id, 0).at("index"), 1);
  EXPECT_EQ(js(id).job.status, JobStatus::running);
  result("w1", id, 0, 1, 1, "complete", 0);
  EXPECT_EQ(js(id).job.status, JobStatus::failed);
  EXPECT_TRUE(js(id).job.timecomplete.has_value());
  EXPECT_TRUE(farm.effects().dirty_jobs.count(id));
  EXPECT_EQ(request("w1", id, 0).value("done", false), true);
  done("w1", id, 0, "complete");
  EXPECT_EQ(js(id).job.status, JobStatus::failed);
  EXPECT_TRUE(schedule().empty());
}

// ------------------------------------------------------------------ retention

// retention_days (docs/operations.md): ended jobs go, with their rows, logs and
// history, once they ended that long ago; live jobs and recent ones stay.
TEST_F(FarmTest, RetentionRemovesOnlyJobsThatEndedLongEnoughAgo) {
  constexpr double kDay = 86400;
  const JobId old_job = submit(make_spec("old"));
  kill(Json{{"ids", Json::array({old_job})}, {"user", "alice"}});
  clock.advance(kDay);
  const JobId recent = submit(make_spec("recent"));
  kill(Json{{"ids", Json::array({recent})}, {"user", "alice"}});
  const JobId live = submit(make_spec("live"));
  stored();
  ASSERT_TRUE(qube::is_terminal(js(old_job).job.status));
  ASSERT_TRUE(qube::is_terminal(js(recent).job.status));

  EXPECT_EQ(farm.expire_ended_jobs(0), 0u) << "0 keeps every job";
  clock.advance(0.6 * kDay);  // old ended 1.6 days ago, recent 0.6
  EXPECT_EQ(farm.expire_ended_jobs(1.5), 1u);
  EXPECT_EQ(farm.job(old_job), nullptr);
  EXPECT_NE(farm.job(recent), nullptr);
  EXPECT_NE(farm.job(live), nullptr);
  EXPECT_EQ(farm.effects().removed_jobs, std::set<JobId>{old_job}) << "the server deletes its rows and logs";

  // Looked at again only a minute later, however often the loop ticks.
  clock.advance(30);
  EXPECT_EQ(farm.expire_ended_jobs(0.5), 0u) << "recent is due, but the farm was walked 30 s ago";
  clock.advance(30);
  EXPECT_EQ(farm.expire_ended_jobs(0.5), 1u);
  EXPECT_EQ(farm.job(recent), nullptr);
  EXPECT_NE(farm.job(live), nullptr) << "a job that never ended is never expired";
}

// ------------------------------------------------------------------ kill

TEST_F(FarmTest, KillSendsKillInstanceAndKillsItems) {
  const JobId id = submit(make_spec("victim", 9999, "1-3", 2));
  reg("w1", make_host("a", 4));
  ASSERT_EQ(schedule().size(), 2u);
  ASSERT_EQ(request("w1", id, 0).at("index"), 0);  // instance 1 stays idle

  qube::supervisor::FarmPolicy policy;
  policy.admins = {"bob"};  // bob, an admin, kills alice's job
  farm.set_policy(policy);
  const Json reply = kill(Json{{"ids", Json::array({id})}, {"user", "bob"}});
  EXPECT_EQ(reply.at("killed"), Json::array({id}));
  EXPECT_TRUE(reply.at("errors").empty());
  std::vector<std::pair<std::string, std::int32_t>> kills;
  for (const auto& o : drain()) {
    if (o.msg.type != proto::kKillInstance) continue;
    EXPECT_EQ(o.msg.body.at("job").get<JobId>(), id);
    kills.emplace_back(o.routing_id, o.msg.body.at("subid").get<std::int32_t>());
  }
  std::sort(kills.begin(), kills.end());
  EXPECT_EQ(kills, (std::vector<std::pair<std::string, std::int32_t>>{{"w1", 0}, {"w1", 1}}));

  EXPECT_EQ(js(id).job.status, JobStatus::killed);
  EXPECT_EQ(js(id).job.reason, "killed by bob");
  EXPECT_TRUE(js(id).job.timecomplete.has_value());
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(item(id, i).status, WorkStatus::killed) << "item " << i;
    EXPECT_EQ(item(id, i).reason, "killed by bob") << "item " << i;
    EXPECT_TRUE(farm.effects().dirty_items.count({id, i})) << "item " << i;
  }
  EXPECT_TRUE(js(id).pending.empty());

  // A late result does not resurrect the item; more work is refused.
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_EQ(item(id, 0).status, WorkStatus::killed);
  EXPECT_EQ(request("w1", id, 1).value("done", false), true);

  done("w1", id, 0, "failed", "killed");
  done("w1", id, 1, "failed", "killed");
  EXPECT_EQ(instance(id, 0).status, JobStatus::killed);
  EXPECT_EQ(instance(id, 1).status, JobStatus::killed);
  EXPECT_EQ(js(id).job.status, JobStatus::killed);
  EXPECT_EQ(farm.host_by_rid("w1")->host.slots_used, 0);
  EXPECT_TRUE(schedule().empty());

  const Json again = kill(Json{{"ids", Json::array({id, 999})}, {"user", "alice"}});
  EXPECT_TRUE(again.at("killed").empty());
  ASSERT_EQ(again.at("errors").size(), 2u);
  EXPECT_NE(again.at("errors")[0].get<std::string>().find("already killed"), std::string::npos);
  EXPECT_NE(again.at("errors")[1].get<std::string>().find("no job 999"), std::string::npos);
  EXPECT_THROW(kill(Json{{"ids", Json::array()}}), std::runtime_error);
  EXPECT_THROW(kill(Json{{"ids", Json::array({0})}}), qube::FormatError);
}

TEST_F(FarmTest, KillPendingJobWithoutInstances) {
  const JobId id = submit(make_spec("queued", 9999, "1-2"));
  const Json refused = kill(Json{{"ids", Json::array({id})}, {"user", "mallory"}});
  ASSERT_EQ(refused.at("errors").size(), 1u);
  EXPECT_EQ(refused.at("errors")[0], "job 1 belongs to alice: only alice or an admin may kill it");
  EXPECT_EQ(js(id).job.status, JobStatus::pending);
  kill(Json{{"ids", Json::array({id})}, {"user", "alice"}});
  EXPECT_EQ(js(id).job.status, JobStatus::killed);
  EXPECT_EQ(js(id).job.reason, "killed by alice");
  EXPECT_EQ(item(id, 0).status, WorkStatus::killed);
  EXPECT_EQ(item(id, 1).status, WorkStatus::killed);
  reg("w1", make_host("a", 2));
  EXPECT_TRUE(schedule().empty());
}

TEST_F(FarmTest, BlockingARunningItemStopsItsInstanceWhichTakesNoOtherItem) {
  const JobId id = start_first_item(make_spec("held", 9999, "1-3"));
  stored();
  const Json reply = qube::supervisor::to_json(farm.steer(
      qube::supervisor::SteerVerb::block,
      qube::supervisor::steering_from_json(Json{{"ids", Json::array({id})}, {"user", "alice"}, {"work", "1-2"}})));
  EXPECT_EQ(reply.at("blocked"), Json::array({Json{{"id", id}, {"items", 2}}})) << reply.dump();
  int kills = 0;
  for (const auto& o : drain()) kills += o.msg.type == proto::kKillInstance ? 1 : 0;
  EXPECT_EQ(kills, 1);
  EXPECT_EQ(item(id, 0).status, WorkStatus::blocked);
  EXPECT_EQ(item(id, 1).status, WorkStatus::blocked);
  EXPECT_EQ(item(id, 2).status, WorkStatus::pending);
  expect_counts_match(js(id));
  // Until its process is gone, the stopped instance gets no other item: the
  // kill would take that one down with it.
  EXPECT_TRUE(request("w1", id, 0).value("done", false));
  EXPECT_EQ(item(id, 2).status, WorkStatus::pending);
  done("w1", id, 0, "killed", "killed");
  EXPECT_EQ(js(id).job.status, JobStatus::pending);
  EXPECT_EQ(schedule().size(), 1u) << "item 3 runs on a new instance";
}

// ------------------------------------------------------------------ lost hosts

TEST_F(FarmTest, MissedHeartbeatsRequeueRunningWork) {
  const JobId id = submit(make_spec("hb", 9999, "1-2"));
  reg("w1", make_host("a", 1));
  ASSERT_EQ(schedule().size(), 1u);
  ASSERT_EQ(request("w1", id, 0).at("index"), 0);
  ASSERT_EQ(item(id, 0).attempts, 1u);

  // Within the timeout nothing happens.
  clock.advance(10);
  farm.check_heartbeats(30);
  EXPECT_EQ(farm.host_by_rid("w1")->host.state, qube::HostState::active);
  EXPECT_EQ(item(id, 0).status, WorkStatus::running);

  clock.advance(31);
  farm.check_heartbeats(30);
  const auto* h = farm.host_by_rid("w1");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->host.state, qube::HostState::down);
  EXPECT_EQ(h->host.slots_used, 0);
  EXPECT_TRUE(h->instances.empty());
  EXPECT_EQ(item(id, 0).status, WorkStatus::pending);
  EXPECT_EQ(item(id, 0).attempts, 1u);
  EXPECT_NE(item(id, 0).reason.find("heartbeat"), std::string::npos) << item(id, 0).reason;
  EXPECT_TRUE(js(id).pending.contains(0));
  EXPECT_EQ(instance(id, 0).status, JobStatus::failed);
  EXPECT_TRUE(js(id).running.empty());
  EXPECT_EQ(js(id).job.status, JobStatus::pending);
  EXPECT_TRUE(farm.schedule_needed());

  // The down host gets nothing and is told to register again.
  EXPECT_TRUE(schedule().empty());
  EXPECT_EQ(js(id).job.reason, "waiting for a worker that offers job type 'cmdline'");
  farm.on_heartbeat("w1", 42, false);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].msg.type, proto::kReregister);
  EXPECT_EQ(out[0].msg.id, 42u);
  // A late result from the lost instance is ignored.
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_EQ(item(id, 0).status, WorkStatus::pending);

  // Another host picks the item up again, as a second attempt.
  reg("w2", make_host("b", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].rid, "w2");
  EXPECT_EQ(starts[0].subid, 1);
  const Json w = request("w2", id, 1);
  EXPECT_EQ(w.at("index"), 0);
  EXPECT_EQ(w.at("attempt"), 2);
  EXPECT_EQ(item(id, 0).attempts, 2u);
  EXPECT_EQ(item(id, 0).host, "b");
}

TEST_F(FarmTest, HeartbeatKeepsHostAlive) {
  reg("w1", make_host("a", 1));
  drain();
  farm.on_heartbeat("w1", 4, false);
  EXPECT_TRUE(drain().empty()) << "a heartbeat is answered only when it asks";
  farm.on_heartbeat("w1", 5, true);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].msg.type, proto::kHeartbeatAck);
  EXPECT_EQ(out[0].msg.id, 5u);
  farm.on_heartbeat("stranger", 6, false);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].msg.type, proto::kReregister);
  EXPECT_EQ(out[0].routing_id, "stranger");
}

TEST_F(FarmTest, ReRegisteringTheSameHostRequeuesItsWork) {
  const JobId id = submit(make_spec("rereg", 9999, "1-2"));
  reg("w1", make_host("a", 1));
  {
    const auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].msg.type, proto::kRegistered);
    EXPECT_EQ(out[0].routing_id, "w1");
    EXPECT_EQ(out[0].msg.id, 1u);
    EXPECT_EQ(out[0].msg.body.at("client_endpoint"), "tcp://127.0.0.1:1");
  }
  ASSERT_EQ(schedule().size(), 1u);
  ASSERT_EQ(request("w1", id, 0).at("index"), 0);

  reg("w2", make_host("a", 1));  // the worker restarted: new connection, same name
  EXPECT_EQ(farm.host_by_rid("w1"), nullptr);
  ASSERT_NE(farm.host_by_rid("w2"), nullptr);
  EXPECT_EQ(farm.host_by_rid("w2")->host.slots_used, 0);
  EXPECT_EQ(item(id, 0).status, WorkStatus::pending);
  EXPECT_EQ(item(id, 0).attempts, 1u);
  EXPECT_EQ(instance(id, 0).status, JobStatus::failed);
  EXPECT_TRUE(js(id).running.empty());

  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].rid, "w2");
  EXPECT_EQ(starts[0].subid, 1);
  const Json w = request("w2", id, 1);
  ASSERT_EQ(w.at("index"), 0);
  ASSERT_EQ(w.at("attempt"), 2);

  result("w1", id, 0, 0, 1, "complete", 0);  // the old process, old connection
  result("w2", id, 0, 0, 1, "complete", 0);  // the old instance through the new one
  result("w2", id, 1, 0, 1, "complete", 0);  // the current instance, stale attempt
  EXPECT_EQ(item(id, 0).status, WorkStatus::running);
  EXPECT_FALSE(item(id, 0).exitcode.has_value());
  result("w2", id, 1, 0, 2, "complete", 0);
  EXPECT_EQ(item(id, 0).status, WorkStatus::complete);
  EXPECT_EQ(*item(id, 0).exitcode, 0);
}

TEST_F(FarmTest, RegisterRejectsBadFacts) {
  EXPECT_THROW(reg("w1", make_host("", 1)), qube::FormatError);
  EXPECT_THROW(reg("w1", make_host("a", -1)), qube::FormatError);
  EXPECT_EQ(farm.host_by_rid("w1"), nullptr);
}

// ------------------------------------------------------------------ restore

// A supervisor that stopped while an instance held its next item ahead stored
// two items running on it; the worker's report says which one it runs.
TEST_F(FarmTest, ARestartedSupervisorAdoptsWhicheverOfTwoStoredItemsTheInstanceRuns) {
  for (const std::int64_t runs : {1, 2}) {
    Job job;
    job.id = static_cast<JobId>(10 + runs);
    job.pgrp = job.id;
    job.spec = make_spec("held", 9999, "1-3", 1);
    job.status = JobStatus::running;
    job.agenda.resize(3);
    for (std::size_t i = 0; i < 3; ++i) job.agenda[i].name = std::to_string(i + 1);
    for (const std::size_t i : {1, 2}) {
      job.agenda[i].status = WorkStatus::running;
      job.agenda[i].attempts = job.agenda[i].attempt_id = 1;
      job.agenda[i].host = "a";
      job.agenda[i].subid = 0;
    }
    job.instances.push_back(stored_instance(0, JobStatus::running));
    farm.restore({job});
    proto::Register reg_message = proto::decode_register(qube::to_json(make_host("a", 1)));
    reg_message.running.push_back(proto::RunningReport{{job.id, 0}, runs, 1});
    farm.on_register("w" + std::to_string(runs), reg_message, "tcp://127.0.0.1:1", 1.0, 1);
    const std::size_t other = runs == 1 ? 2 : 1;
    EXPECT_EQ(js(job.id).running.at(0).item, static_cast<std::size_t>(runs));
    EXPECT_EQ(item(job.id, static_cast<std::size_t>(runs)).status, WorkStatus::running);
    EXPECT_EQ(item(job.id, other).status, WorkStatus::pending);
    EXPECT_EQ(js(job.id).job.status, JobStatus::running);
  }
}

TEST_F(FarmTest, RestorePutsRunningItemsBackToPending) {
  Job job;
  job.id = 7;
  job.pgrp = 7;
  job.spec = make_spec("restored", 9999, "1-3", 1);
  job.status = JobStatus::running;
  job.agenda.resize(3);
  job.agenda[0].name = "1";
  job.agenda[0].status = WorkStatus::complete;
  job.agenda[0].attempts = 1;
  job.agenda[0].attempt_id = 1;
  job.agenda[0].exitcode = 0;
  job.agenda[1].name = "2";
  job.agenda[1].status = WorkStatus::running;
  job.agenda[1].attempts = 2;
  job.agenda[1].attempt_id = 2;
  job.agenda[1].host = "a";
  job.agenda[1].subid = 0;
  job.agenda[2].name = "3";
  job.instances.push_back(stored_instance(0, JobStatus::running));

  Job done_job;
  done_job.id = 3;
  done_job.spec = make_spec("old", 9999, "1");
  done_job.status = JobStatus::complete;
  done_job.agenda.resize(1);
  done_job.agenda[0].name = "1";
  done_job.agenda[0].status = WorkStatus::complete;

  farm.restore({done_job, job});
  // Running until its worker reports it (adopted) or the grace period ends.
  EXPECT_EQ(item(7, 1).status, WorkStatus::running);
  clock.advance(31);
  farm.check_heartbeats(30);
  EXPECT_TRUE(farm.schedule_needed());
  EXPECT_EQ(js(7).job.status, JobStatus::pending);
  EXPECT_EQ(item(7, 0).status, WorkStatus::complete);
  EXPECT_EQ(item(7, 1).status, WorkStatus::pending);
  EXPECT_EQ(item(7, 1).attempts, 2u);
  EXPECT_NE(item(7, 1).reason.find("restarted"), std::string::npos);
  EXPECT_EQ(item(7, 2).status, WorkStatus::pending);
  EXPECT_EQ(std::vector<std::size_t>(js(7).pending.begin(), js(7).pending.end()), (std::vector<std::size_t>{1, 2}));
  EXPECT_TRUE(js(7).running.empty());
  EXPECT_EQ(instance(7, 0).status, JobStatus::failed);
  EXPECT_TRUE(instance(7, 0).timecomplete.has_value());
  EXPECT_TRUE(farm.effects().dirty_items.count({7, 1}));
  EXPECT_TRUE(farm.effects().dirty_instances.count({7, 0}));
  EXPECT_EQ(js(3).job.status, JobStatus::complete);

  // New jobs get ids after the restored ones.
  EXPECT_EQ(submit(make_spec("next", 9999, "1")), 8u);

  // The stale worker's late result for the old attempt does nothing.
  reg("w1", make_host("a", 1));
  result("w1", 7, 0, 1, 2, "complete", 0);
  EXPECT_EQ(item(7, 1).status, WorkStatus::pending);

  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].job, 7u);
  EXPECT_EQ(starts[0].subid, 1);
  const Json w = request("w1", 7, 1);
  EXPECT_EQ(w.at("index"), 1);
  EXPECT_EQ(w.at("attempt"), 3);
  result("w1", 7, 1, 1, 3, "complete", 0);
  EXPECT_EQ(request("w1", 7, 1).at("index"), 2);
  result("w1", 7, 1, 2, 1, "complete", 0);
  EXPECT_EQ(js(7).job.status, JobStatus::complete);
}

// Regression test for a bug found and fixed while this suite was written.
TEST_F(FarmTest, RestoreWithSubidGapStartsAFreshSubid) {
  Job job;
  job.id = 7;
  job.spec = make_spec("gap", 9999, "1-3", 1);
  job.status = JobStatus::running;
  job.agenda.resize(3);
  for (std::size_t i = 0; i < 3; ++i) job.agenda[i].name = std::to_string(i + 1);
  job.agenda[0].status = WorkStatus::complete;
  job.agenda[1].status = WorkStatus::complete;
  for (std::int32_t subid : {0, 2}) {
    job.instances.push_back(stored_instance(subid, JobStatus::complete));
  }
  farm.restore({job});
  reg("w1", make_host("a", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_NE(starts[0].subid, 0);
  EXPECT_NE(starts[0].subid, 2) << "subid 2 is already used by a restored instance";
}

// ------------------------------------------------------------------ ids and submission tokens

Json submit_with_token(Farm& f, const std::string& user, const std::string& token, int jobs = 1) {
  Json specs = Json::array();
  for (int n = 0; n < jobs; ++n) {
    JobSpec spec = make_spec("tok" + std::to_string(n));
    spec.user = user;
    specs.push_back(qube::to_json(spec));
  }
  Json body{{"jobs", specs}, {"user", user}};
  if (!token.empty()) body["token"] = token;
  return submit_wire(f, body);
}

// The summaries a `jobs` reply would carry, decoded.
Json listed(Farm& f, const Json& body) {
  Json out = Json::array();
  for (const std::string_view summary : f.list_jobs(body)) out.push_back(qube::decode(summary));
  return out;
}

std::vector<JobId> listed_ids(Farm& f, const Json& body) {
  std::vector<JobId> ids;
  for (const auto& j : listed(f, body)) ids.push_back(j.at("id").get<JobId>());
  return ids;
}

TEST_F(FarmTest, ASubmissionSentAgainWithItsTokenGetsTheJobsAlreadyMade) {
  const Json first = submit_with_token(farm, "alice", "abc", 2);
  EXPECT_EQ(first.at("ids"), Json::array({1, 2}));
  ASSERT_EQ(farm.effects().submissions.size(), 1u);
  EXPECT_EQ(farm.effects().submissions[0].ids, (std::vector<JobId>{1, 2}));
  stored();
  const Json again = submit_with_token(farm, "alice", "abc", 2);
  EXPECT_EQ(again, (Json{{"ids", {1, 2}}, {"warnings", Json::array()}})) << "the same reply shape, no new jobs";
  EXPECT_EQ(farm.job(3), nullptr);
  EXPECT_TRUE(farm.effects().submissions.empty()) << "nothing new to store";
  EXPECT_TRUE(farm.effects().dirty_jobs.empty());
  // A token belongs to its submitter: bob's "abc" is a submission of its own.
  EXPECT_EQ(submit_with_token(farm, "bob", "abc").at("ids"), Json::array({3}));
  EXPECT_EQ(submit_with_token(farm, "bob", "abc").at("ids"), Json::array({3}));
  // No token: every submission is new.
  EXPECT_EQ(submit_with_token(farm, "alice", "").at("ids"), Json::array({4}));
  EXPECT_EQ(submit_with_token(farm, "alice", "").at("ids"), Json::array({5}));
  // qb jobs --token lists every job made under the token.
  EXPECT_EQ(farm.jobs_of_token("abc"), (std::vector<JobId>{1, 2, 3}));
  EXPECT_EQ(listed_ids(farm, Json{{"token", "abc"}}), (std::vector<JobId>{1, 2, 3}));
  EXPECT_EQ(listed_ids(farm, Json{{"token", "abc"}, {"user", "alice"}}), (std::vector<JobId>{1, 2}));
  EXPECT_TRUE(listed_ids(farm, Json{{"token", "nope"}}).empty());
}

TEST_F(FarmTest, ATokenMustBePrintableWithoutSpaces) {
  for (const std::string& bad : std::vector<std::string>{"a b", "tab\t", std::string(129, 'x')})
    EXPECT_THROW(submit_with_token(farm, "alice", bad), std::runtime_error) << bad;
  EXPECT_EQ(farm.job(1), nullptr);
  EXPECT_EQ(submit_with_token(farm, "alice", std::string(128, 'x')).at("ids"), Json::array({1}));
}

TEST_F(FarmTest, IdsAndTokensSurviveARestartAndRemovedIdsAreNotReused) {
  // The store's high-water mark is 5, though jobs 3 to 5 were removed.
  Job kept;
  kept.id = 2;
  kept.pgrp = 1;
  kept.spec = make_spec("kept", 9999, "1");
  kept.agenda.resize(1);
  kept.agenda[0].name = "1";
  farm.restore({kept}, 5);
  farm.restore_submissions({{"alice", "abc", {1, 2}}, {"alice", "gone", {4}}});
  EXPECT_EQ(submit_with_token(farm, "alice", "abc").at("ids"), Json::array({2})) << "job 1 was removed";
  // Every job of "gone" was removed: the token makes new jobs, with fresh ids.
  EXPECT_EQ(submit_with_token(farm, "alice", "gone").at("ids"), Json::array({6}));
  EXPECT_EQ(submit_with_token(farm, "alice", "gone").at("ids"), Json::array({6}));
  EXPECT_EQ(submit(make_spec("next")), 7u);
}

// Subids and attempt ids: a subid comes from the job's instances, which are
// stored before the instance starts; an attempt is stale unless its instance is
// one this supervisor started. A late report from before a restart, even with
// the attempt number the item's next dispatch gets, never counts.
TEST_F(FarmTest, AReportFromBeforeARestartNeverMatchesANewAttempt) {
  Job job;
  job.id = 4;
  job.pgrp = 4;
  job.spec = make_spec("restarted", 9999, "1");
  job.status = JobStatus::running;
  job.agenda.resize(1);
  job.agenda[0].name = "1";
  job.agenda[0].status = WorkStatus::pending;  // its attempt 1 was sent, never stored
  Instance old;
  old.subid = 0;
  old.host = "a";
  old.status = JobStatus::running;
  job.instances.push_back(old);
  farm.restore({job}, 4);
  reg("w1", make_host("a", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].subid, 1) << "subid 0 was handed out before the restart";
  const Json w = request("w1", 4, 1);
  ASSERT_EQ(w.at("attempt"), 1);
  result("w1", 4, 0, 0, 1, "complete", 0);  // the old instance's late report
  EXPECT_EQ(item(4, 0).status, WorkStatus::running);
  result("w1", 4, 1, 0, 1, "complete", 0);
  EXPECT_EQ(item(4, 0).status, WorkStatus::complete);
}

// ------------------------------------------------------------------ agenda-less jobs

TEST_F(FarmTest, AgendaLessJobRunsExactlyCpusInstances) {
  const JobId id = submit(make_spec("cmd", 9999, "", 2));
  ASSERT_TRUE(js(id).job.agenda.empty());
  reg("w1", make_host("a", 4));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_TRUE(schedule().empty());

  for (std::int32_t subid : {0, 1}) {
    const Json w = request("w1", id, subid);
    EXPECT_EQ(w.at("index"), -1);
    EXPECT_EQ(w.at("item"), "");
    EXPECT_EQ(w.at("attempt"), 1);
    EXPECT_EQ(request("w1", id, subid).value("done", false), true);  // one run each
  }
  result("w1", id, 0, -1, 1, "complete", 0);
  done("w1", id, 0, "complete");
  EXPECT_EQ(instance(id, 0).status, JobStatus::complete);
  ASSERT_TRUE(instance(id, 0).exitcode.has_value());
  EXPECT_EQ(*instance(id, 0).exitcode, 0);
  EXPECT_EQ(js(id).job.status, JobStatus::running);
  EXPECT_TRUE(schedule().empty()) << "a finished run of an agenda-less job is not run again";

  result("w1", id, 1, -1, 1, "complete", 0);
  done("w1", id, 1, "complete");
  EXPECT_EQ(js(id).job.status, JobStatus::complete);
  EXPECT_EQ(js(id).job.instances.size(), 2u);
  EXPECT_EQ(farm.host_by_rid("w1")->host.slots_used, 0);
  EXPECT_TRUE(schedule().empty());
}

TEST_F(FarmTest, AgendaLessJobFailsIfOneRunFails) {
  const JobId id = submit(make_spec("cmd", 9999, "", 2));
  reg("w1", make_host("a", 2));
  ASSERT_EQ(schedule().size(), 2u);
  for (std::int32_t subid : {0, 1}) ASSERT_EQ(request("w1", id, subid).at("index"), -1);
  result("w1", id, 0, -1, 1, "failed", 4);
  done("w1", id, 0, "complete");  // the run's failure wins over the process's exit
  EXPECT_EQ(instance(id, 0).status, JobStatus::failed);
  EXPECT_EQ(*instance(id, 0).exitcode, 4);
  result("w1", id, 1, -1, 1, "complete", 0);
  done("w1", id, 1, "complete");
  EXPECT_EQ(js(id).job.status, JobStatus::failed);
}

// Regression test for a bug found and fixed while this suite was written.
TEST_F(FarmTest, AgendaLessJobOnALostHostRunsAgain) {
  const JobId id = submit(make_spec("cmd", 9999, "", 1));
  reg("w1", make_host("a", 1));
  ASSERT_EQ(schedule().size(), 1u);
  ASSERT_EQ(request("w1", id, 0).at("index"), -1);
  clock.advance(31);
  farm.check_heartbeats(30);
  EXPECT_EQ(instance(id, 0).status, JobStatus::failed);
  EXPECT_NE(qube::to_string(js(id).job.status), std::string("failed")) << "the job failed because its worker was lost";
  reg("w2", make_host("b", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u) << "the lost run is not started again";
  EXPECT_EQ(starts[0].rid, "w2");
}

// Regression test for a bug found and fixed while this suite was written.
TEST_F(FarmTest, RestoreOfRunningAgendaLessJobRunsItAgain) {
  Job job;
  job.id = 4;
  job.spec = make_spec("cmd", 9999, "", 1);
  job.status = JobStatus::running;
  job.instances.push_back(stored_instance(0, JobStatus::running));
  farm.restore({job});
  clock.advance(31);
  farm.check_heartbeats(30);  // its worker never reported it
  EXPECT_EQ(instance(4, 0).status, JobStatus::failed);
  EXPECT_EQ(qube::to_string(js(4).job.status), std::string("pending"));
  reg("w1", make_host("a", 1));
  EXPECT_EQ(schedule().size(), 1u) << "the interrupted run is not started again";
}

// ------------------------------------------------------------------ job types

TEST_F(FarmTest, JobTypeNobodyOffersWaitsWithAReason) {
  JobSpec s = make_spec("maya", 9999, "1-2");
  s.type = "mayabatch";
  s.package = {{"scene", "/shots/a.mb"}};
  const Json reply = submit_wire(farm, Json{{"jobs", Json::array({qube::to_json(s)})}});
  const JobId id = reply.at("ids").at(0).get<JobId>();
  ASSERT_EQ(reply.at("warnings").size(), 1u);
  EXPECT_NE(reply.at("warnings")[0].get<std::string>().find("mayabatch"), std::string::npos);

  reg("w1", make_host("a", 4, {"cmdline", "cmdrange"}));
  EXPECT_TRUE(schedule().empty());
  EXPECT_NE(js(id).job.reason.find("mayabatch"), std::string::npos) << js(id).job.reason;
  EXPECT_EQ(js(id).job.status, JobStatus::pending);

  reg("w2", make_host("b", 1, {"mayabatch"}));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].rid, "w2");
  EXPECT_EQ(js(id).job.reason, "");

  // A later submission of the same type draws no warning.
  const Json again = submit_wire(farm, Json{{"jobs", Json::array({qube::to_json(s)})}});
  EXPECT_TRUE(again.at("warnings").empty());
}

// Many jobs of a type nobody offers draw one warning, not one per job.
TEST_F(FarmTest, ManyJobsOfATypeNobodyOffersDrawOneWarningPerType) {
  JobSpec maya = make_spec("maya", 9999, "1");
  maya.type = "mayabatch";
  JobSpec nuke = maya;
  nuke.type = "nukebatch";
  const Json reply = submit_wire(
      farm, Json{{"jobs", Json::array({qube::to_json(maya), qube::to_json(nuke), qube::to_json(maya),
                                       qube::to_json(maya)})}});
  const auto ids = reply.at("ids").get<std::vector<JobId>>();
  ASSERT_EQ(ids.size(), 4u);
  ASSERT_EQ(reply.at("warnings").size(), 2u) << reply.dump();
  EXPECT_EQ(reply.at("warnings")[0], "jobs " + std::to_string(ids[0]) + " to " + std::to_string(ids[3]) +
                                         " (3 of them): no connected worker offers job type 'mayabatch' yet; "
                                         "they wait until one does");
  EXPECT_EQ(reply.at("warnings")[1], "job " + std::to_string(ids[1]) +
                                         ": no connected worker offers job type 'nukebatch' yet; it waits until "
                                         "one does");
}

// ------------------------------------------------------------------ validation

TEST_F(FarmTest, SubmitRejectsInvalidJobsNamingTheField) {
  auto message = [&](const Json& body) -> std::string {
    try {
      submit_wire(farm, body);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "(accepted)";
  };
  JobSpec s = make_spec("bad");
  s.priority = 0;
  std::string m = message(Json{{"jobs", Json::array({qube::to_json(s)})}});
  EXPECT_NE(m.find("priority"), std::string::npos) << m;
  EXPECT_NE(m.find("job 1"), std::string::npos) << m;

  s = make_spec("bad");
  s.cpus = 0;
  m = message(Json{{"jobs", Json::array({qube::to_json(s)})}});
  EXPECT_NE(m.find("cpus"), std::string::npos) << m;

  s = make_spec("bad");
  s.package = Json::object();
  m = message(Json{{"jobs", Json::array({qube::to_json(s)})}});
  EXPECT_NE(m.find("package"), std::string::npos) << m;

  s = make_spec("bad");
  s.range = "1-x";
  m = message(Json{{"jobs", Json::array({qube::to_json(s)})}});
  EXPECT_NE(m.find("range"), std::string::npos) << m;

  Json wrong = qube::to_json(make_spec("bad"));
  wrong["priority"] = "high";
  m = message(Json{{"jobs", Json::array({wrong})}});
  EXPECT_NE(m.find("priority"), std::string::npos) << m;

  m = message(Json{{"jobs", Json::array()}});
  EXPECT_NE(m, "(accepted)");
  m = message(Json{{"jobs", "x"}});
  EXPECT_NE(m.find("jobs"), std::string::npos) << m;

  // One bad job rejects the whole submission: the good one is not created.
  s = make_spec("bad");
  s.cpus = -3;
  m = message(Json{{"jobs", Json::array({qube::to_json(make_spec("good")), qube::to_json(s)})}});
  EXPECT_NE(m.find("job 2"), std::string::npos) << m;
  EXPECT_NE(m.find("cpus"), std::string::npos) << m;
  EXPECT_EQ(farm.job(1), nullptr);
  EXPECT_TRUE(farm.effects().dirty_jobs.empty());
  EXPECT_EQ(submit(make_spec("good")), 1u);
}

TEST_F(FarmTest, SubmitOfSeveralJobsSharesAProcessGroup) {
  const Json reply = submit_wire(farm, 
      Json{{"jobs", Json::array({qube::to_json(make_spec("a")), qube::to_json(make_spec("b"))})}});
  ASSERT_EQ(reply.at("ids"), Json::array({1, 2}));
  EXPECT_EQ(js(1).job.pgrp, 1u);
  EXPECT_EQ(js(2).job.pgrp, 1u);
  EXPECT_EQ(js(1).job.agenda.size(), 3u);
  EXPECT_TRUE(farm.effects().dirty_jobs.count(1));
  EXPECT_TRUE(farm.effects().dirty_items.count({2, 2}));
  JobSpec anon = make_spec("anon");
  anon.user.clear();
  EXPECT_EQ(js(submit(anon)).job.spec.user, "unknown");
}

// ------------------------------------------------------------------ startup failures

TEST_F(FarmTest, InstancesThatNeverAskForWorkFailTheJob) {
  const JobId id = submit(make_spec("broken", 9999, "1-5"));
  reg("w1", make_host("a", 1));
  for (int n = 0; n < qube::supervisor::kMaxStartupFailures; ++n) {
    const auto starts = schedule();
    ASSERT_EQ(starts.size(), 1u) << "start " << n;
    EXPECT_EQ(starts[0].subid, n);
    EXPECT_NE(js(id).job.status, JobStatus::failed) << "failed too early, after " << n;
    done("w1", id, starts[0].subid, "failed", "cannot load module");
    EXPECT_EQ(instance(id, n).status, JobStatus::failed);
  }
  EXPECT_EQ(js(id).job.status, JobStatus::failed);
  EXPECT_NE(js(id).job.reason.find("cannot load module"), std::string::npos) << js(id).job.reason;
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(item(id, i).status, WorkStatus::failed) << "item " << i;
    EXPECT_EQ(item(id, i).attempts, 0u) << "item " << i;
  }
  EXPECT_TRUE(js(id).pending.empty());
  EXPECT_TRUE(schedule().empty());
  EXPECT_EQ(farm.host_by_rid("w1")->host.slots_used, 0);
}

// Regression test for a bug found and fixed while this suite was written.
TEST_F(FarmTest, StartupFailureReasonSurvivesTheLastRunningItem) {
  const JobId id = submit(make_spec("mixed", 9999, "1-10", 4));
  reg("w1", make_host("a", 4));
  ASSERT_EQ(schedule().size(), 4u);
  ASSERT_EQ(request("w1", id, 0).at("index"), 0);
  for (std::int32_t subid : {1, 2, 3}) done("w1", id, subid, "failed", "cannot load module");
  EXPECT_NE(js(id).job.reason.find("instances fail to start"), std::string::npos) << js(id).job.reason;
  for (std::size_t i = 1; i < 10; ++i) EXPECT_EQ(item(id, i).status, WorkStatus::failed) << "item " << i;
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_EQ(qube::to_string(js(id).job.status), std::string("failed"));
  EXPECT_NE(js(id).job.reason.find("instances fail to start"), std::string::npos)
      << "reason after the last item ended: '" << js(id).job.reason << "'";
}

TEST_F(FarmTest, InstancesThatDidWorkDoNotCountAsStartupFailures) {
  const JobId id = submit(make_spec("flaky", 9999, "1-5"));
  reg("w1", make_host("a", 1));
  for (int n = 0; n < qube::supervisor::kMaxStartupFailures + 1; ++n) {
    const auto starts = schedule();
    ASSERT_EQ(starts.size(), 1u) << "start " << n;
    const Json w = request("w1", id, starts[0].subid);
    result("w1", id, starts[0].subid, w.at("index").get<std::int64_t>(), 1, "complete", 0);
    done("w1", id, starts[0].subid, "failed", "crashed after its item");
  }
  EXPECT_NE(js(id).job.status, JobStatus::failed);
  EXPECT_EQ(item(id, 0).status, WorkStatus::complete);
  EXPECT_EQ(item(id, 4).status, WorkStatus::pending);
}

// ------------------------------------------------------------------ kept summaries

// `jobs` replies reuse each job's encoded summary; one must never be stale, whether
// or not the server has stored the round's changes yet.
TEST_F(FarmTest, ListedSummariesFollowEveryChange) {
  const JobId id = submit(make_spec("listed", 9999, "1-2"));
  auto listed = [&] {
    const Json jobs = ::listed(farm, Json::object());
    EXPECT_EQ(jobs.size(), 1u);
    return jobs.at(0);
  };
  auto progress = [&](const char* key) { return listed().at("progress").at(key).get<int>(); };
  EXPECT_EQ(listed().at("status"), "pending");
  stored();
  EXPECT_EQ(listed().at("name"), "listed");  // kept now
  reg("w1", make_host("a", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  const Json w = request("w1", id, starts[0].subid);
  EXPECT_EQ(progress("running"), 1) << "changed before the server stored it";
  stored();
  EXPECT_EQ(progress("running"), 1);
  result("w1", id, starts[0].subid, w.at("index").get<std::int64_t>(), w.at("attempt").get<std::uint64_t>(),
         "complete", 0);
  EXPECT_EQ(progress("complete"), 1);
  stored();
  run_to_end("w1", id, starts[0].subid);
  EXPECT_EQ(listed().at("status"), "complete");
  EXPECT_EQ(progress("complete"), 2);
  EXPECT_THROW(farm.list_jobs(Json{{"ids", {id + 1}}}), std::runtime_error);
}

// A result rewrites its item's row; the job's row (spec and all) only when the
// job's own status moves. Its progress is counted from the items on load.
TEST_F(FarmTest, AResultWritesItsItemRowAndTheJobRowOnlyWhenTheJobChanges) {
  const JobId id = start_first_item(make_spec("rows", 9999, "1-2"));
  stored();
  result("w1", id, 0, 0, 1, "complete", 0);
  EXPECT_TRUE(farm.effects().dirty_items.count({id, 0}));
  EXPECT_FALSE(farm.effects().dirty_jobs.count(id)) << "still running: nothing of the job's own changed";
  EXPECT_TRUE(farm.effects().progressed_jobs.count(id)) << "its summary must still be redone";
  const Json w = request("w1", id, 0);
  EXPECT_FALSE(farm.effects().dirty_jobs.count(id)) << "an item handed out is the item's row";
  stored();
  result("w1", id, 0, w.at("index").get<std::int64_t>(), w.at("attempt").get<std::uint64_t>(), "complete", 0);
  EXPECT_EQ(js(id).job.status, JobStatus::complete);
  EXPECT_TRUE(farm.effects().dirty_jobs.count(id)) << "complete: its row must say so";
}

TEST_F(FarmTest, SummariesWarmedAheadFollowEveryChangeToo) {
  const JobId id = submit(make_spec("warmed", 9999, "1-2"));
  stored();
  EXPECT_TRUE(farm.summaries_to_warm());
  EXPECT_FALSE(farm.warm_summaries(1.0));
  EXPECT_FALSE(farm.summaries_to_warm());
  auto status = [&] { return ::listed(farm, Json::object()).at(0).at("status").get<std::string>(); };
  EXPECT_EQ(status(), "pending");
  // Changed but not yet stored: warming must not keep the summary of before.
  reg("w1", make_host("a", 1));
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  (void)request("w1", id, starts[0].subid);
  farm.warm_summaries(1.0);
  EXPECT_EQ(status(), "running");
  stored();
  EXPECT_TRUE(farm.summaries_to_warm()) << "a stored change leaves the summary to warm again";
  farm.warm_summaries(1.0);
  EXPECT_EQ(status(), "running");
}

// ------------------------------------------------------------------ farm settings

Json resource_totals(const Farm& f) {
  Json out = Json::object();
  const Json listed = f.list_resources();  // kept alive while its rows are read
  for (const auto& r : listed.at("resources")) out[r.at("name").get<std::string>()] = r.at("total");
  return out;
}

std::string host_state(const Farm& f, const std::string& rid) { return std::string(qube::to_string(f.host_by_rid(rid)->host.state)); }

TEST_F(FarmTest, AnAdminsLocksHostChangesAndResourceTotalsOutliveTheSupervisor) {
  qube::supervisor::FarmPolicy policy;
  policy.admins = {"bob"};
  policy.global_resources = {{"license.nuke", 1}};
  farm.set_policy(policy);
  reg("w1", make_host("a", 1));
  farm.effects().settings_changed = false;
  lock_wire(farm, Json{{"hosts", {"a"}}, {"user", "bob"}}, true);
  EXPECT_TRUE(farm.effects().settings_changed) << "a lock must be stored";
  host_set_wire(farm, Json{{"host", "a"}, {"user", "bob"}, {"set", {{"groups", Json::array({"fx"})}}}});
  resource_set_wire(farm, Json{{"name", "license.nuke"}, {"total", 3}, {"user", "bob"}});
  resource_set_wire(farm, Json{{"name", "license.new"}, {"total", 2}, {"user", "bob"}});
  const Json stored = farm.farm_settings();

  // The same config: everything the admin said stands, for a host not yet back too.
  Farm again;
  again.set_policy(policy);
  again.restore_farm_settings(stored);
  EXPECT_EQ(resource_totals(again), (Json{{"license.new", 2}, {"license.nuke", 3}}));
  again.on_register("w1", proto::decode_register(qube::to_json(make_host("a", 1))), "tcp://127.0.0.1:1", 1.0, 1);
  EXPECT_EQ(host_state(again, "w1"), "locked");
  EXPECT_EQ(again.host_by_rid("w1")->facts.groups, std::vector<std::string>{"fx"});

  // A config edited since qb resource set: the edit is the newer word.
  Farm edited;
  policy.global_resources = {{"license.nuke", 5}};
  edited.set_policy(policy);
  edited.restore_farm_settings(stored);
  EXPECT_EQ(resource_totals(edited), (Json{{"license.new", 2}, {"license.nuke", 5}}));

  // A damaged entry is dropped alone.
  Farm damaged;
  damaged.set_policy(policy);
  damaged.restore_farm_settings(Json{{"hosts", {{"a", {{"locked", "yes"}}}, {"b", {{"locked", true}}}}},
                                     {"resources", {{"license.bad", {{"total", -4}}}}}});
  EXPECT_EQ(resource_totals(damaged), (Json{{"license.nuke", 5}}));
  damaged.on_register("w2", proto::decode_register(qube::to_json(make_host("b", 1))), "tcp://127.0.0.1:1", 1.0, 1);
  EXPECT_EQ(host_state(damaged, "w2"), "locked");
}

// ------------------------------------------------------------------ time, on a fake clock

using qube::supervisor::FarmPolicy;

TEST_F(FarmTest, RetryDelayHoldsAFailedItemUntilItsTimeComes) {
  JobSpec spec = make_spec("retry-later", 9999, "1-2");
  spec.retrywork = 1;
  spec.retryworkdelay = 60;
  const JobId id = start_first_item(spec);
  result("w1", id, 0, 0, 1, "failed", 3);
  EXPECT_EQ(item(id, 0).status, WorkStatus::retrying);
  clock.advance(59);
  farm.release_due_retries();
  EXPECT_EQ(item(id, 0).status, WorkStatus::retrying) << "released before its delay passed";
  clock.advance(2);
  farm.release_due_retries();
  EXPECT_EQ(item(id, 0).status, WorkStatus::pending);
  EXPECT_TRUE(js(id).pending.contains(0));
}

TEST_F(FarmTest, ItemTimeLimitKillsTheInstanceWithItsItem) {
  JobSpec spec = make_spec("slow-frame", 9999, "1-2");
  spec.agendatimelimit = 30;
  const JobId id = start_first_item(spec);
  clock.advance(29);
  farm.check_time_limits();
  EXPECT_EQ(item(id, 0).status, WorkStatus::running);
  EXPECT_TRUE(drain().empty());
  clock.advance(2);
  farm.check_time_limits();
  EXPECT_EQ(item(id, 0).status, WorkStatus::failed);
  EXPECT_NE(item(id, 0).reason.find("item time limit of 30 s"), std::string::npos) << item(id, 0).reason;
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].msg.type, proto::kKillInstance);
}

TEST_F(FarmTest, JobTimeLimitFailsTheWholeJob) {
  JobSpec spec = make_spec("slow-job", 9999, "1-3");
  spec.timelimit = 100;
  const JobId id = start_first_item(spec);
  clock.advance(100);
  farm.check_time_limits();
  EXPECT_EQ(js(id).job.status, JobStatus::running);
  clock.advance(1);
  farm.check_time_limits();
  EXPECT_EQ(item(id, 0).status, WorkStatus::failed);
  EXPECT_EQ(item(id, 1).status, WorkStatus::failed) << "pending items fail with the job";
  EXPECT_NE(js(id).job.reason.find("job's time limit of 100 s"), std::string::npos) << js(id).job.reason;
}

// Fair share remembers recent use and forgets old use (FarmTest::alice_yields).
TEST_F(FarmTest, FairShareForgetsOldUseWithItsHalfLife) {
  EXPECT_FALSE(alice_yields(60)) << "1,000 s later, 100 s of use at a 60 s half-life is forgotten";
}

TEST_F(FarmTest, FairShareRemembersUseWithinItsHalfLife) {
  EXPECT_TRUE(alice_yields(1e9)) << "with a long half-life, alice's 100 s of use still counts";
}

// An admin's submission for someone else names both in the history: the owner
// alone would hide who really submitted it.
TEST_F(FarmTest, ASubmissionOnSomeonesBehalfRecordsBothNames) {
  qube::supervisor::FarmPolicy policy;
  policy.admins = {"root"};
  farm.set_policy(policy);
  JobSpec spec = make_spec("for-alice", 10, "1-2", 1);
  spec.user = "alice";
  const Json reply = submit_wire(farm, Json{{"jobs", Json::array({qube::to_json(spec)})}, {"user", "root"}});
  const JobId id = reply.at("ids").at(0).get<JobId>();
  EXPECT_EQ(js(id).job.spec.user, "alice");
  const auto& events = farm.effects().events;
  const auto submitted = std::find_if(events.begin(), events.end(), [&](const auto& e) { return e.name == "submit"; });
  ASSERT_NE(submitted, events.end());
  EXPECT_EQ(submitted->text, "submitted by root for alice");
  EXPECT_EQ(submitted->who, "root");

  // Alice's own submission reads as before.
  spec.name = "by-alice";
  const JobId own = submit_wire(farm, Json{{"jobs", Json::array({qube::to_json(spec)})}, {"user", "alice"}})
                        .at("ids").at(0).get<JobId>();
  const auto mine = std::find_if(events.begin(), events.end(),
                                 [&](const auto& e) { return e.name == "submit" && e.job == own; });
  ASSERT_NE(mine, events.end());
  EXPECT_EQ(mine->text, "submitted by alice");
}

// Bad hosts (farm_bad_hosts.cpp): a host that fails a job's items in a row is
// excluded from it while another host can run it; a success there starts the
// count over.
TEST_F(FarmTest, AHostFailingItemsInARowIsExcludedWhileAnotherCanRunTheJob) {
  const JobId id = flaky_job_on_two_hosts();
  const auto starts = schedule();
  ASSERT_EQ(starts.size(), 1u);
  ASSERT_EQ(starts[0].rid, "r1");
  auto run_one = [&](const std::string& status) {
    const Json w = request("r1", id, 0);
    ASSERT_FALSE(w.value("done", false)) << w.dump();
    result("r1", id, 0, w.at("index").get<std::int64_t>(), w.at("attempt").get<std::uint64_t>(), status,
           status == "complete" ? 0 : 1);
  };
  run_one("failed");
  run_one("failed");
  run_one("complete");  // the count starts over
  run_one("failed");
  run_one("failed");
  EXPECT_TRUE(js(id).job.excluded_hosts.empty());
  run_one("failed");
  ASSERT_EQ(js(id).job.excluded_hosts.size(), 1u);
  EXPECT_EQ(js(id).job.excluded_hosts[0].host, "a");
  EXPECT_EQ(js(id).job.excluded_hosts[0].reason, "3 items failed in a row");
  // Its instance there takes no new item, and the next one starts on b.
  EXPECT_TRUE(request("r1", id, 0).value("done", false));
  done("r1", id, 0, "complete");
  const auto next = schedule();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].rid, "r2");
}

TEST_F(FarmTest, TheOnlyHostThatCanRunAJobIsNotExcluded) {
  EXPECT_FALSE(five_failures_on_a_exclude_it(1, 3)) << "excluded, it would wait for ever instead of failing";
}

TEST_F(FarmTest, BadHostThresholdZeroTurnsExclusionOff) { EXPECT_FALSE(five_failures_on_a_exclude_it(2, 0)); }

// Suspect hosts: enough jobs excluding one host mark it (and lock it, if the
// policy says so); the mark is stored with the admin's settings; an admin's
// unlock clears it.
TEST_F(FarmTest, AHostSeveralJobsExcludeIsSuspectUntilAnAdminUnlocksIt) {
  qube::supervisor::FarmPolicy policy;
  policy.admins = {"root"};
  policy.wrangling.suspect_host_jobs = 2;
  policy.wrangling.suspect_host_lock = true;
  farm.set_policy(policy);
  reg("r1", make_host("a", 1));
  reg("r2", make_host("b", 1));
  auto exclude_a = [&](const std::string& name) {
    // Three items, no retries: the job ends with them, and leaves b free.
    const JobId id = submit(make_spec(name, 10, "1-3", 1));
    const auto starts = schedule();
    ASSERT_EQ(starts.size(), 1u);
    ASSERT_EQ(starts[0].rid, "r1");
    fail_items("r1", id, starts[0].subid, 3);
    EXPECT_TRUE(js(id).bad_host("a"));
    done("r1", id, starts[0].subid, "complete");
  };
  auto host_a = [&] { return farm.list_hosts().at("hosts").at(0); };
  exclude_a("first");
  EXPECT_FALSE(host_a().at("suspect").get<bool>());
  exclude_a("second");
  EXPECT_TRUE(host_a().at("suspect").get<bool>()) << host_a().dump();
  EXPECT_EQ(host_a().at("state"), "locked");
  EXPECT_EQ(farm.farm_settings().at("hosts").at("a").at("suspect"), "2 jobs excluded it as a bad host within 3600 s");

  lock_wire(farm, Json{{"hosts", {"a"}}, {"user", "root"}}, false);
  EXPECT_FALSE(host_a().at("suspect").get<bool>());
  EXPECT_EQ(host_a().at("state"), "active");
}

// ------------------------------------------------------------------ submissions decoded apart

// A big submission's bytes decoded on a thread of their own answer as the loop
// would: the same error for a bad body, and the same owner for its jobs.
TEST(SubmissionsDecodedApart, AnswerAsTheLoopWould) {
  const auto built = [](const Json& body, const std::string& holder) {
    return qube::supervisor::decode_and_build_apart(qube::encode(body), holder).get();
  };
  EXPECT_NE(qube::supervisor::decode_and_build_apart("\xc1", "").get().error, "") << "not MessagePack";
  EXPECT_NE(built(Json::array({1}), "").error, "") << "not a map";

  JobSpec bad = make_spec("bad");
  Json bad_job = qube::to_json(bad);
  bad_job["cpus"] = "two";
  const Json bad_body{{"jobs", Json::array({qube::to_json(make_spec("good")), bad_job})}, {"user", "bob"}};
  std::string expected;
  try {
    (void)qube::supervisor::submission_from_json(bad_body);
  } catch (const std::exception& e) {
    expected = e.what();
  }
  ASSERT_NE(expected, "");
  EXPECT_EQ(built(bad_body, "").error, expected);

  JobSpec bobs = make_spec("claimed", qube::kDefaultPriority, "1-4");
  bobs.user = "bob";
  const Json body{{"jobs", Json::array({qube::to_json(bobs)})}, {"user", "bob"}};
  const auto keyed = built(body, "alice");  // with keys: the key's holder, whatever is claimed
  ASSERT_EQ(keyed.error, "");
  EXPECT_EQ(keyed.who, "alice");
  EXPECT_EQ(keyed.submission.submitter, "alice");
  ASSERT_EQ(keyed.submission.jobs.size(), 1u);
  EXPECT_EQ(keyed.submission.jobs[0].spec.user, "alice");
  ASSERT_EQ(keyed.submission.agendas.size(), 1u);
  ASSERT_TRUE(keyed.submission.agendas[0].has_value());
  EXPECT_EQ(keyed.submission.agendas[0]->size(), 4u) << "built there too";
  const auto claimed = built(body, "");  // without keys: the claim
  EXPECT_EQ(claimed.who, "bob");
  EXPECT_EQ(claimed.submission.jobs[0].spec.user, "bob");
}

}  // namespace
