// AppSession against /bin/sh as the "application": a shell is a prompt that
// reads a line, runs it and prints, which is all a kept-alive application is to
// the session. Crashes, hangs and errors are shell commands.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "qube/app_instance.hpp"
#include "qube/app_session.hpp"

namespace {

using namespace std::chrono_literals;
using qube::AppEnd;
using qube::AppQuit;
using qube::AppSession;
using qube::AppSessionOptions;
using qube::Stream;
using Clock = std::chrono::steady_clock;

AppSessionOptions shell(std::vector<std::string> setup = {}) {
  AppSessionOptions o;
  o.argv = {"sh"};
  o.env = {{"PATH", "/usr/bin:/bin"}};
  o.setup = std::move(setup);
  // The two halves are adjacent quoted words: the shell joins them, the command
  // line itself never holds the joined token.
  o.dialect.sentinel = [](const std::string& head, const std::string& tail) {
    return "echo \"" + head + "\"\"" + tail + "\"";
  };
  o.dialect.quit = "exit 0";
  o.dialect.error_patterns = {"^ERROR: "};
  o.dialect.output_pattern = "^OUT: (.+)$";
  o.item_timeout = 20s;
  o.startup_timeout = 20s;
  o.quit_grace = 5s;
  return o;
}

struct Log {
  std::string out, err;
  qube::OutputSink sink() {
    return [this](Stream s, std::string_view d) { (s == Stream::out ? out : err).append(d); };
  }
};

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "qube-app-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

using AppSessionTest = TempDir;

TEST_F(AppSessionTest, RunsItemsInOneProcessAfterItsSetup) {
  AppSession s(shell({"X=loaded"}));
  Log a, b;
  const auto first = s.run({"echo item1 $X $$"}, a.sink());
  ASSERT_EQ(first.end, AppEnd::ok) << first.reason << a.err;
  const auto second = s.run({"echo item2 $X $$"}, b.sink());
  ASSERT_EQ(second.end, AppEnd::ok) << second.reason << b.err;
  EXPECT_EQ(a.out, "item1 loaded " + std::to_string(first.pid) + "\n");
  EXPECT_EQ(b.out, "item2 loaded " + std::to_string(first.pid) + "\n");
  EXPECT_EQ(first.pid, second.pid);
  EXPECT_EQ(s.starts(), 1);
  EXPECT_TRUE(first.reason.empty());
}

TEST_F(AppSessionTest, AnEchoedSentinelCommandDoesNotEndTheItem) {
  // `set -v` echoes every line the shell reads, the sentinel command included,
  // as an application echoing its prompt input would.
  AppSession s(shell({"set -v"}));
  Log log;
  const auto r = s.run({"sleep 0.2", "echo after-the-work"}, log.sink());
  ASSERT_EQ(r.end, AppEnd::ok) << r.reason;
  EXPECT_NE(log.out.find("after-the-work"), std::string::npos)
      << "the item ended before its last command ran; stdout '" << log.out << "' stderr '" << log.err << "'";
  EXPECT_EQ(log.out.find("QUBE_SENTINEL"), std::string::npos) << "the sentinel's own line is not the item's output";
}

TEST_F(AppSessionTest, AnErrorLineFailsTheItemAndTheApplicationLivesOn) {
  AppSession s(shell());
  Log log;
  const auto bad = s.run({"echo ERROR: frame is broken >&2", "echo later"}, log.sink());
  EXPECT_EQ(bad.end, AppEnd::error);
  EXPECT_EQ(bad.reason, "ERROR: frame is broken");
  EXPECT_EQ(log.err, "ERROR: frame is broken\n");
  const auto good = s.run({"true"}, log.sink());
  EXPECT_EQ(good.end, AppEnd::ok) << good.reason;
  EXPECT_EQ(good.pid, bad.pid);
  EXPECT_EQ(s.starts(), 1);
}

TEST_F(AppSessionTest, OutputFilesAreCollectedInOrder) {
  AppSession s(shell());
  Log log;
  const auto r = s.run({"echo OUT: /renders/a.0001.exr", "echo unrelated", "echo 'OUT: /renders/b 0001.exr'"},
                       log.sink());
  ASSERT_EQ(r.end, AppEnd::ok) << r.reason;
  EXPECT_EQ(r.outputs, (std::vector<std::string>{"/renders/a.0001.exr", "/renders/b 0001.exr"}));
}

TEST_F(AppSessionTest, OutputIsStreamedAsItComes) {
  // The item waits for a file that the test creates only once it has seen the
  // item's first line: the item can finish only if that line was passed on
  // while the item still ran.
  const std::string flag = path("flag");
  AppSession s(shell());
  std::string seen;
  const auto r = s.run({"echo first; while [ ! -e " + flag + " ]; do sleep 0.01; done; echo second"},
                       [&](Stream, std::string_view d) {
                         seen.append(d);
                         if (seen.find("first\n") != std::string::npos) std::ofstream(flag) << "go";
                       });
  EXPECT_EQ(r.end, AppEnd::ok) << r.reason;
  EXPECT_EQ(seen, "first\nsecond\n");
}

TEST_F(AppSessionTest, LargeOutputDoesNotBlock) {
  AppSession s(shell());
  std::size_t lines = 0;
  const auto r = s.run({"seq 1 200000", "seq 1 1000 >&2"}, [&](Stream, std::string_view d) {
    for (char c : d) lines += c == '\n';
  });
  ASSERT_EQ(r.end, AppEnd::ok) << r.reason;
  EXPECT_EQ(lines, 201000u);
}

TEST_F(AppSessionTest, ACrashFailsTheItemAndTheNextItemRestartsWithSetup) {
  AppSession s(shell({"X=loaded"}));
  Log log;
  const auto before = s.run({"true"}, log.sink());
  ASSERT_EQ(before.end, AppEnd::ok) << before.reason;
  const auto crash = s.run({"echo about to die", "kill -9 $$"}, log.sink());
  EXPECT_EQ(crash.end, AppEnd::died);
  EXPECT_EQ(crash.signal, SIGKILL);
  EXPECT_EQ(crash.exitcode, 128 + SIGKILL);
  EXPECT_NE(crash.reason.find("killed by signal 9"), std::string::npos) << crash.reason;
  EXPECT_NE(crash.reason.find("about to die"), std::string::npos) << "the last line helps: " << crash.reason;
  EXPECT_EQ(s.pid(), -1);
  Log after_log;
  const auto after = s.run({"echo $X"}, after_log.sink());
  ASSERT_EQ(after.end, AppEnd::ok) << after.reason;
  EXPECT_EQ(after_log.out, "loaded\n") << "setup runs again after a restart";
  EXPECT_NE(after.pid, before.pid);
  EXPECT_EQ(s.starts(), 2);
}

TEST_F(AppSessionTest, AHangTimesOutIsKilledAndTheNextItemRestarts) {
  auto o = shell();
  o.item_timeout = 300ms;
  AppSession s(o);
  Log log;
  const auto started = Clock::now();
  const auto hang = s.run({"exec sleep 30"}, log.sink());
  EXPECT_EQ(hang.end, AppEnd::timeout);
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_NE(hang.reason.find("item timeout"), std::string::npos) << hang.reason;
  EXPECT_FALSE(alive(hang.pid)) << "the hung application was left running";
  const auto next = s.run({"true"}, log.sink());
  EXPECT_EQ(next.end, AppEnd::ok) << next.reason;
  EXPECT_NE(next.pid, hang.pid);
}

TEST_F(AppSessionTest, StartFailuresSayWhy) {
  {
    auto o = shell();
    o.argv = {"qube-no-such-application"};
    AppSession s(o);
    Log log;
    const auto r = s.run({"true"}, log.sink());
    EXPECT_EQ(r.end, AppEnd::start_failed);
    EXPECT_NE(r.reason.find("qube-no-such-application"), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find("not found"), std::string::npos) << r.reason;
  }
  {
    AppSession s(shell({"echo 'ERROR: cannot open the scene' >&2"}));
    Log log;
    const auto r = s.run({"true"}, log.sink());
    EXPECT_EQ(r.end, AppEnd::start_failed);
    EXPECT_NE(r.reason.find("cannot open the scene"), std::string::npos) << r.reason;
    EXPECT_FALSE(alive(r.pid)) << "an application whose setup failed is not kept";
    EXPECT_EQ(s.pid(), -1);
  }
  {
    AppSession s(shell({"exit 3"}));
    Log log;
    const auto r = s.run({"true"}, log.sink());
    EXPECT_EQ(r.end, AppEnd::start_failed);
    EXPECT_EQ(r.exitcode, 3);
    EXPECT_NE(r.reason.find("exited with code 3 while starting"), std::string::npos) << r.reason;
  }
}

TEST_F(AppSessionTest, ARelativePathEntryIsTakenFromTheApplicationsCwdAsForFrames) {
  std::filesystem::create_directory(path("bin"));
  {
    std::ofstream app(path("bin/qube-app"));
    app << "#!/bin/sh\nexec sh\n";
  }
  std::filesystem::permissions(path("bin/qube-app"), std::filesystem::perms::owner_all);
  auto o = shell();
  o.argv = {"qube-app"};
  o.env["PATH"] = "bin:/usr/bin:/bin";
  o.cwd = dir_.string();
  AppSession s(o);
  Log log;
  const auto r = s.run({"echo OUT: ran"}, log.sink());
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.outputs, std::vector<std::string>{"ran"});
  o.cwd = path("missing");
  AppSession nowhere(o);
  const auto n = nowhere.run({"true"}, log.sink());
  EXPECT_EQ(n.end, AppEnd::start_failed);
  EXPECT_NE(n.reason.find("not found in PATH"), std::string::npos) << "bin is looked for in the missing cwd: " << n.reason;
  o.argv = {"/bin/sh"};
  AppSession absolute(o);
  const auto a = absolute.run({"true"}, log.sink());
  EXPECT_EQ(a.end, AppEnd::start_failed);
  EXPECT_EQ(a.reason, "cannot start '/bin/sh' in '" + path("missing") + "': No such file or directory");
}

