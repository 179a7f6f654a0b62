// qbinstance refuses a module it cannot trust to share its binary interface,
// with a reason the worker passes on, instead of crashing in it. The instance
// process is driven directly over its channel, as the worker would.
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "channel.hpp"
#include "qube/version.hpp"

#ifndef QUBE_BIN_DIR
#error "QUBE_BIN_DIR must name the directory of the built tools"
#endif
#ifndef QUBE_TEST_PLUGIN_DIR
#error "QUBE_TEST_PLUGIN_DIR must name the directory of the test plugins"
#endif

namespace {

struct Refusal {
  std::string reason;
  int exit_status = -1;
};

// Starts qbinstance on `module`, gives it a job and returns its fatal message.
Refusal load(const std::string& module) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair");
  const timeval limit{30, 0};  // a hung qbinstance fails the test instead of hanging it
  setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  const std::string exe = std::string(QUBE_BIN_DIR) + "/qbinstance";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 3);
    execl(exe.c_str(), "qbinstance", "--fd", "3", "--module", module.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  qube::Json job{{"id", 7}, {"subid", 0}, {"pgrp", 7}, {"name", "abi"}, {"type", "hello"}, {"user", "t"},
                 {"package", qube::Json::object()}, {"env", qube::Json::object()}, {"padding", 0}, {"cwd", ""}};
  qube::worker::write_frame(fds[0], qube::Json{{"job", job}});
  Refusal r;
  try {
    while (auto msg = qube::worker::read_frame(fds[0]))
      if (msg->value("t", "") == "fatal") r.reason = msg->value("reason", "");
  } catch (const std::exception& e) {
    r.reason = std::string("channel: ") + e.what();
  }
  close(fds[0]);
  ::kill(pid, SIGKILL);  // no-op when it has exited, as it should have
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

TEST(PluginAbi, AModuleBuiltForAnotherSdkAbiIsRefusedWithAClearError) {
  const Refusal r = load(std::string(QUBE_TEST_PLUGIN_DIR) + "/libqube_test_bad_abi.so");
  EXPECT_EQ(r.exit_status, 3) << r.reason;
  EXPECT_NE(r.reason.find("built for sdk ABI " + std::to_string(qube::kSdkAbiVersion + 1)), std::string::npos)
      << r.reason;
  EXPECT_NE(r.reason.find("rebuild the plugin"), std::string::npos) << r.reason;
}

TEST(PluginAbi, ALibraryThatIsNoJobTypeIsRefused) {
  const Refusal r = load(std::string(QUBE_BIN_DIR) + "/../lib/libqube.so");  // the sdk: a library, no job type
  EXPECT_EQ(r.exit_status, 3) << r.reason;
  EXPECT_NE(r.reason.find("is not a Qube job type"), std::string::npos) << r.reason;
}

}  // namespace
