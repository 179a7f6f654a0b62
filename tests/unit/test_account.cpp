// OS accounts (qube/account.hpp), the launcher's run_as, and the worker's
// decision of whom an instance runs as (worker/run_as.hpp).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "qube/account.hpp"
#include "qube/curve.hpp"
#include "qube/keys.hpp"
#include "qube/launcher.hpp"
#include "worker/config.hpp"
#include "worker/run_as.hpp"

namespace {

using qube::Account;
using qube::AccountError;

const char* kNoSuchUser = "qube-no-such-user-4711";

// "nobody" on Debian; the tests that need a second account skip without it.
std::optional<Account> nobody() { return qube::find_account("nobody"); }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

// What `argv` prints to stdout, started by the launcher as `as`.
std::string output_as(const Account& as, const std::vector<std::string>& argv, qube::Launched* out = nullptr) {
  qube::LaunchSpec spec;
  spec.program = argv[0];
  spec.argv = argv;
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  qube::run_as_login(spec, as);
  const qube::Launched child = qube::launch(spec);
  if (out) *out = child;
  if (!child.started()) return {};
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = ::read(child.out, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(child.out);
  ::close(child.err);
  ::waitpid(child.pid, nullptr, 0);
  return text;
}

// The exit code of `body` run in a forked child switched to `as` (1 if the
// switch failed, -1 if it did not exit): the test process keeps its rights.
int in_child_as(const Account& as, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    try {
      qube::become(as);
    } catch (...) {
      _exit(1);
    }
    _exit(body());
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// ---- lookup ------------------------------------------------------------------

TEST(Account, FindsRoot) {
  const auto root = qube::find_account("root");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  EXPECT_EQ(root->name, "root");
  EXPECT_FALSE(root->home.empty());
  EXPECT_NE(std::find(root->groups.begin(), root->groups.end(), 0u), root->groups.end());
}

TEST(Account, UnknownUserIsNoneAndAClearError) {
  EXPECT_FALSE(qube::find_account(kNoSuchUser));
  EXPECT_FALSE(qube::find_account(""));
  EXPECT_EQ(message_of([] { qube::lookup_account(kNoSuchUser, "w3"); }),
            std::string("user '") + kNoSuchUser + "' does not exist on w3");
  EXPECT_EQ(message_of([] { qube::lookup_account(kNoSuchUser); }),
            std::string("user '") + kNoSuchUser + "' does not exist");
  EXPECT_EQ(message_of([] { qube::lookup_account(""); }), "the job has no user");
}

TEST(Account, CurrentIsTheEffectiveUser) {
  const Account me = qube::current_account();
  EXPECT_EQ(me.uid, geteuid());
  EXPECT_FALSE(me.name.empty());
}

TEST(Account, OnlyRootOrTheSameUserCanBecome) {
  Account root, alice, bob;
  alice.uid = 1001;
  bob.uid = 1002;
  EXPECT_TRUE(qube::can_become(root, alice));
  EXPECT_TRUE(qube::can_become(alice, alice));
  EXPECT_FALSE(qube::can_become(alice, bob));
  EXPECT_FALSE(qube::can_become(alice, root));
}

// ---- become and the launcher's run_as -----------------------------------------

TEST(Account, BecomeDropsRootForGood) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change users";
  const auto target = nobody();
  if (!target) GTEST_SKIP() << "no account 'nobody' on this host";
  const int code = in_child_as(*target, [&] {
    const bool dropped = getuid() == target->uid && geteuid() == target->uid && getgid() == target->gid;
    const bool no_way_back = setuid(0) != 0 && seteuid(0) != 0;
    return dropped && no_way_back ? 0 : 2;
  });
  EXPECT_EQ(code, 0) << "1: become failed; 2: root was not given up for good";
}

TEST(Launcher, RunAsStartsTheChildAsTheAccount) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change users";
  const auto target = nobody();
  if (!target) GTEST_SKIP() << "no account 'nobody' on this host";
  EXPECT_EQ(output_as(*target, {"/usr/bin/id", "-u"}), std::to_string(target->uid) + "\n");
  EXPECT_EQ(output_as(*target, {"/usr/bin/id", "-g"}), std::to_string(target->gid) + "\n");
  // A login's environment, and the home it lacks (/nonexistent) replaced by /.
  const std::string env = output_as(*target, {"/bin/sh", "-c", "echo $USER $LOGNAME $HOME; pwd"});
  EXPECT_EQ(env, "nobody nobody " + target->home + "\n" +
                     (std::filesystem::is_directory(target->home) ? target->home : std::string("/")) + "\n");
}

TEST(Launcher, RunAsWithoutTheRightIsAFailedStart) {
  // As root, first give root up (in a child, the test process keeps it).
  const auto unprivileged = geteuid() == 0 ? nobody() : std::optional<Account>(qube::current_account());
  if (!unprivileged) GTEST_SKIP() << "no account 'nobody' to drop root to";
  const int code = in_child_as(*unprivileged, [&] {
    qube::Launched child;
    output_as(*qube::find_account("root"), {"/usr/bin/id", "-u"}, &child);
    return !child.started() && child.failed_step == "setgroups" && child.error == EPERM ? 0 : 2;
  });
  EXPECT_EQ(code, 0) << "1: could not drop root; 2: the launch as root did not fail at setgroups";
}

// ---- the worker's decision -------------------------------------------------------

using qube::worker::Config;
using qube::worker::RunAs;
using qube::worker::RunAsRefusal;

std::string refusal(const qube::worker::RunAsDecision& d) {
  const auto* r = std::get_if<RunAsRefusal>(&d);
  return r ? r->reason : "(not refused)";
}

std::optional<Account> switched_to(const qube::worker::RunAsDecision& d) {
  const auto* a = std::get_if<std::optional<Account>>(&d);
  return a ? *a : std::nullopt;
}

Account root_daemon() { return *qube::find_account("root"); }

TEST(WorkerRunAs, SelfNeverSwitches) {
  Config c;
  c.run_as = RunAs::self;
  const auto d = qube::worker::decide_run_as(c, kNoSuchUser, root_daemon(), "w3");
  ASSERT_TRUE(std::holds_alternative<std::optional<Account>>(d));
  EXPECT_FALSE(switched_to(d));
}

TEST(WorkerRunAs, OwnerSwitchesToTheJobsUser) {
  const auto target = nobody();
  if (!target) GTEST_SKIP() << "no account 'nobody' on this host";
  Config c;
  c.run_as = RunAs::owner;
  const auto d = qube::worker::decide_run_as(c, "nobody", root_daemon(), "w3");
  ASSERT_TRUE(switched_to(d));
  EXPECT_EQ(switched_to(d)->uid, target->uid);
}

TEST(WorkerRunAs, ProxySwitchesToTheProxyWhoeverOwnsTheJob) {
  const auto target = nobody();
  if (!target) GTEST_SKIP() << "no account 'nobody' on this host";
  Config c;
  c.run_as = RunAs::proxy;
  c.proxy_user = "nobody";
  const auto d = qube::worker::decide_run_as(c, kNoSuchUser, root_daemon(), "w3");
  ASSERT_TRUE(switched_to(d));
  EXPECT_EQ(switched_to(d)->name, "nobody");
}

TEST(WorkerRunAs, UnknownUserIsRefusedNamingTheHost) {
  Config c;
  c.run_as = RunAs::owner;
  EXPECT_EQ(refusal(qube::worker::decide_run_as(c, kNoSuchUser, root_daemon(), "w3")),
            std::string("user '") + kNoSuchUser + "' does not exist on w3");
  EXPECT_EQ(refusal(qube::worker::decide_run_as(c, "", root_daemon(), "w3")),
            "the job has no user to run as (run_as: owner)");
}

TEST(WorkerRunAs, RootJobsOnlyWhenAllowed) {
  Config c;
  c.run_as = RunAs::owner;
  EXPECT_EQ(refusal(qube::worker::decide_run_as(c, "root", root_daemon(), "w3")),
            "jobs that run as root (user 'root', uid 0) are refused on w3 (allow_root_jobs is off)");
  c.allow_root_jobs = true;
  const auto d = qube::worker::decide_run_as(c, "root", root_daemon(), "w3");
  EXPECT_TRUE(std::holds_alternative<std::optional<Account>>(d));
  EXPECT_FALSE(switched_to(d));  // the daemon already is root
}

TEST(WorkerRunAs, ANonRootWorkerCannotSwitch) {
  if (!nobody()) GTEST_SKIP() << "no account 'nobody' on this host";
  Config c;
  c.run_as = RunAs::owner;
  Account daemon;
  daemon.name = "render";
  daemon.uid = 4242;
  EXPECT_EQ(refusal(qube::worker::decide_run_as(c, "nobody", daemon, "w3")),
            "worker w3 runs as 'render', not root: it cannot run jobs as 'nobody' (run_as: owner)");
}

// ---- the worker's configuration ------------------------------------------------------

struct ConfigFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("qube-runas-" + std::to_string(getpid()) + ".yaml");
  explicit ConfigFile(const std::string& text) { std::ofstream(path) << text; }
  ~ConfigFile() { std::filesystem::remove(path); }
};

