// Pipelines on a real farm: job files with layer-on-layer and frame-by-frame
// dependencies, HQueue job specs with children, callbacks of every language
// (mail to a local SMTP sink), slow callbacks, and what is refused at submission.
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

extern char** environ;

namespace qube_it {
namespace {

class Pipelines : public FarmTest {
 protected:
  static std::string id_text(std::uint64_t id) { return std::to_string(id); }

  void write(const std::string& name, const std::string& text) { std::ofstream(path(name)) << text; }

  // qbsub --file FILE: the ids printed, one per job.
  std::vector<std::uint64_t> submit_file(const std::string& file) {
    const RunResult r = run({"qbsub", "--file", path(file)});
    EXPECT_EQ(r.code, 0) << r.describe();
    std::vector<std::uint64_t> ids;
    std::istringstream in(r.out);
    for (std::uint64_t id; in >> id;) ids.push_back(id);
    return ids;
  }

  Json history(std::uint64_t id) { return Json::parse(run({"qb", "history", id_text(id), "--json"}).out); }

  // History lines of callbacks that finished (a script's outcome).
  static int count_text(const Json& events, const std::string& needle) {
    int n = 0;
    for (const auto& e : events) n += e.value("text", "").find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

  static double item_time(const Json& job, const std::string& item, const char* key) {
    for (const auto& i : job.at("agenda"))
      if (i.value("name", "") == item) return i.at(key).get<double>();
    ADD_FAILURE() << "no item " << item;
    return 0;
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  static bool port_open(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

  // A local SMTP sink (Debian's python3-aiosmtpd) printing each message to a file.
  int start_smtp_sink(const std::string& out_file) {
    const int port = free_port();
    const std::string cmd = "PYTHONUNBUFFERED=1 exec /usr/bin/python3 -m aiosmtpd -n -c aiosmtpd.handlers.Debugging -l 127.0.0.1:" +
                            std::to_string(port) + " > " + out_file + " 2>&1";
    pid_t pid = -1;
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
    track_pid(pid);
    EXPECT_TRUE(wait_until([&] { return port_open(port); }, 20s)) << "SMTP sink did not start: " << read_file(out_file);
    return port;
  }
};

TEST_F(Pipelines, ThreeLayerPipelineRespectsLayerAndFrameDependencies) {
  start_supervisor();
  start_worker("w1", 3);
  // prep -> render (waits for all of prep) -> comp (frame by frame on render).
  write("shot.yaml", R"(name: shot
jobs:
  - {name: prep, label: prep, range: "1", package: {cmdline: "sleep 0.3"}}
  - {name: render, label: render, range: "1-6", dependency: link-complete-job-prep,
     package: {cmdline: "sleep 0.25"}}
  - {name: comp, label: comp, range: "1-6", cpus: 2, dependency: link-complete-work-render,
     package: {cmdline: "sleep 0.05"}}
)");
  const auto ids = submit_file("shot.yaml");
  ASSERT_EQ(ids.size(), 3u);
  const auto prep = ids[0], render = ids[1], comp = ids[2];
  // While prep runs, render waits and says why.
  const Json waiting = show(render);
  if (waiting.value("status", "") == "waiting") {
    EXPECT_NE(waiting.value("reason", "").find("waiting for job " + id_text(prep)), std::string::npos) << waiting.dump();
  }
  for (auto id : ids) ASSERT_EQ(wait_terminal(id), "complete") << id;
  const Json p = show(prep), r = show(render), c = show(comp);
  EXPECT_EQ(p.value("pgrp", 0), r.value("pgrp", 1));
  const double prep_end = item_time(p, "1", "timecomplete");
  for (int f = 1; f <= 6; ++f) {
    const std::string frame = std::to_string(f);
    EXPECT_GE(item_time(r, frame, "timestart"), prep_end) << "render frame " << f << " started before prep ended";
    EXPECT_GE(item_time(c, frame, "timestart"), item_time(r, frame, "timecomplete"))
        << "comp frame " << f << " started before render frame " << f << " ended";
  }
  EXPECT_LT(item_time(c, "1", "timestart"), item_time(r, "6", "timecomplete"))
      << "frame by frame: comp 1 should not wait for the whole render";
}

TEST_F(Pipelines, HQueueEncodeVideoWithChildren) {
  start_supervisor();
  start_worker("w1", 2);
  const std::string out = path("out");
  write("encode.json", R"({"name": "Encode Video", "shell": "bash",
    "command": "cat )" + out + R"(.* > )" + out + R"(.avi",
    "children": [
      {"name": "Render Frame 1", "shell": "bash", "command": "echo 1 > )" + out + R"(.1"},
      {"name": "Render Frame 2", "shell": "bash", "command": "echo 2 > )" + out + R"(.2"},
      {"name": "Render Frame 3", "priority": 5, "shell": "bash", "command": "test -n \"$JOBID\" && echo 3 > )" + out + R"(.3"}
    ]})");
  const auto ids = submit_file("encode.json");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(wait_terminal(ids[0]), "complete");
  EXPECT_EQ(read_file(out + ".avi"), "1\n2\n3\n");
  for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ(show(ids[i]).value("pid", 0u), ids[0]) << "child " << i;

  // One child fails: the parent fails without running its command.
  write("broken.json", R"({"name": "Encode Video", "command": "touch )" + path("encoded") + R"(",
    "children": [{"name": "ok", "command": "true"}, {"name": "bad", "command": "exit 3"}]})");
  const auto broken = submit_file("broken.json");
  ASSERT_EQ(broken.size(), 3u);
  EXPECT_EQ(wait_terminal(broken[0]), "failed");
  EXPECT_FALSE(std::filesystem::exists(path("encoded"))) << "the parent ran although a child failed";
  EXPECT_NE(show(broken[0]).value("reason", "").find("dependency"), std::string::npos) << show(broken[0]).dump();
}

TEST_F(Pipelines, CallbacksOfEveryLanguageFireOncePerEvent) {
  SupervisorOptions options;
  const std::string mails = path("mails");
  const int port = start_smtp_sink(mails);
  options.extra_config = "smtp_server: \"127.0.0.1:" + std::to_string(port) + "\"\npython: /usr/bin/python3\n";
  start_supervisor(options);
  start_worker("w1", 1);
  const std::string shell_out = path("shell"), python_out = path("python");
  // b is held until a's callback unblocks it (qube language, by label).
  write("cb.yaml", R"Y(jobs:
  - name: a
    label: a
    range: "1-3"
    package: {cmdline: "true"}
    callbacks:
      - {triggers: complete-job-self, language: shell, code: "echo $QBEVENT $QBJOBID $QBSTATUS >> )Y" + shell_out + R"Y("}
      - {triggers: complete-job-self, language: python, code: "import os; open(')Y" + python_out + R"Y(', 'a').write(os.environ['QBEVENT'] + chr(10))"}
      - {triggers: done-work-self-*, language: shell, code: "echo $QBWORKNAME >> )Y" + shell_out + R"Y(.work"}
      - {triggers: complete-job-self, language: qube, code: unblock-b}
  - {name: b, label: b, blocked: true, package: {cmdline: "true"}}
)Y");
  const auto ids = submit_file("cb.yaml");
  ASSERT_EQ(ids.size(), 2u);
  const RunResult mailed = run({"qbsub", "--mail", "wrangler@example.com", "true"});
  ASSERT_EQ(mailed.code, 0) << mailed.describe();
  const auto mail_job = std::stoull(mailed.out);

  EXPECT_EQ(wait_terminal(ids[0]), "complete");
  EXPECT_EQ(wait_terminal(ids[1]), "complete") << "the qube callback should have unblocked b";
  EXPECT_EQ(wait_terminal(mail_job), "complete");
  // Each script's outcome reaches the history once it has run.
  ASSERT_TRUE(wait_until([&] { return count_text(history(ids[0]), ") exited") >= 5; }, 20s)) << history(ids[0]).dump(1);
  EXPECT_EQ(read_lines(shell_out), (std::vector<std::string>{"complete-job " + id_text(ids[0]) + " complete"}));
  EXPECT_EQ(read_lines(python_out), (std::vector<std::string>{"complete-job"}));
  auto work = read_lines(shell_out + ".work");
  std::sort(work.begin(), work.end());
  EXPECT_EQ(work, (std::vector<std::string>{"1", "2", "3"}));
  ASSERT_TRUE(wait_until([&] { return count_text(history(mail_job), "mail sent") == 1; }, 20s)) << history(mail_job).dump(1);
  ASSERT_TRUE(wait_until([&] { return read_file(mails).find("wrangler@example.com") != std::string::npos; }, 20s));
  const std::string mail = read_file(mails);
  EXPECT_NE(mail.find("Subject: [qube] job " + id_text(mail_job)), std::string::npos) << mail;
  EXPECT_NE(mail.find("qb out " + id_text(mail_job)), std::string::npos) << mail;
}

TEST_F(Pipelines, SlowCallbacksDoNotDelayDispatchAndAreKilledAtTheirLimit) {
  SupervisorOptions options;
  options.extra_config = "callback_timelimit: 2\n";
  start_supervisor(options);
  start_worker("w1", 1);
  const auto slow = submit({"--callback", "submit-job-self:shell:sleep 60", "true"});
  // Jobs keep flowing while the script sleeps.
  const RunResult quick = run({"qbsub", "--waiton", "true"}, {}, 10s);
  EXPECT_EQ(quick.code, 0) << quick.describe();
  EXPECT_LT(quick.seconds, 5.0) << "dispatch waited for a callback";
  EXPECT_EQ(wait_terminal(slow), "complete");
  EXPECT_TRUE(wait_until([&] { return count_text(history(slow), "time limit") == 1; }, 20s)) << history(slow).dump(1);
}

TEST_F(Pipelines, CyclesBadTriggersAndMissingJobsAreRefused) {
  start_supervisor();
  write("cycle.yaml", R"(jobs:
  - {name: x, label: x, dependency: link-done-job-y, package: {cmdline: "true"}}
  - {name: y, label: y, dependency: link-done-job-x, package: {cmdline: "true"}}
)");
  const RunResult cycle = run({"qbsub", "--file", path("cycle.yaml")});
  EXPECT_NE(cycle.code, 0) << cycle.describe();
  EXPECT_NE(cycle.err.find("cycle"), std::string::npos) << cycle.describe();
  const RunResult listed = run({"qb", "jobs", "--json"});
  EXPECT_EQ(Json::parse(listed.out).size(), 0u) << "all or none: " << listed.out;

  const RunResult trigger = run({"qbsub", "--callback", "complete-jobb-self:shell:true", "true"});
  EXPECT_EQ(trigger.code, 1) << trigger.describe();
  EXPECT_NE(trigger.err.find("jobb"), std::string::npos) << trigger.describe();
  const RunResult language = run({"qbsub", "--callback", "complete-job-self:perl:1", "true"});
  EXPECT_EQ(language.code, 1) << language.describe();
  const RunResult missing = run({"qbsub", "--waitfor", "999", "true"});
  EXPECT_EQ(missing.code, 1) << missing.describe();
  EXPECT_NE(missing.err.find("no job 999"), std::string::npos) << missing.describe();

  // A dependency on what already happened is met at once; qb satisfy releases by hand.
  start_worker("w1", 1);
  const auto first = submit({"true"});
  ASSERT_EQ(wait_terminal(first), "complete");
  const auto after = submit({"--waitfor", id_text(first), "true"});
  EXPECT_EQ(wait_terminal(after), "complete");
  const auto blocker = submit({"--status", "blocked", "true"});
  const auto held = submit({"--dependency", "link-complete-job-" + id_text(blocker), "true"});
  EXPECT_TRUE(wait_until([&] { return show(held).value("status", "") == "waiting"; }));
  EXPECT_NE(show(held).value("reason", "").find("waiting for job " + id_text(blocker)), std::string::npos);
  const RunResult satisfy = run({"qb", "satisfy", id_text(held)});
  EXPECT_EQ(satisfy.code, 0) << satisfy.describe();
  EXPECT_EQ(wait_terminal(held), "complete");
}

}  // namespace
}  // namespace qube_it
