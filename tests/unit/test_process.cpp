// Child processes, command lines and frame substitution.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "qube/jobtype.hpp"
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

TEST(RunProcess, StartsWithDefaultSignalHandlingWhateverTheCallerSetUp) {
  // The instance process ignores SIGPIPE and blocks nothing a frame should
  // inherit: a frame writing into a closed pipe must die of SIGPIPE as in a shell.
  struct sigaction ignore{}, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  const auto c = run({"/bin/sh", "-c", "kill -TERM $$; echo survived"});
  const auto status = run({"/bin/sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"});
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old, nullptr);
  EXPECT_EQ(c.result.signal, SIGTERM) << c.out;
  EXPECT_NE(status.out.find("SigBlk:\t0000000000000000"), std::string::npos) << status.out;
  // glibc keeps its own two real-time signals (32, 33) apart; SIGPIPE must be default.
  const auto ignored_at = status.out.find("SigIgn:\t");
  ASSERT_NE(ignored_at, std::string::npos) << status.out;
  const auto ignored = std::stoull(status.out.substr(ignored_at + 8, 16), nullptr, 16);
  EXPECT_EQ(ignored & (1ull << (SIGPIPE - 1)), 0u) << status.out;
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
