// Job types written in Python (jobtypes/python, api/python/qb/backend.py)
// through a real farm: the shipped example, and scripts that raise, never ask
// for work, exit early or report a failure.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

#ifndef QUBE_SOURCE_DIR
#error "QUBE_SOURCE_DIR must name the source tree (for api/python and examples)"
#endif

namespace qube_it {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = QUBE_SOURCE_DIR;

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

const Json& item_named(const Json& job, const std::string& name) {
  for (const auto& item : job.at("agenda"))
    if (item.value("name", "") == name) return item;
  throw std::runtime_error("no agenda item " + name + " in " + job.dump());
}

pid_t pid_of(const Json& item) { return item.at("resultpackage").value("pid", -1); }

class PythonJobTypes : public FarmTest {
 protected:
  void SetUp() override {
    FarmTest::SetUp();
    fs::create_directories(types());
    // The qb package as an installation has it, with only the back end in it:
    // api/python/qb/__init__.py belongs to the client module.
    fs::create_directories(path("py/qb"));
    fs::copy_file(kSource / "api/python/qb/backend.py", path("py/qb/backend.py"));
    std::ofstream(path("py/qb/__init__.py")) << "from .backend import *\n";
  }
  fs::path types() const { return dir() / "jobtypes"; }

  // A type `name` running `script`, found through the yaml's pythonpath.
  void add_type(const std::string& name, const std::string& script) {
    std::ofstream(types() / (name + ".py")) << "import os, sys, time\nimport qb\n" << script;
    std::ofstream(types() / (name + ".yaml")) << "name: " << name << "\nmodule: libqube_jobtype_python.so\n"
                                              << "script: " << name << ".py\npythonpath: [" << path("py")
                                              << "]\nquit_grace: 2\n";
  }
  void start_farm() {
    start_supervisor();
    start_worker("w1", 1, "jobtypes: " + types().string());
  }
  std::string logs(std::uint64_t id) {
    return run({"qb", "out", std::to_string(id)}).out + run({"qb", "err", std::to_string(id)}).out;
  }
};

// The loop of Qube!'s documented back ends, reporting each item with `status`.
const std::string kLoop = R"(
job = qb.jobobj()
while True:
    work = qb.requestwork()
    if work['status'] in ('complete', 'pending', 'blocked'):
        break
    print('working on', work['name'], 'of job', job['id'])
    work['status'] = STATUS
    qb.reportwork(work)
qb.reportjob('complete')
)";

TEST_F(PythonJobTypes, TheExampleWritesEveryFrameFromOneScriptPerInstance) {
  for (const char* file : {"gradient.yaml", "gradient.py"})
    fs::copy_file(kSource / "examples/jobtype-python" / file, types() / file);
  start_farm();
  fs::create_directories(path("out"));
  const Json package{{"outputpath", path("out/grad_####.png")}, {"width", 8}, {"height", 4}};
  const auto id = submit({"--type", "gradient", "--range", "1-3", "--package", package.dump(), "--env",
                          "PYTHONPATH=" + path("py")});
  ASSERT_EQ(wait_terminal(id), "complete") << show(id).dump();
  const Json job = show(id);
  std::set<pid_t> pids;
  for (int f = 1; f <= 3; ++f) {
    const std::string file = path("out/grad_000" + std::to_string(f) + ".png");
    const Json& item = item_named(job, std::to_string(f));
    EXPECT_EQ(item.at("resultpackage").value("outputs", Json()), Json::array({file})) << item.dump();
    EXPECT_EQ(read_file(file).substr(0, 8), "\x89PNG\r\n\x1a\n") << file;
    pids.insert(pid_of(item));
  }
  EXPECT_EQ(pids.size(), 1u) << "every frame should come from one script process: " << job.dump();
  EXPECT_GT(*pids.begin(), 0);
  const std::string log = logs(id);
  EXPECT_EQ(count(log, "started once for this instance"), 1u) << log;
  EXPECT_TRUE(contains(log, "frame 3: wrote " + path("out/grad_0003.png"))) << log;
  EXPECT_TRUE(wait_until([&] { return !process_alive(*pids.begin()); })) << "the script outlived its instance";
}

TEST_F(PythonJobTypes, AReportedFailureFailsThatItemOnly) {
  add_type("picky", R"(
job = qb.jobobj()
while True:
    work = qb.requestwork()
    if work['status'] != 'running':
        break
    work['status'] = 'failed' if work['name'] == '2' else 'complete'
    work['resultpackage'] = {'seen': work['name']}
    qb.reportwork(work)
qb.reportjob('complete')
)");
  start_farm();
  const auto id = submit({"--type", "picky", "--range", "1-3"});
  ASSERT_EQ(wait_terminal(id), "failed");
  const Json job = show(id);
  const Json& bad = item_named(job, "2");
  EXPECT_EQ(bad.value("status", ""), "failed") << bad.dump();
  EXPECT_TRUE(contains(bad.value("reason", ""), "reported item 2 failed")) << bad.dump();
  for (const char* name : {"1", "3"}) {
    EXPECT_EQ(item_named(job, name).value("status", ""), "complete") << job.dump();
    EXPECT_EQ(item_named(job, name).at("resultpackage").value("seen", ""), name) << job.dump();
    EXPECT_EQ(pid_of(item_named(job, name)), pid_of(bad)) << "one script for the instance: " << job.dump();
  }
}

