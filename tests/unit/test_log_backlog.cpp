// The worker's kept output (worker/log_backlog.hpp): what a supervisor that
// restarted refused is sent again, once and in order; what it took is not.
#include "worker/log_backlog.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace qube::worker {
namespace {

proto::LogReport output(const std::string& text) { return proto::LogReport{{7, 0}, {Stream::out, text}}; }

// Sends everything it can, as the worker does: message ids from `next`.
std::vector<std::string> send_all(LogBacklog& logs, std::uint64_t& next) {
  std::vector<std::string> sent;
  while (const proto::LogReport* r = logs.next_to_send()) {
    sent.push_back(r->log.data);
    logs.sent_next(next++);
  }
  return sent;
}

TEST(LogBacklog, RefusedOutputIsSentAgainInOrderAndTakenOutputIsNot) {
  LogBacklog logs;
  std::uint64_t next = 1;
  for (const char* line : {"a", "b", "c", "d"}) logs.add(output(line));
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"a", "b", "c", "d"}));  // ids 1-4
  EXPECT_TRUE(logs.awaiting_ack());
  // The supervisor restarted after taking a and b: c and d reach the new one.
  logs.refused(3);
  logs.refused(4);
  logs.add(output("e"));  // made while registering: not sent yet
  logs.registered();
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(logs.next_to_send(), nullptr);
}

TEST(LogBacklog, AnAcknowledgedHeartbeatForgetsWhatWasSentBeforeIt) {
  LogBacklog logs;
  std::uint64_t next = 1;
  logs.add(output("a"));
  logs.add(output("bb"));
  send_all(logs, next);  // ids 1, 2
  logs.taken_before(2);  // a heartbeat sent between them was acked
  EXPECT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs.bytes(), 2u);
  EXPECT_TRUE(logs.awaiting_ack());
  logs.taken_before(10);
  EXPECT_EQ(logs.size(), 0u);
  EXPECT_FALSE(logs.awaiting_ack());
  // Nothing left to send again at a registration.
  logs.registered();
  EXPECT_EQ(logs.next_to_send(), nullptr);
}

TEST(LogBacklog, ASilentSupervisorLeftForAnotherGetsNothingButTheOtherGetsAll) {
  LogBacklog logs;
  std::uint64_t next = 1;
  logs.add(output("a"));
  logs.add(output("b"));
  send_all(logs, next);
  logs.all_refused();
  EXPECT_FALSE(logs.awaiting_ack());
  logs.registered();
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"a", "b"}));
}

TEST(LogBacklog, AFailedSendLeavesTheRestInOrder) {
  LogBacklog logs;
  logs.add(output("a"));
  logs.add(output("b"));
  ASSERT_NE(logs.next_to_send(), nullptr);
  EXPECT_EQ(logs.next_to_send()->log.data, "a");  // not sent: asked again, the same
  logs.sent_next(5);
  EXPECT_EQ(logs.next_to_send()->log.data, "b");
  logs.refused(99);  // not one of ours: nothing happens
  EXPECT_TRUE(logs.awaiting_ack());
}

TEST(LogBacklog, BoundedByDroppingTheOldestAndCountingIt) {
  LogBacklog logs(10);
  std::uint64_t next = 1;
  logs.add(output("0123456"));
  logs.add(output("789"));
  EXPECT_EQ(logs.take_dropped_bytes(), 0u);
  logs.add(output("abcd"));  // 14 bytes: the oldest goes
  EXPECT_EQ(logs.take_dropped_bytes(), 7u);
  EXPECT_EQ(logs.take_dropped_bytes(), 0u);
  EXPECT_EQ(logs.bytes(), 7u);
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"789", "abcd"}));
  // A single output over the bound is kept (the newest always is).
  logs.add(output(std::string(50, 'x')));
  EXPECT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs.take_dropped_bytes(), 7u);
  EXPECT_FALSE(logs.awaiting_ack());
}

}  // namespace
}  // namespace qube::worker