TEST_F(AppSessionTest, QuitUsesTheQuitCommand) {
  auto o = shell();
  o.dialect.quit = "echo bye > " + path("quit.txt") + "; exit 0";
  AppSession s(o);
  Log log;
  const auto r = s.run({"true"}, log.sink());
  ASSERT_EQ(r.end, AppEnd::ok) << r.reason;
  EXPECT_EQ(s.quit(), AppQuit::quit);
  std::ifstream in(path("quit.txt"));
  std::string word;
  in >> word;
  EXPECT_EQ(word, "bye");
  EXPECT_FALSE(alive(r.pid));
  EXPECT_EQ(s.pid(), -1);
  EXPECT_EQ(s.quit(), AppQuit::not_running);
}

TEST_F(AppSessionTest, QuitEscalatesToSigtermThenSigkill) {
  auto o = shell();
  o.quit_grace = 200ms;
  o.dialect.quit = "exec sleep 30";  // does not quit, dies of SIGTERM
  {
    AppSession s(o);
    Log log;
    ASSERT_EQ(s.run({"true"}, log.sink()).end, AppEnd::ok);
    EXPECT_EQ(s.quit(), AppQuit::terminated);
  }
  o.dialect.quit = "trap '' TERM; exec sleep 30";  // ignores SIGTERM too
  AppSession s(o);
  Log log;
  const auto r = s.run({"true"}, log.sink());
  ASSERT_EQ(r.end, AppEnd::ok);
  const auto started = Clock::now();
  EXPECT_EQ(s.quit(), AppQuit::killed);
  EXPECT_LT(Clock::now() - started, 3s);
  EXPECT_FALSE(alive(r.pid));
}

