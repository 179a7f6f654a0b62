// Jobs and callbacks run as their owner (docs/security.md, "Run-as modes"):
// a real farm whose worker has run_as: owner (or proxy), with throwaway users
// made by useradd for each test and removed after it, whatever happens. Root
// is needed to make users and to switch to them: otherwise every test skips.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"
#include "qube/account.hpp"

#ifndef QUBE_SOURCE_DIR
#error "QUBE_SOURCE_DIR must name the source tree (for tests/fakes)"
#endif

namespace qube_it {
namespace {

namespace fs = std::filesystem;

// A user that exists for one test: useradd -m on creation, userdel -r (its
// home and group too) when the test ends, passed or not.
class ThrowawayUser {
 public:
  explicit ThrowawayUser(const std::string& suffix)
      : name_("qbt" + std::to_string(getpid()) + suffix) {
    const std::string cmd = "useradd -m -s /bin/sh " + name_ + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("useradd " + name_ + " failed");
    account_ = qube::lookup_account(name_);
  }
  ~ThrowawayUser() {
    const std::string cmd = "userdel -r -f " + name_ + " >/dev/null 2>&1";
    (void)!std::system(cmd.c_str());
  }
  ThrowawayUser(const ThrowawayUser&) = delete;
  ThrowawayUser& operator=(const ThrowawayUser&) = delete;
  const std::string& name() const { return name_; }
  const qube::Account& account() const { return account_; }

 private:
  std::string name_;
  qube::Account account_;
};

struct FileOwner {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

FileOwner owner_of(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return {};
  return {st.st_uid, st.st_gid};
}

class RunAsFarm : public FarmTest {
 protected:
  void SetUp() override {
    FarmTest::SetUp();
    if (geteuid() != 0) GTEST_SKIP() << "running jobs as their owner needs root (to make users and switch to them)";
    // The test's directory is root's: the throwaway users write their files there.
    fs::permissions(dir(), fs::perms::all | fs::perms::sticky_bit);
  }

  // A job of `user` writing its uid, its environment and working directory,
  // and a file of its own, under `tag` in the test's directory.
  std::uint64_t submit_probe(const std::string& user, const std::string& tag) {
    std::vector<std::string> args;
    if (!user.empty()) args = {"--user", user};
    args.insert(args.end(), {"sh", "-c",
                             "id -u > " + path(tag + ".uid") + "; echo $USER $LOGNAME $HOME > " + path(tag + ".env") +
                                 "; pwd > " + path(tag + ".cwd") + "; touch " + path(tag + ".file")});
    return submit(args);
  }

  // What the probe wrote, once the job is complete.
  void expect_ran_as(std::uint64_t id, const qube::Account& as, const std::string& tag) {
    ASSERT_EQ(wait_terminal(id), "complete") << show(id).dump();
    EXPECT_EQ(read_file(path(tag + ".uid")), std::to_string(as.uid) + "\n");
    EXPECT_EQ(owner_of(path(tag + ".file")).uid, as.uid);
    EXPECT_EQ(owner_of(path(tag + ".file")).gid, as.gid);
    EXPECT_EQ(read_file(path(tag + ".env")), as.name + " " + as.name + " " + as.home + "\n");
    EXPECT_EQ(read_file(path(tag + ".cwd")), as.home + "\n") << "no --cwd: the owner's home";
  }