TEST(WorkerRunAs, ConfigKeysAndDefaults) {
  EXPECT_EQ(qube::worker::default_run_as(false), RunAs::self);
  EXPECT_EQ(qube::worker::default_run_as(true), RunAs::owner);
  Config unset;
  qube::worker::apply_defaults(unset);
  EXPECT_EQ(unset.run_as, RunAs::self);
  // A worker with the supervisor's key talks CURVE: names are authenticated.
  Config keyed;
  keyed.keys_dir = std::filesystem::temp_directory_path() / ("qube-keys-" + std::to_string(::getpid()));
  qube::keys::KeyFile supervisor = qube::keys::generate("supervisor");
  qube::keys::write_key_files(keyed.keys_dir / qube::curve::kSupervisorKeyFile, supervisor, false);
  qube::worker::apply_defaults(keyed);
  std::filesystem::remove_all(keyed.keys_dir);
  EXPECT_EQ(keyed.run_as, RunAs::owner);

  const ConfigFile proxy("run_as: proxy\nproxy_user: render\nallow_root_jobs: true\n");
  const Config c = qube::worker::load_config(proxy.path);
  EXPECT_EQ(c.run_as, RunAs::proxy);
  EXPECT_EQ(c.proxy_user, "render");
  EXPECT_TRUE(c.allow_root_jobs);
}

TEST(WorkerRunAs, BadConfigIsAClearError) {
  const ConfigFile bad("run_as: someone\n");
  EXPECT_NE(message_of([&] { qube::worker::load_config(bad.path); }).find("run_as must be owner, proxy or self"),
            std::string::npos);
  const ConfigFile no_proxy("run_as: proxy\n");
  EXPECT_NE(message_of([&] { qube::worker::load_config(no_proxy.path); }).find("run_as: proxy needs a proxy_user"),
            std::string::npos);
}

}  // namespace