TEST_F(AppSessionTest, CpuTimeAndMemoryAreMeasuredPerItem) {
  AppSession s(shell());
  Log log;
  const auto r = s.run({"i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"}, log.sink());
  ASSERT_EQ(r.end, AppEnd::ok) << r.reason;
  EXPECT_GT(r.cputime, 0.0);
  EXPECT_GT(r.peak_rss_kb, 0u);
}

}  // namespace

// ---- the job-type side: configuration and package keys ---------------------

namespace {

using qube::JobInfo;
using qube::Json;
namespace plugin = qube::plugin;

class AppConfigTest : public TempDir {
 protected:
  void TearDown() override {
    unsetenv("QB_JOBTYPE_CONFIG");
    TempDir::TearDown();
  }
  // Points load_app_config at a YAML file with `text`.
  void config(const std::string& text) {
    std::ofstream(path("maya.yaml")) << text;
    setenv("QB_JOBTYPE_CONFIG", path("maya.yaml").c_str(), 1);
  }
  JobInfo job(Json package = Json::object()) const {
    JobInfo j;
    j.type = "maya";
    j.package = std::move(package);
    return j;
  }
};

TEST_F(AppConfigTest, TheYamlFileGivesTheApplicationAndThePackageOverridesIt) {
  config("executable: /opt/maya/bin/maya\nargs: [-prompt, -noAutoloadPlugins]\nitem_timeout: 30\nquit_grace: 2\n");
  const auto c = plugin::load_app_config(job(), "mayaexe", {});
  EXPECT_EQ(c.executable, "/opt/maya/bin/maya");
  EXPECT_EQ(c.args, (std::vector<std::string>{"-prompt", "-noAutoloadPlugins"}));
  EXPECT_EQ(c.item_timeout.count(), 30);
  EXPECT_EQ(c.quit_grace.count(), 2);
  const auto o = plugin::load_app_config(job({{"mayaexe", "/other/maya"}, {"timeout", 5}}), "mayaexe", {});
  EXPECT_EQ(o.executable, "/other/maya");
  EXPECT_EQ(o.item_timeout.count(), 5);
  EXPECT_EQ(plugin::session_options(o).argv,
            (std::vector<std::string>{"/other/maya", "-prompt", "-noAutoloadPlugins"}));
}

TEST_F(AppConfigTest, WithoutAFileTheTypeNameIsTheExecutable) {
  setenv("QB_JOBTYPE_CONFIG", path("absent.yaml").c_str(), 1);
  const auto c = plugin::load_app_config(job(), "mayaexe", {});
  EXPECT_EQ(c.executable, "maya");
  EXPECT_TRUE(c.args.empty());
  EXPECT_EQ(c.item_timeout.count(), 0);
}

TEST_F(AppConfigTest, WrongTypesAreRefusedNamingTheKey) {
  config("args: -prompt\n");
  try {
    plugin::load_app_config(job(), "mayaexe", {});
    FAIL() << "a string for 'args' was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'args'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("maya.yaml"), std::string::npos) << e.what();
  }
  config("item_timeout: 1\n");
  EXPECT_THROW(plugin::load_app_config(job({{"timeout", "soon"}}), "mayaexe", {}), std::invalid_argument);
  EXPECT_THROW(plugin::load_app_config(job({{"mayaexe", Json::array()}}), "mayaexe", {}), std::invalid_argument);
}

TEST(PackageKeys, TextNumbersAndNames) {
  const Json p{{"s", "x"}, {"n", 4}, {"t", "8"}, {"bad", "eight"}, {"list", {"A", " B "}}, {"csv", "A, B,,C"}};
  EXPECT_EQ(plugin::package_string(p, "s"), "x");
  EXPECT_EQ(plugin::package_string(p, "n"), "4");
  EXPECT_EQ(plugin::package_string(p, "missing", "fallback"), "fallback");
  EXPECT_EQ(plugin::package_int(p, "n"), 4);
  EXPECT_EQ(plugin::package_int(p, "t"), 8);
  EXPECT_EQ(plugin::package_int(p, "missing"), std::nullopt);
  EXPECT_THROW(plugin::package_int(p, "bad"), std::invalid_argument);
  EXPECT_THROW(plugin::package_string(p, "list"), std::invalid_argument);
  EXPECT_EQ(plugin::package_names(p, "list"), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(plugin::package_names(p, "csv"), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_TRUE(plugin::package_names(p, "missing").empty());
  JobInfo job;
  job.type = "nuke";
  try {
    plugin::required_package_string(job, "scriptfile");
    FAIL() << "a missing required key was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "the package has no 'scriptfile' (the nuke job type needs it)");
  }
}

}  // namespace
