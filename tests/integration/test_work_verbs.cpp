// Qube!'s work verbs on a real farm: qb block, unblock and kill of single items
// (--work RANGE) and the status the job is left in; the Qube callback language's
// work, subjob, preempt/migrate and mail-status codes; and triggers that name
// another job by id or by label.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class WorkVerbs : public FarmTest {
 protected:
  static std::string id_text(std::uint64_t id) { return std::to_string(id); }

  std::string item_status(std::uint64_t job, const std::string& name) {
    const Json j = show(job);
    for (const auto& item : j.at("agenda"))
      if (item.value("name", "") == name) return item.value("status", "");
    return "no item " + name;
  }

  int item_attempts(std::uint64_t job, const std::string& name) {
    const Json j = show(job);
    for (const auto& item : j.at("agenda"))
      if (item.value("name", "") == name) return item.value("attempts", 0);
    return -1;
  }

  Json history(std::uint64_t id) { return Json::parse(run({"qb", "history", id_text(id), "--json"}).out); }

  bool history_has(std::uint64_t id, const std::string& needle) {
    for (const auto& e : history(id))
      if (e.value("text", "").find(needle) != std::string::npos) return true;
    return false;
  }

  // qb VERB ARGS... --json, expecting exit `code`; the reply.
  Json verb_json(std::vector<std::string> args, int code = 0) {
    args.insert(args.begin(), "qb");
    args.push_back("--json");
    const RunResult r = run(args);
    EXPECT_EQ(r.code, code) << r.describe();
    return r.out.empty() ? Json() : Json::parse(r.out);
  }

  // A frame's pid once it runs (each frame writes $$ to PREFIX.FRAME).
  pid_t frame_pid(const std::string& prefix, const std::string& frame) {
    std::optional<pid_t> pid;
    EXPECT_TRUE(wait_until([&] { return (pid = read_pid(path(prefix + "." + frame))).has_value(); }))
        << "frame " << frame << " did not start";
    if (pid) track_pid(*pid);
    return pid.value_or(-1);
  }

  // A command that writes its pid to PREFIX.FRAME and sleeps.
  std::vector<std::string> sleeper(const std::string& prefix) {
    return {"sh", "-c", "echo $$ > " + path(prefix) + ".QB_FRAME_NUMBER.tmp && mv " + path(prefix) +
                            ".QB_FRAME_NUMBER.tmp " + path(prefix) + ".QB_FRAME_NUMBER; exec sleep 300"};
  }

  // --callback TRIGGERS:qube:CODE
  static std::vector<std::string> qube_callback(const std::string& triggers, const std::string& code) {
    return {"--callback", triggers + ":qube:" + code};
  }

  static std::vector<std::string> join(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
};

TEST_F(WorkVerbs, BlockUnblockAndKillItemsByWork) {
  start_supervisor();
  start_worker("w1", 1);
  const auto job = submit(join({"--range", "1-4"}, sleeper("p")));
  const pid_t first = frame_pid("p", "1");

  // Held items leave the pending set; the running one goes on.
  const Json blocked = verb_json({"block", id_text(job), "--work", "2-3"});
  EXPECT_EQ(blocked.at("blocked"), Json::array({Json{{"id", job}, {"items", 2}}})) << blocked.dump();
  EXPECT_EQ(blocked.at("errors"), Json::array()) << blocked.dump();
  EXPECT_EQ(item_status(job, "2"), "blocked");
  EXPECT_EQ(item_status(job, "3"), "blocked");
  EXPECT_EQ(item_status(job, "1"), "running");
  EXPECT_TRUE(history_has(job, "item 2 blocked by "));

  // Killing the running item stops its process; the next pending item runs.
  const Json killed = verb_json({"kill", id_text(job), "--work", "1"});
  EXPECT_EQ(killed.at("killed").at(0).at("items"), 1) << killed.dump();
  EXPECT_TRUE(wait_until([&] { return !process_alive(first); }, 10s)) << "the killed item still runs";
  EXPECT_EQ(item_status(job, "1"), "killed");
  const pid_t fourth = frame_pid("p", "4");
  EXPECT_TRUE(process_alive(fourth));
  verb_json({"kill", id_text(job), "--work", "4"});
  EXPECT_TRUE(wait_until([&] { return !process_alive(fourth); }, 10s));

  // Only held items remain: the job is pending (nothing runs), not running, and says why.
  ASSERT_TRUE(wait_until([&] {
    const Json j = show(job);
    return j.value("status", "") == "pending" && j.value("reason", "").find("blocked") != std::string::npos;
  }, 10s)) << show(job).dump(1);
  EXPECT_EQ(item_status(job, "2"), "blocked");

  // Nothing to unblock there, and a range that does not parse: clear errors.
  const Json none = verb_json({"unblock", id_text(job), "--work", "1"}, 1);
  ASSERT_EQ(none.at("errors").size(), 1u) << none.dump();
  EXPECT_NE(none.at("errors")[0].get<std::string>().find("no blocked items in 1"), std::string::npos) << none.dump();
  // A range that does not parse is a usage error, found before anything is asked.
  for (const std::vector<std::string>& argv : {std::vector<std::string>{"qb", "kill", id_text(job), "--work", "two"},
                                               {"qb", "block", id_text(job) + ":1-x"},
                                               {"qb", "show", id_text(job), "--work", "x-y"}}) {
    const RunResult bad = run(argv);
    EXPECT_EQ(bad.code, 2) << bad.describe();
    EXPECT_TRUE(contains(bad.err, "--work")) << bad.describe();
  }

  const RunResult two_ranges = run({"qb", "block", id_text(job) + ":2", id_text(job) + ":3"});
  EXPECT_EQ(two_ranges.code, 2) << two_ranges.describe();
  const RunResult not_items = run({"qb", "suspend", id_text(job) + ":2"});
  EXPECT_EQ(not_items.code, 2) << not_items.describe();

  // Released (Qube!'s qbunblockwork JOB:RANGE), item 2 runs; blocked while it
  // runs, it stops and is held again.
  const RunResult qube_form = run({"qbunblockwork", id_text(job) + ":2", "--json"});
  ASSERT_EQ(qube_form.code, 0) << qube_form.describe();
  const Json unblocked = Json::parse(qube_form.out);
  EXPECT_EQ(unblocked.at("unblocked").at(0).at("items"), 1) << unblocked.dump();
  const pid_t second = frame_pid("p", "2");
  verb_json({"block", id_text(job), "--work", "2"});
  EXPECT_TRUE(wait_until([&] { return !process_alive(second); }, 10s)) << "the held item still runs";
  EXPECT_EQ(item_status(job, "2"), "blocked");

  // Killed items end the job as failed ones do.
  verb_json({"kill", id_text(job), "--work", "2-3"});
  EXPECT_EQ(wait_terminal(job), "failed");
  EXPECT_EQ(item_status(job, "3"), "killed");
}

