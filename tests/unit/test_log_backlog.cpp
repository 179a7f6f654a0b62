// The worker's kept output (worker/log_backlog.hpp): everything not acknowledged
// is sent again at a registration, in order; what was acknowledged is not.
#include "worker/log_backlog.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace qube::worker {
namespace {

proto::LogReport output(const std::string& text, std::uint64_t offset, Stream stream = Stream::out,
                        std::int32_t subid = 0) {
  return proto::LogReport{{7, subid}, {stream, text}, offset};
}

// Sends everything it may, as the worker does: message ids from `next`; the
// data of each message sent.
std::vector<std::string> send_all(LogBacklog& logs, std::uint64_t& next) {
  std::vector<std::string> sent;
  while (const proto::LogReport* r = logs.next_to_send()) {
    sent.push_back(r->log.data);
    logs.sent_next(next++);
  }
  return sent;
}

TEST(LogBacklog, WhatIsNotAcknowledgedIsSentAgainInOrderAtARegistration) {
  LogBacklog logs;
  std::uint64_t next = 1;
  logs.add(output("a", 0));
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"a"}));  // id 1
  logs.add(output("b", 1));
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"b"}));  // id 2
  EXPECT_TRUE(logs.awaiting_ack());
  logs.taken_before(2);  // a heartbeat sent between them was acknowledged
  logs.add(output("c", 2));  // made while registering again: not sent yet
  logs.send_all_again();
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"b", "c"}));
  logs.taken_before(next);
  EXPECT_EQ(logs.size(), 0u);
  EXPECT_EQ(logs.bytes(), 0u);
  EXPECT_FALSE(logs.awaiting_ack());
}

TEST(LogBacklog, OnlyUnsentContiguousOutputOfOneStreamIsMerged) {
  LogBacklog logs;
  std::uint64_t next = 1;
  logs.add(output("a", 0));
  logs.add(output("b", 1));
  logs.add(output("E", 0, Stream::err));
  logs.add(output("c", 2));
  logs.add(output("x", 0, Stream::out, 1));  // another instance
  logs.add(output("z", 9, Stream::out, 1));  // not contiguous
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"ab", "E", "c", "x", "z"}));
  logs.add(output("d", 3));  // the last entry was sent: a message of its own
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{"d"}));
  EXPECT_EQ(logs.next_to_send(), nullptr);
}

TEST(LogBacklog, AFailedSendLeavesTheRestInOrder) {
  LogBacklog logs;
  logs.add(output("a", 0, Stream::out, 0));
  logs.add(output("b", 0, Stream::out, 1));
  ASSERT_NE(logs.next_to_send(), nullptr);
  EXPECT_EQ(logs.next_to_send()->log.data, "a");  // not sent: asked again, the same
  logs.sent_next(5);
  EXPECT_EQ(logs.next_to_send()->log.data, "b");
  EXPECT_EQ(logs.next_to_send()->offset, 0u);
}

TEST(LogBacklog, BoundedByDroppingTheOldestAndCountingWhatWasNeverSent) {
  const std::size_t entry = sizeof(std::uint64_t) + sizeof(proto::LogReport);  // an entry's bookkeeping
  LogBacklog logs(2 * entry + 20);
  std::uint64_t next = 1;
  logs.add(output(std::string(10, 'a'), 0, Stream::out, 0));
  logs.add(output(std::string(10, 'b'), 0, Stream::out, 1));
  EXPECT_EQ(logs.take_dropped_bytes(), 0u);
  logs.add(output(std::string(10, 'c'), 0, Stream::out, 2));  // over: the oldest, never sent, goes
  EXPECT_EQ(logs.take_dropped_bytes(), 10u);
  EXPECT_EQ(logs.take_dropped_bytes(), 0u);
  EXPECT_EQ(send_all(logs, next), (std::vector<std::string>{std::string(10, 'b'), std::string(10, 'c')}));
  // Dropping what was sent is not counted: it most likely arrived.
  logs.add(output(std::string(10, 'd'), 0, Stream::out, 3));
  EXPECT_EQ(logs.take_dropped_bytes(), 0u);
  EXPECT_EQ(logs.size(), 2u);
  // One output over the bound is kept (the newest always is).
  LogBacklog tiny(1);
  tiny.add(output(std::string(50, 'x'), 0));
  EXPECT_EQ(tiny.size(), 1u);
}

TEST(LogBacklog, NoMoreThanKInFlightAtMostWaitForAnAck) {
  LogBacklog logs;
  std::uint64_t next = 1;
  for (std::size_t i = 0; i <= LogBacklog::kInFlightAtMost; ++i)
    logs.add(output("x", 0, Stream::out, static_cast<std::int32_t>(i)));
  EXPECT_EQ(send_all(logs, next).size(), LogBacklog::kInFlightAtMost);
  EXPECT_NE(logs.size(), 0u);
  logs.taken_before(2);  // the first was taken: one more may go
  EXPECT_EQ(send_all(logs, next).size(), 1u);
}

}  // namespace
}  // namespace qube::worker