  static std::string reason_of_instances(const Json& job) {
    std::string all;
    for (const auto& inst : job.at("instances")) all += inst.value("reason", "") + "\n";
    return all;
  }
};

TEST_F(RunAsFarm, EachJobRunsAsItsOwner) {
  ThrowawayUser alice("a"), bob("b");
  start_supervisor();
  start_worker("w1", 2, "run_as: owner");
  const auto a = submit_probe(alice.name(), "alice");
  const auto b = submit_probe(bob.name(), "bob");
  expect_ran_as(a, alice.account(), "alice");
  expect_ran_as(b, bob.account(), "bob");
  ASSERT_NE(alice.account().uid, bob.account().uid);
  // Its output is the owner's to read, through the supervisor.
  const RunResult out = run({"qb", "out", std::to_string(a)}, {{"QB_USER", alice.name()}});
  EXPECT_EQ(out.code, 0) << out.describe();
}

TEST_F(RunAsFarm, AKeptAliveApplicationRunsAsItsOwner) {
  ThrowawayUser alice("a");
  start_supervisor();
  start_worker("w1", 1, "run_as: owner");
  const std::string fakes = std::string(QUBE_SOURCE_DIR) + "/tests/fakes/";
  const std::string scene = path("scene.txt");
  std::ofstream(scene) << "start_log " << path("start.log") << "\n";
  const Json package{{"scenefile", scene}, {"mayaexe", fakes + "maya"}, {"outputpath", path("out/img")},
                     {"imageformat", "exr"}, {"camera", "persp"}, {"threads", 1}};
  const auto id = submit({"--user", alice.name(), "--type", "maya", "--range", "1-2", "--package", package.dump()});
  ASSERT_EQ(wait_terminal(id), "complete") << show(id).dump();
  // The application made these: it ran as alice, in her groups.
  for (const std::string& file : {path("start.log"), path("out/img.0001.exr"), path("out/img.0002.exr")}) {
    EXPECT_EQ(owner_of(file).uid, alice.account().uid) << file;
    EXPECT_EQ(owner_of(file).gid, alice.account().gid) << file;
  }
}

TEST_F(RunAsFarm, AnUnknownUserFailsWithAReasonAndIsNotRetriedThere) {
  start_supervisor();
  start_worker("w1", 1, "run_as: owner");
  const std::string ghost = "qbt" + std::to_string(getpid()) + "ghost";
  const auto id = submit_probe(ghost, "ghost");
  ASSERT_EQ(wait_terminal(id), "failed");
  const Json job = show(id);
  const std::string reason = "user '" + ghost + "' does not exist on w1";
  EXPECT_TRUE(contains(job.value("reason", ""), reason)) << job.dump();
  EXPECT_TRUE(contains(reason_of_instances(job), reason)) << job.dump();
  EXPECT_EQ(job.at("instances").size(), 1u) << "tried on w1 again: " << job.at("instances").dump();
  const RunResult history = run({"qb", "history", std::to_string(id)});
  EXPECT_TRUE(contains(history.out, reason)) << history.describe();
  EXPECT_FALSE(fs::exists(path("ghost.uid")));
}

TEST_F(RunAsFarm, RootJobsAreRefusedUnlessAllowedAndGoWhereTheyAre) {
  start_supervisor();
  start_worker("w1", 1, "run_as: owner");
  const auto refused = submit_probe("root", "refused");
  ASSERT_EQ(wait_terminal(refused), "failed");
  const Json job = show(refused);
  EXPECT_TRUE(contains(job.value("reason", ""), "refused on w1 (allow_root_jobs is off)")) << job.dump();
  EXPECT_FALSE(fs::exists(path("refused.uid")));

  // A host that allows them runs it; w1 (which refuses) is not tried twice.
  start_worker("w2", 1, "run_as: owner\nallow_root_jobs: true");
  const auto allowed = submit_probe("root", "allowed");
  ASSERT_EQ(wait_terminal(allowed), "complete") << show(allowed).dump();
  EXPECT_EQ(read_file(path("allowed.uid")), "0\n");
  int on_w1 = 0;
  const Json shown = show(allowed);  // kept: a range-for over show(...).at(...) would outlive it
  for (const auto& inst : shown.at("instances")) on_w1 += inst.value("host", "") == "w1" ? 1 : 0;
  EXPECT_LE(on_w1, 1);
}

TEST_F(RunAsFarm, ProxyModeRunsEveryJobAsTheProxy) {
  ThrowawayUser render("r"), alice("a");
  start_supervisor();
  start_worker("w1", 1, "run_as: proxy\nproxy_user: " + render.name());
  const auto id = submit_probe(alice.name(), "proxied");
  expect_ran_as(id, render.account(), "proxied");
}

TEST_F(RunAsFarm, ACallbackRunsAsTheJobsOwner) {
  ThrowawayUser alice("a");
  SupervisorOptions options;
  options.extra_config = "callbacks_run_as_owner: true\n";
  start_supervisor(options);
  start_worker("w1", 1);
  const std::string file = path("callback.uid");
  const auto id = submit({"--user", alice.name(), "--callback", "complete-job-self:shell:id -u > " + file, "true"});
  ASSERT_EQ(wait_terminal(id), "complete");
  ASSERT_TRUE(wait_until([&] { return read_file(file).find('\n') != std::string::npos; }))
      << run({"qb", "history", std::to_string(id)}).out;
  EXPECT_EQ(read_file(file), std::to_string(alice.account().uid) + "\n");
}

TEST_F(RunAsFarm, ACallbackOfAnUnknownOwnerDoesNotRunAndSaysWhy) {
  SupervisorOptions options;
  options.extra_config = "callbacks_run_as_owner: true\n";
  start_supervisor(options);
  start_worker("w1", 1);
  const std::string ghost = "qbt" + std::to_string(getpid()) + "ghost";
  const std::string file = path("callback.uid");
  const auto id = submit({"--user", ghost, "--callback", "complete-job-self:shell:id -u > " + file, "true"});
  ASSERT_EQ(wait_terminal(id), "complete");
  const std::string why = "not run: user '" + ghost + "' does not exist";
  EXPECT_TRUE(wait_until([&] { return contains(run({"qb", "history", std::to_string(id)}).out, why); }))
      << run({"qb", "history", std::to_string(id)}).out;
  EXPECT_FALSE(fs::exists(file));
}

}  // namespace
}  // namespace qube_it