TEST_F(WorkVerbs, CallbackWorkCodesActOnEveryItemOrOnTheEventsItem) {
  start_supervisor();
  start_worker("w1", 2);
  // On a job event, a work code acts on every item it applies to.
  const auto held = submit(join(join({"--range", "1-3"}, qube_callback("submit-job-self", "block-work-self")), {"true"}));
  const auto killed = submit(join(join({"--range", "1-2"}, qube_callback("submit-job-self", "kill-work-self")), {"true"}));
  const auto failed = submit(join(join({"--range", "1-2", "--retrywork", "3"}, qube_callback("submit-job-self", "fail-work-self")),
                                  {"true"}));
  EXPECT_EQ(wait_terminal(killed), "failed");
  EXPECT_EQ(item_status(killed, "2"), "killed");
  EXPECT_EQ(wait_terminal(failed), "failed");
  EXPECT_EQ(item_attempts(failed, "1"), 0) << "a callback's fail is final: no retry";
  ASSERT_TRUE(wait_until([&] { return show(held).value("status", "") == "pending"; }));
  EXPECT_EQ(item_status(held, "1"), "blocked");
  EXPECT_TRUE(show(held).at("instances").empty());

  // unblock-work on another job's event (named by id) releases every held item.
  const auto gate = submit({"--status", "blocked", "true"});
  const auto released = submit(join(join(join({"--range", "1-2"}, qube_callback("submit-job-self", "block-work-self")),
                                          qube_callback("complete-job-" + id_text(gate), "unblock-work-self")),
                                     {"true"}));
  ASSERT_TRUE(wait_until([&] { return item_status(released, "2") == "blocked"; }));
  EXPECT_EQ(run({"qb", "unblock", id_text(gate)}).code, 0);
  EXPECT_EQ(wait_terminal(released), "complete");

  // On a work event, the event's item: item 1 fails and is requeued (the job held).
  const auto requeued = submit(join(join({"--range", "1-2"}, qube_callback("failed-work-self-1", "requeue-work-self")),
                                    {"sh", "-c", "test QB_FRAME_NUMBER -ne 1"}));
  ASSERT_TRUE(wait_until([&] { return show(requeued).value("status", "") == "blocked"; })) << show(requeued).dump(1);
  EXPECT_EQ(item_status(requeued, "1"), "pending");
  EXPECT_TRUE(history_has(requeued, "item 1 requeued by "));
  EXPECT_FALSE(history_has(requeued, "item 2 requeued by ")) << "only the event's item";
  run({"qb", "kill", id_text(requeued)});
  run({"qb", "kill", id_text(held)});
}

