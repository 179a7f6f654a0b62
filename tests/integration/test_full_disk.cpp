// The supervisor's data directory on a small tmpfs that fills up mid-run, then
// empties: changes are refused with a clear error meanwhile, the loud log line
// comes once, nothing stored is lost and the run finishes once space is back.
// Mounting needs root: without it (or if the mount fails) the test is skipped.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class FullDisk : public FarmTest {
 protected:
  void SetUp() override {
    FarmTest::SetUp();
    if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs for the data directory needs root";
    data_ = dir() / "data";
    std::filesystem::create_directories(data_);
    if (::mount("qube-test", data_.c_str(), "tmpfs", 0, "size=8m") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs on " << data_ << ": " << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    // Detached at once even while the supervisor still has it open, so that the
    // fixture can remove the directory.
    if (mounted_) ::umount2(data_.c_str(), MNT_DETACH);
    FarmTest::TearDown();
  }
  // Writes a file into the data directory until the file system is full.
  void fill() {
    std::ofstream out(data_ / "filler", std::ios::binary);
    const std::string chunk(64 * 1024, 'x');
    while (out.write(chunk.data(), static_cast<std::streamsize>(chunk.size())) && out.flush()) {
    }
  }
  std::size_t count_in_log(const std::string& needle) const {
    std::size_t n = 0;
    for (const auto& line : read_lines(path("supervisor.log"))) n += line.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

  std::filesystem::path data_;
  bool mounted_ = false;
};

TEST_F(FullDisk, ChangesAreRefusedWhileFullAndTheRunFinishesOnceSpaceIsBack) {
  start_supervisor();
  start_worker("w", 2);
  const std::string log = path("frames.log");
  const auto id = submit({"--range", "1-600", "--cpus", "2", "sh", "-c", "echo QB_FRAME_NUMBER >> " + log});
  ASSERT_TRUE(wait_until([&] { return read_lines(log).size() >= 50; })) << "work never got going";

  fill();
  // A big submission needs new pages, which the full disk cannot give: from
  // then on the store cannot write. Its own fate is either way (not stored yet,
  // or refused), but qbsub never claims a job it could not store.
  const RunResult big = run({"qbsub", "--range", "1-5000", "true"});
  if (big.code == 0) ADD_FAILURE() << "a submission acknowledged on a full disk: " << big.describe();
  const std::string refused = "cannot write its store";
  RunResult small;
  ASSERT_TRUE(wait_until([&] {
    small = run({"qbsub", "echo", "hi"});
    return small.code == 1 && small.err.find(refused) != std::string::npos;
  }, 30s)) << "no clear refusal while the disk is full: " << small.describe();
  const RunResult read = run({"qb", "show", std::to_string(id), "--json"});
  EXPECT_EQ(read.code, 0) << "reads are still answered: " << read.describe();

  std::filesystem::remove(data_ / "filler");
  RunResult again;
  ASSERT_TRUE(wait_until([&] {
    again = run({"qbsub", "echo", "hi"});
    return again.code == 0;
  }, 30s)) << "changes are not accepted again once space is back: " << again.describe();
  EXPECT_EQ(count_in_log("STORE CANNOT WRITE"), 1u) << "logged loudly once for the episode";

  EXPECT_EQ(wait_terminal(id, 120s), "complete");
  std::set<std::string> seen;
  for (const auto& line : read_lines(log)) seen.insert(line);
  EXPECT_EQ(seen.size(), 600u) << "every item ran";
  const Json done = show(id);  // named: a range-for over a temporary's member reads freed memory
  for (const auto& item : done.at("agenda")) EXPECT_EQ(item.at("status"), "complete") << item.dump();

  // What was held is on disk: a restart finds the job complete.
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(show(id).at("status"), "complete");
}

}  // namespace
}  // namespace qube_it
