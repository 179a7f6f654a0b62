// The supervisor's bitmap of pending agenda items behaves like the ordered set of
// indices it replaced.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "pending_set.hpp"

namespace {

using qube::supervisor::PendingSet;

std::vector<std::size_t> items(const PendingSet& s) { return {s.begin(), s.end()}; }

TEST(PendingSet, InsertEraseAndOrder) {
  PendingSet s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.begin(), s.end());
  for (std::size_t i : {130u, 0u, 63u, 64u, 5u, 64u}) s.insert(i);
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(items(s), (std::vector<std::size_t>{0, 5, 63, 64, 130}));
  EXPECT_TRUE(s.contains(63));
  EXPECT_FALSE(s.contains(62));
  EXPECT_FALSE(s.contains(100000));
  s.erase(0);
  s.erase(0);       // absent: no change
  s.erase(100000);  // beyond the end: no change
  EXPECT_EQ(*s.begin(), 5u);
  EXPECT_EQ(s.size(), 4u);
  s.insert(1);  // below the first: found again
  EXPECT_EQ(*s.begin(), 1u);
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.begin(), s.end());
}

TEST(PendingSet, TakingTheFirstRepeatedlyDrainsInOrder) {
  PendingSet s;
  for (std::size_t i = 0; i < 1000; ++i) s.insert(i);
  for (std::size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(*s.begin(), i);
    s.erase(i);
  }
  EXPECT_TRUE(s.empty());
}

TEST(PendingSet, ErasingWhileIteratingVisitsTheRest) {
  PendingSet s;
  for (std::size_t i = 0; i < 200; i += 3) s.insert(i);
  std::vector<std::size_t> seen;
  for (std::size_t i : s) {
    seen.push_back(i);
    s.erase(i);
  }
  EXPECT_EQ(seen.size(), 67u);
  EXPECT_TRUE(s.empty());
}

TEST(PendingSet, MatchesStdSet) {
  PendingSet s;
  std::set<std::size_t> model;
  unsigned x = 12345;
  for (int n = 0; n < 5000; ++n) {
    x = x * 1103515245u + 12345u;
    const std::size_t i = (x >> 8) % 700;
    if ((x >> 4) % 3 == 0) {
      s.erase(i);
      model.erase(i);
    } else {
      s.insert(i);
      model.insert(i);
    }
    ASSERT_EQ(s.size(), model.size());
    ASSERT_EQ(s.empty() ? -1 : static_cast<long>(*s.begin()), model.empty() ? -1 : static_cast<long>(*model.begin()));
  }
  EXPECT_EQ(items(s), std::vector<std::size_t>(model.begin(), model.end()));
}

}  // namespace