TEST_F(WorkVerbs, SubjobAndMigrateCodesStopTheRunningInstance) {
  start_supervisor();
  start_worker("w1", 2);  // one slot for the job, one for the gates
  const auto interrupt_gate = submit({"--status", "blocked", "true"});
  const auto kill_gate = submit({"--status", "blocked", "true"});
  const auto migrate_gate = submit({"--status", "blocked", "true"});
  // One job, three codes on other jobs' events: each acts on its running instance.
  std::vector<std::string> args{"--range", "1-2"};
  args = join(args, qube_callback("complete-job-" + id_text(interrupt_gate), "interrupt-subjob-self"));
  args = join(args, qube_callback("complete-job-" + id_text(kill_gate), "kill-subjob-self"));
  args = join(args, qube_callback("complete-job-" + id_text(migrate_gate), "migrate-self"));
  const auto job = submit(join(args, sleeper("p")));
  const pid_t first = frame_pid("p", "1");
  std::filesystem::remove(path("p.1"));

  // interrupt-subjob: the instance is stopped, its item runs again (not a failure).
  EXPECT_EQ(run({"qb", "unblock", id_text(interrupt_gate)}).code, 0);
  EXPECT_TRUE(wait_until([&] { return !process_alive(first); }, 10s));
  const pid_t again = frame_pid("p", "1");
  EXPECT_NE(again, first);
  EXPECT_EQ(item_attempts(job, "1"), 2);
  std::filesystem::remove(path("p.1"));

  // migrate-self: the job's running work goes back to pending and runs again.
  EXPECT_EQ(run({"qb", "unblock", id_text(migrate_gate)}).code, 0);
  EXPECT_TRUE(wait_until([&] { return !process_alive(again); }, 10s));
  const pid_t third = frame_pid("p", "1");
  EXPECT_EQ(item_attempts(job, "1"), 3);
  EXPECT_TRUE(history_has(job, "interrupted by"));

  // kill-subjob: the instance and its item are killed; the next item runs.
  EXPECT_EQ(run({"qb", "unblock", id_text(kill_gate)}).code, 0);
  EXPECT_TRUE(wait_until([&] { return !process_alive(third); }, 10s));
  EXPECT_TRUE(wait_until([&] { return item_status(job, "1") == "killed"; }, 10s));
  const pid_t second = frame_pid("p", "2");
  EXPECT_TRUE(process_alive(second));
  run({"qb", "kill", id_text(job)});
}

TEST_F(WorkVerbs, RetrySubjobRunsTheInstancesFailedItemAgain) {
  start_supervisor();
  start_worker("w1", 1);
  // The frame fails the first time (it leaves a mark), then succeeds.
  const std::string mark = path("mark");
  const auto job = submit(join(qube_callback("failed-work-self-*", "retry-subjob-self"),
                               {"--range", "1", "sh", "-c", "test -e " + mark + " || { touch " + mark + "; exit 3; }"}));
  // The job ends failed for a moment, until the callback of that failure reruns it.
  EXPECT_TRUE(wait_until([&] { return show(job).value("status", "") == "complete"; })) << show(job).dump(1);
  EXPECT_EQ(item_attempts(job, "1"), 2);
}

TEST_F(WorkVerbs, MailStatusWithoutAnAddressSaysSo) {
  start_supervisor();
  start_worker("w1", 1);
  const auto quiet = submit(join(qube_callback("complete-job-self", "mail-status"), {"true"}));
  EXPECT_EQ(wait_terminal(quiet), "complete");
  ASSERT_TRUE(wait_until([&] { return history_has(quiet, "has no mail address"); }, 10s)) << history(quiet).dump(1);
  // With an address it goes to the mail runner (here without a relay: it says so).
  const auto mailed = submit(join(join(qube_callback("complete-job-self", "mail-status"), {"--mail", "a@example.com"}),
                                  {"true"}));
  EXPECT_EQ(wait_terminal(mailed), "complete");
  ASSERT_TRUE(wait_until([&] { return history_has(mailed, "no smtp_server"); }, 10s)) << history(mailed).dump(1);
}

TEST_F(WorkVerbs, TriggersNameAnotherJobByIdOrByLabel) {
  start_supervisor();
  start_worker("w1", 1);
  // By id: a blocked job carries complete-job-<id> with unblock-self.
  const auto first = submit({"--status", "blocked", "true"});
  const auto by_id = submit(join(join({"--status", "blocked"}, qube_callback("complete-job-" + id_text(first), "unblock-self")),
                                 {"true"}));
  // By label, within one submission (one process group).
  {
    std::ofstream(path("jobs.yaml")) << R"(jobs:
  - {name: gate, label: gate, blocked: true, package: {cmdline: "true"}}
  - name: waiter
    blocked: true
    package: {cmdline: "true"}
    callbacks: [{triggers: complete-job-gate, language: qube, code: unblock-self}]
)";
  }
  const RunResult file = run({"qbsub", "--file", path("jobs.yaml")});
  ASSERT_EQ(file.code, 0) << file.describe();
  std::istringstream in(file.out);
  std::uint64_t gate = 0, waiter = 0;
  in >> gate >> waiter;
  ASSERT_NE(waiter, 0u) << file.out;

  EXPECT_EQ(show(by_id).value("status", ""), "blocked");
  EXPECT_EQ(show(waiter).value("status", ""), "blocked");
  EXPECT_EQ(run({"qb", "unblock", id_text(first), id_text(gate)}).code, 0);
  EXPECT_EQ(wait_terminal(by_id), "complete");
  EXPECT_EQ(wait_terminal(waiter), "complete");
}

}  // namespace
}  // namespace qube_it