TEST_F(PythonJobTypes, AScriptThatRaisesFailsTheItemWithItsTraceback) {
  add_type("raiser", R"(
job = qb.jobobj()
work = qb.requestwork()
print('about to fail on', work['name'])
raise ValueError('boom on ' + work['name'])
)");
  start_farm();
  const auto id = submit({"--type", "raiser", "--range", "7"});
  ASSERT_EQ(wait_terminal(id), "failed");
  const Json item = item_named(show(id), "7");
  EXPECT_EQ(item.value("status", ""), "failed") << item.dump();
  EXPECT_TRUE(contains(item.value("reason", ""), "exited (code 1) before reporting item 7")) << item.dump();
  EXPECT_TRUE(contains(item.value("reason", ""), "ValueError: boom on 7")) << item.dump();
  const std::string log = logs(id);
  EXPECT_TRUE(contains(log, "Traceback (most recent call last)")) << log;
  EXPECT_TRUE(contains(log, "about to fail on 7")) << log;
}

TEST_F(PythonJobTypes, AScriptThatNeverAsksForWorkIsKilledAtTheItemTimeout) {
  add_type("idler", "job = qb.jobobj()\nprint('idling', flush=True)\ntime.sleep(600)\n");
  start_farm();
  // 3 s: the script must print before it is killed, and Python's start under
  // ASan with two tests at a time once took more than 1 s.
  const auto id = submit({"--type", "idler", "--range", "1", "--package", Json{{"timeout", 3}}.dump()});
  ASSERT_EQ(wait_terminal(id, 20s), "failed");
  const Json item = item_named(show(id), "1");
  EXPECT_TRUE(contains(item.value("reason", ""), "did not report item 1 within the item timeout of 3 s"))
      << item.dump();
  EXPECT_FALSE(process_alive(pid_of(item))) << "the idle script was left running";
  EXPECT_TRUE(contains(logs(id), "idling"));
}

TEST_F(PythonJobTypes, AScriptThatExitsWithoutAskingForWorkFailsTheItem) {
  add_type("quitter", "print('leaving early')\nsys.exit(3)\n");
  start_farm();
  const auto id = submit({"--type", "quitter", "--range", "1"});
  ASSERT_EQ(wait_terminal(id), "failed");
  const Json item = item_named(show(id), "1");
  EXPECT_TRUE(contains(item.value("reason", ""), "script exited (code 3) before asking for work")) << item.dump();
  EXPECT_TRUE(contains(logs(id), "leaving early"));
}

TEST_F(PythonJobTypes, AScriptReportingWorkItWasNotGivenGetsAnError) {
  add_type("eager", R"(
try:
    qb.reportwork({'name': '1', 'status': 'complete'})
except qb.backend.BackendError as e:
    print('refused:', e)
STATUS = 'complete'
)" + kLoop);
  start_farm();
  const auto id = submit({"--type", "eager", "--range", "1-2"});
  ASSERT_EQ(wait_terminal(id), "complete") << show(id).dump();
  EXPECT_TRUE(contains(logs(id), "refused: no work to report")) << logs(id);
}

TEST_F(PythonJobTypes, AScriptAskingForMoreWorkBeforeReportingFailsThatItemAndGetsTheNext) {
  add_type("hasty", R"(
job = qb.jobobj()
work = qb.requestwork()
work = qb.requestwork()
STATUS = 'complete'
while work['status'] == 'running':
    work['status'] = 'complete'
    qb.reportwork(work)
    work = qb.requestwork()
)");
  start_farm();
  const auto id = submit({"--type", "hasty", "--range", "1-2"});
  ASSERT_EQ(wait_terminal(id), "failed");
  const Json job = show(id);
  EXPECT_TRUE(contains(item_named(job, "1").value("reason", ""), "asked for more work before reporting item 1"))
      << job.dump();
  EXPECT_EQ(item_named(job, "2").value("status", ""), "complete") << job.dump();
  EXPECT_EQ(pid_of(item_named(job, "2")), pid_of(item_named(job, "1"))) << job.dump();
}

TEST_F(PythonJobTypes, AWorkerDoesNotOfferATypeWhoseScriptIsMissing) {
  add_type("present", "STATUS = 'complete'\n" + kLoop);
  std::ofstream(types() / "ghost.yaml") << "module: libqube_jobtype_python.so\nscript: ghost.py\n";
  start_farm();
  const auto offered = host("w1").value().at("jobtypes");
  EXPECT_NE(std::find(offered.begin(), offered.end(), "present"), offered.end()) << offered.dump();
  EXPECT_EQ(std::find(offered.begin(), offered.end(), "ghost"), offered.end()) << offered.dump();
}

}  // namespace
}  // namespace qube_it
