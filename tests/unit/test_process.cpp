// Child processes, command lines and frame substitution.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "qube/jobtype.hpp"
#include "qube/launcher.hpp"
#include "qube/process.hpp"

namespace {

using qube::command_argv;
using qube::run_process;
using qube::shell_join;
using qube::Stream;
using Argv = std::vector<std::string>;
using Env = std::map<std::string, std::string>;

struct Captured {
  std::string out, err;
  qube::ProcessResult result;
};

Captured run(const Argv& argv, const Env& env = {{"PATH", "/usr/bin:/bin"}},
             const std::string& cwd = {}) {
  Captured c;
  c.result = run_process(argv, env, cwd, [&](Stream s, std::string_view data) {
    (s == Stream::out ? c.out : c.err).append(data);
  });
  return c;
}

// ---- run_process -----------------------------------------------------------

TEST(RunProcess, CollectsOutputAndExitCode) {
  const auto c = run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_TRUE(c.result.error.empty()) << c.result.error;
  EXPECT_EQ(c.out, "out\n");
  EXPECT_EQ(c.err, "err\n");
  EXPECT_EQ(c.result.exitcode, 3);
  EXPECT_FALSE(c.result.signal.has_value());
  EXPECT_GE(c.result.walltime, 0.0);
  EXPECT_GT(c.result.peak_rss_kb, 0u);
}

TEST(RunProcess, SuccessIsExitCodeZero) {
  const auto c = run({"true"});
  EXPECT_TRUE(c.result.error.empty()) << c.result.error;
  EXPECT_EQ(c.result.exitcode, 0);
  EXPECT_FALSE(c.result.signal.has_value());
  EXPECT_EQ(c.out, "");
  EXPECT_EQ(c.err, "");
}

TEST(RunProcess, KilledBySignal) {
  const auto c = run({"/bin/sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(c.result.signal.has_value());
  EXPECT_EQ(*c.result.signal, 9);
  EXPECT_EQ(c.result.exitcode, 128 + 9);
  EXPECT_TRUE(c.result.error.empty()) << c.result.error;
}

TEST(RunProcess, NonexistentProgram) {
  const auto c = run({"qube-no-such-program-xyz"});
  EXPECT_FALSE(c.result.error.empty());
  EXPECT_NE(c.result.error.find("qube-no-such-program-xyz"), std::string::npos) << c.result.error;
  EXPECT_NE(c.result.exitcode, 0);
  const auto abs = run({"/nonexistent/dir/prog"});
  EXPECT_FALSE(abs.result.error.empty());
}

TEST(RunProcess, EmptyArgvIsAnError) {
  const auto c = run({});
  EXPECT_FALSE(c.result.error.empty());
}

TEST(RunProcess, UsesExactlyTheGivenEnvironment) {
  const auto c = run({"/bin/sh", "-c", "echo \"[$QUBE_T1][$HOME]\""},
                     {{"QUBE_T1", "value with spaces"}, {"PATH", "/bin:/usr/bin"}});
  EXPECT_EQ(c.out, "[value with spaces][]\n");
}

TEST(RunProcess, SearchesTheChildsPath) {
  // "sh" is found through the PATH given to the child.
  const auto found = run({"sh", "-c", "exit 4"}, {{"PATH", "/nonexistent:/bin:/usr/bin"}});
  EXPECT_TRUE(found.result.error.empty()) << found.result.error;
  EXPECT_EQ(found.result.exitcode, 4);
  const auto missing = run({"sh", "-c", "exit 4"}, {{"PATH", "/nonexistent"}});
  EXPECT_FALSE(missing.result.error.empty());
}

TEST(RunProcess, RelativePathEntriesAreTheChildsCwdAndTheCallersIsNeverSearched) {
  char tmpl[] = "/tmp/qube-path-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, script = dir + "/qube-here";
  {
    std::ofstream f(script);
    f << "#!/bin/sh\necho here\n";
  }
  ::chmod(script.c_str(), 0755);
  const Env plain{{"PATH", "/bin:/usr/bin"}};
  EXPECT_FALSE(run({"qube-here"}, plain, dir).result.error.empty()) << "not in PATH";
  const auto dot = run({"qube-here"}, {{"PATH", ".:/bin:/usr/bin"}}, dir);
  EXPECT_EQ(dot.out, "here\n") << dot.result.error;
  // From the caller's own directory: still not in the child's PATH.
  char here[4096];
  ASSERT_NE(::getcwd(here, sizeof here), nullptr);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  const auto caller = run({"qube-here"}, plain);
  ASSERT_EQ(::chdir(here), 0);
  EXPECT_FALSE(caller.result.error.empty()) << caller.out;
  std::filesystem::remove_all(dir);
}

TEST(RunProcess, RunsInCwd) {
  const auto c = run({"/bin/pwd"}, {}, "/");
  EXPECT_EQ(c.out, "/\n");
  const auto bad = run({"/bin/pwd"}, {}, "/nonexistent/qube/dir");
  EXPECT_FALSE(bad.result.error.empty());
  EXPECT_NE(bad.result.error.find("/nonexistent/qube/dir"), std::string::npos) << bad.result.error;
}

TEST(RunProcess, StdinIsEmpty) {
  const auto c = run({"/bin/sh", "-c", "cat; echo done"});
  EXPECT_EQ(c.out, "done\n");
}

TEST(RunProcess, LargeOutputIsComplete) {
  // More than a pipe buffer on both streams at once.
  const auto c = run({"/bin/sh", "-c",
                      "i=0; while [ $i -lt 20000 ]; do echo 0123456789; echo abcdefghij >&2; "
                      "i=$((i+1)); done"});
  EXPECT_EQ(c.result.exitcode, 0);
  EXPECT_EQ(c.out.size(), 20000u * 11u);
  EXPECT_EQ(c.err.size(), 20000u * 11u);
}

// What the instance process sets up for itself (SIGPIPE ignored) and a blocked
// SIGTERM, for as long as it lives: none of it may reach a child.
class CallerSignals {
 public:
  CallerSignals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old_pipe_);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old_mask_);
  }
  ~CallerSignals() {
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

 private:
  struct sigaction old_pipe_ {};
  sigset_t old_mask_{};
};

// The command that prints the lines below from a child's /proc/self/status.
const Argv kSignalStatus = {"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"};

bool nothing_blocked(const std::string& status) { return status.find("SigBlk:\t0000000000000000") != std::string::npos; }

bool sigpipe_ignored(const std::string& status) {
  const auto at = status.find("SigIgn:\t");
  EXPECT_NE(at, std::string::npos) << status;
  return at != std::string::npos && (std::stoull(status.substr(at + 8, 16), nullptr, 16) >> (SIGPIPE - 1)) & 1;
}

TEST(RunProcess, StartsWithDefaultSignalHandlingWhateverTheCallerSetUp) {
  // A frame writing into a closed pipe must die of SIGPIPE as in a shell.
  std::optional<CallerSignals> caller(std::in_place);
  const auto c = run({"/bin/sh", "-c", "kill -TERM $$; echo survived"});
  const auto status = run(kSignalStatus);
  caller.reset();
  EXPECT_EQ(c.result.signal, SIGTERM) << c.out;
  EXPECT_TRUE(nothing_blocked(status.out)) << status.out;
  // glibc keeps its own two real-time signals (32, 33) apart; SIGPIPE must be default.
  EXPECT_FALSE(sigpipe_ignored(status.out)) << status.out;
}

TEST(RunProcess, TheChildInheritsOnlyStdinStdoutAndStderr) {
  // A descriptor the caller left open without close-on-exec (as a plugin might).
  const int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  const auto c = run({"ls", "/proc/self/fd"});  // ls's own: 0 1 2, and 3 for the directory
  ::close(leaked);
  EXPECT_EQ(c.out, "0\n1\n2\n3\n");
}

TEST(RunProcess, NullSinkIsAllowed) {
  const auto r = run_process({"/bin/sh", "-c", "echo ignored; exit 2"}, {}, {}, nullptr);
  EXPECT_EQ(r.exitcode, 2);
}

// ---- the launcher ----------------------------------------------------------

using qube::ChildStream;
using qube::find_program;
using qube::launch;
using qube::Launched;
using qube::LaunchSpec;

// Reads `fd` to its end and closes it.
std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

int wait_for(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

// The child's stdout, after it ended with exit code 0.
std::string output_of(const Launched& child) {
  EXPECT_TRUE(child.started()) << child.failed_step << ": " << std::strerror(child.error);
  if (!child.started()) return {};
  const std::string out = read_all(child.out);
  if (child.err >= 0) ::close(child.err);
  const int status = wait_for(child.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  return out;
}

// Both ways the launcher starts a child: posix_spawn, and fork when the child
// must die with its parent. Every property holds for both.
class LaunchProcess : public ::testing::TestWithParam<bool> {
 protected:
  LaunchSpec spec(const Argv& argv) const {
    LaunchSpec s;
    s.program = *find_program(argv[0], "/usr/bin:/bin", "");
    s.argv = argv;
    s.env = {{"PATH", "/usr/bin:/bin"}};
    s.die_with_parent = GetParam();
    return s;
  }
};

INSTANTIATE_TEST_SUITE_P(Both, LaunchProcess, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Fork" : "Spawn"; });

TEST_P(LaunchProcess, TheChildGetsItsStreamsAndThePassedDescriptorsAsThreeOnwardsOnly) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // not close-on-exec, as a plugin might leave it
  ASSERT_GE(leaked, 3);
  int channel[2];
  ASSERT_EQ(::pipe2(channel, O_CLOEXEC), 0);
  auto fds = spec({"ls", "/proc/self/fd"});  // ls's own: 0 1 2 3, and 4 for the directory
  fds.pass_fds = {channel[1]};
  EXPECT_EQ(output_of(launch(fds)), "0\n1\n2\n3\n4\n");
  auto through = spec({"sh", "-c", "echo on-three >&3"});
  through.pass_fds = {channel[1]};
  EXPECT_EQ(output_of(launch(through)), "");
  ::close(channel[1]);
  EXPECT_EQ(read_all(channel[0]), "on-three\n");
  ::close(leaked);
}

TEST_P(LaunchProcess, StdinCanBeAPipeAndStderrCanShareStdout) {
  auto s = spec({"sh", "-c", "cat; echo to-stderr >&2"});
  s.in = ChildStream::pipe;
  s.err = ChildStream::as_stdout;
  const Launched child = launch(s);
  ASSERT_TRUE(child.started());
  EXPECT_EQ(child.err, -1);
  ASSERT_EQ(::write(child.in, "typed\n", 6), 6);
  ::close(child.in);
  EXPECT_EQ(output_of(child), "typed\nto-stderr\n");
  // null: stdin is empty, stderr goes nowhere.
  auto quiet = spec({"sh", "-c", "cat; echo gone >&2; echo done"});
  quiet.err = ChildStream::null;
  EXPECT_EQ(output_of(launch(quiet)), "done\n");
}

TEST_P(LaunchProcess, OwnProcessGroupOrTheCallers) {
  // Field 5 of /proc/self/stat is the process group.
  auto s = spec({"cut", "-d", " ", "-f5", "/proc/self/stat"});
  const Launched shared = launch(s);
  EXPECT_EQ(output_of(shared), std::to_string(::getpgrp()) + "\n");
  s.own_process_group = true;
  const Launched own = launch(s);
  EXPECT_EQ(output_of(own), std::to_string(own.pid) + "\n");
}

TEST_P(LaunchProcess, SignalsAreDefaultAndNoneBlockedWhateverTheCallerSetUp) {
  std::optional<CallerSignals> caller(std::in_place);
  auto s = spec(kSignalStatus);
  const std::string reset = output_of(launch(s));
  s.default_signals = false;
  const std::string kept = output_of(launch(s));
  caller.reset();
  EXPECT_TRUE(nothing_blocked(reset)) << reset;
  EXPECT_FALSE(sigpipe_ignored(reset)) << reset;
  EXPECT_TRUE(nothing_blocked(kept)) << kept;
  EXPECT_TRUE(sigpipe_ignored(kept)) << "default_signals = false keeps the caller's dispositions\n" << kept;
}

TEST_P(LaunchProcess, AChildThatCannotStartSaysWhyAndLeavesNothingOpen) {
  auto missing = spec({"true"});
  missing.program = "/nonexistent/qube/program";
  const Launched a = launch(missing);
  EXPECT_FALSE(a.started());
  EXPECT_EQ(a.failed_step, "start");
  EXPECT_EQ(a.error, ENOENT);
  EXPECT_EQ(a.out, -1);
  EXPECT_EQ(a.err, -1);
  auto nowhere = spec({"true"});
  nowhere.cwd = "/nonexistent/qube/dir";
  const Launched b = launch(nowhere);
  EXPECT_FALSE(b.started());
  EXPECT_EQ(b.failed_step, "start");
  EXPECT_EQ(b.error, ENOENT);
  EXPECT_EQ(output_of(launch(spec({"true"}))), "") << "a later start still works";
}

TEST(LaunchProcessDeath, AChildMadeToDieWithItsParentDiesWithTheThreadThatStartedIt) {
  LaunchSpec s;
  s.program = "/bin/sleep";
  s.argv = {"sleep", "30"};  // a failure shows as a normal exit after 30 s
  s.out = s.err = ChildStream::null;
  s.die_with_parent = true;
  Launched child;
  std::thread([&] { child = launch(s); }).join();
  ASSERT_TRUE(child.started());
  const int status = wait_for(child.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// ---- the PATH search -------------------------------------------------------

class ProcessPathSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qube-find-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    std::filesystem::create_directory(dir + "/bin");
    make(dir + "/bin/qube-tool", 0755);
    make(dir + "/bin/qube-data", 0644);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  static void make(const std::string& path, mode_t mode) {
    std::ofstream(path) << "#!/bin/sh\n";
    ::chmod(path.c_str(), mode);
  }
  std::string dir;
};

TEST_F(ProcessPathSearch, AbsoluteEntriesInOrder) {
  EXPECT_EQ(find_program("qube-tool", "/nonexistent:" + dir + "/bin:/bin", ""), dir + "/bin/qube-tool");
  EXPECT_EQ(find_program("sh", "/nonexistent:/bin", ""), "/bin/sh");
}

TEST_F(ProcessPathSearch, RelativeEntriesAreTakenFromTheGivenCwd) {
  EXPECT_EQ(find_program("qube-tool", "/bin:bin", dir), "bin/qube-tool");
  EXPECT_EQ(find_program("qube-tool", ".", dir + "/bin"), "./qube-tool");
  EXPECT_EQ(find_program("qube-tool", "/bin:", dir + "/bin"), "./qube-tool") << "an empty entry is '.'";
  EXPECT_EQ(find_program("qube-tool", "bin", "/"), std::nullopt);
}

TEST_F(ProcessPathSearch, NotFoundIsNoneAndNeverTheCallersDirectory) {
  EXPECT_EQ(find_program("qube-data", dir + "/bin", ""), std::nullopt) << "not executable";
  EXPECT_EQ(find_program("bin", dir, ""), std::nullopt) << "a directory";
  char here[4096];
  ASSERT_NE(::getcwd(here, sizeof here), nullptr);
  ASSERT_EQ(::chdir((dir + "/bin").c_str()), 0);
  const auto found = find_program("qube-tool", "/usr/bin:/bin", "");
  ASSERT_EQ(::chdir(here), 0);
  EXPECT_EQ(found, std::nullopt);
}

TEST_F(ProcessPathSearch, ANameWithASlashIsTakenAsItIs) {
  EXPECT_EQ(find_program("./anything", "", ""), "./anything");
  EXPECT_EQ(find_program("/no/such/file", "/bin", ""), "/no/such/file");
}

TEST_F(ProcessPathSearch, TheChildsPathOrTheDefault) {
  EXPECT_EQ(qube::search_path({{"PATH", "/a:b"}}), "/a:b");
  EXPECT_EQ(qube::search_path({}), "/usr/local/bin:/usr/bin:/bin");
}

// ---- command lines ---------------------------------------------------------

TEST(CommandArgv, PlainWordsRunWithoutShell) {
  EXPECT_EQ(command_argv("echo hi"), (Argv{"echo", "hi"}));
  EXPECT_EQ(command_argv("  render  -s 1\t-e 10 "), (Argv{"render", "-s", "1", "-e", "10"}));
  EXPECT_EQ(command_argv("/usr/bin/env"), (Argv{"/usr/bin/env"}));
}

TEST(CommandArgv, ShellSyntaxUsesShell) {
  for (const char* line : {"echo $HOME", "a | b", "a && b", "a; b", "echo 'x y'", "echo \"x\"",
                           "ls *.exr", "a > f", "FOO=1 cmd", "echo `date`", "echo ~"}) {
    EXPECT_EQ(command_argv(line), (Argv{"/bin/sh", "-c", line})) << line;
  }
}

TEST(ShellJoin, PlainWordsStayPlain) {
  EXPECT_EQ(shell_join({"echo", "hi"}), "echo hi");
  EXPECT_EQ(command_argv(shell_join({"render", "-s", "1"})), (Argv{"render", "-s", "1"}));
}

TEST(ShellJoin, QuotesShellCharacters) {
  EXPECT_EQ(shell_join({"echo", "$HOME"}), "echo '$HOME'");
  EXPECT_EQ(shell_join({"echo", "it's"}), "echo 'it'\\''s'");
  EXPECT_EQ(shell_join({"echo", ""}), "echo ''");
}

// Runs the command line qbsub would store for `args` and returns the arguments the
// program really received, one per line, as printf prints them.
Argv received_args(const Argv& args) {
  Argv argv = {"printf", "%s\\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string line = shell_join(argv);
  const auto c = run(command_argv(line));
  EXPECT_TRUE(c.result.error.empty()) << c.result.error;
  EXPECT_EQ(c.result.exitcode, 0) << line << " stderr: " << c.err;
  Argv got;
  std::string cur;
  for (char ch : c.out) {
    if (ch == '\n') {
      got.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return got;
}

TEST(ShellJoin, RoundTripsQuotesAndShellCharacters) {
  const Argv args = {"it's", "\"double\"", "$HOME", "a;b", "*", "`x`", "back\\slash", "''", "x=y"};
  EXPECT_EQ(received_args(args), args);
}

// Regression test for a bug found and fixed while this suite was written.
TEST(ShellJoin, RoundTripsArgumentsWithSpaces) {
  EXPECT_NE(command_argv(shell_join({"echo", "a b"})), (Argv{"echo", "a", "b"}))
      << "shell_join gave: " << shell_join({"echo", "a b"});
  const Argv args = {"two words", "tab\there", "both 'quoted' and spaced", " lead", ""};
  EXPECT_EQ(received_args(args), args);
  EXPECT_EQ(received_args({"plain space"}), (Argv{"plain space"}));
}

// ---- frame substitution ----------------------------------------------------

TEST(FrameVars, SteppedRun) {
  const auto f = qube::frame_vars("1-7x3");
  EXPECT_EQ(f.start, 1);
  EXPECT_EQ(f.end, 7);
  EXPECT_EQ(f.step, 3);
}

TEST(FrameVars, SingleAndDescending) {
  const auto one = qube::frame_vars("42");
  EXPECT_EQ(one.start, 42);
  EXPECT_EQ(one.end, 42);
  const auto down = qube::frame_vars("10-1");
  EXPECT_EQ(down.start, 10);
  EXPECT_EQ(down.end, 1);
  EXPECT_EQ(down.step, -1);
  const auto trimmed = qube::frame_vars("1-8x3");
  EXPECT_EQ(trimmed.end, 7);
}

TEST(FrameVars, NotOneRunThrows) {
  EXPECT_THROW(qube::frame_vars("1,3"), std::invalid_argument);
  EXPECT_THROW(qube::frame_vars("shot_a"), std::invalid_argument);
  EXPECT_THROW(qube::frame_vars(""), std::invalid_argument);
}

TEST(SubstituteFrames, AllTokensPadded) {
  const std::string cmd = "r -s QB_FRAME_START -e QB_FRAME_END -b QB_FRAME_STEP -n QB_FRAME_NUMBER";
  EXPECT_EQ(qube::substitute_frames(cmd, qube::frame_vars("1-7x3"), 4),
            "r -s 0001 -e 0007 -b 3 -n 0001");
  EXPECT_EQ(qube::substitute_frames(cmd, qube::frame_vars("1-7x3"), 0), "r -s 1 -e 7 -b 3 -n 1");
  EXPECT_EQ(qube::substitute_frames(cmd, qube::frame_vars("12"), 4),
            "r -s 0012 -e 0012 -b 1 -n 0012");
}

TEST(SubstituteFrames, NegativeAndDescending) {
  EXPECT_EQ(qube::substitute_frames("QB_FRAME_START:QB_FRAME_END:QB_FRAME_STEP",
                                    qube::frame_vars("-3--1"), 3),
            "-003:-001:1");
  EXPECT_EQ(qube::substitute_frames("QB_FRAME_START:QB_FRAME_END:QB_FRAME_STEP",
                                    qube::frame_vars("10-2x4"), 2),
            "10:02:4");
}

TEST(SubstituteFrames, LeavesOtherTextAlone) {
  const qube::FrameVars f{5, 5, 1};
  EXPECT_EQ(qube::substitute_frames("no tokens here", f, 4), "no tokens here");
  EXPECT_EQ(qube::substitute_frames("QB_FRAME_X QB_FRAME_", f, 4), "QB_FRAME_X QB_FRAME_");
  EXPECT_EQ(qube::substitute_frames("img.QB_FRAME_NUMBER.exr,QB_FRAME_NUMBERQB_FRAME_END", f, 3),
            "img.005.exr,005005");
  EXPECT_EQ(qube::substitute_frames("", f, 4), "");
}

}  // namespace
