// Qube frame ranges: parsing, errors, agenda items and frame padding.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "qube/range.hpp"

namespace {

using qube::agenda_names;
using qube::expand_range;
using qube::Frame;
using qube::FrameRun;
using qube::make_items;
using qube::pad_frame;
using qube::parse_range;
using qube::RangeError;
using Frames = std::vector<Frame>;
using Names = std::vector<std::string>;

// The position a RangeError reports for `text`, or -1 if none is thrown.
long error_position(const std::string& text) {
  try {
    parse_range(text);
  } catch (const RangeError& e) {
    return static_cast<long>(e.position);
  }
  return -1;
}

// ---- parsing ---------------------------------------------------------------

TEST(ParseRange, SingleFrame) {
  EXPECT_EQ(expand_range("1"), (Frames{1}));
  EXPECT_EQ(expand_range("0"), (Frames{0}));
  EXPECT_EQ(expand_range("-7"), (Frames{-7}));
  const auto runs = parse_range("42");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].first, 42);
  EXPECT_EQ(runs[0].last, 42);
  EXPECT_EQ(runs[0].count(), 1u);
  EXPECT_EQ(runs[0].name(), "42");
}

TEST(ParseRange, CommaList) {
  EXPECT_EQ(expand_range("1,3,5"), (Frames{1, 3, 5}));
  EXPECT_EQ(parse_range("1,3,5").size(), 3u);
  // Order as written, duplicates kept.
  EXPECT_EQ(expand_range("5,1,5"), (Frames{5, 1, 5}));
}

TEST(ParseRange, SimpleSpan) {
  const auto frames = expand_range("1-100");
  ASSERT_EQ(frames.size(), 100u);
  EXPECT_EQ(frames.front(), 1);
  EXPECT_EQ(frames.back(), 100);
  for (std::size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i], static_cast<Frame>(i + 1));
  const auto runs = parse_range("1-100");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].step, 1);
  EXPECT_EQ(runs[0].count(), 100u);
  EXPECT_EQ(runs[0].name(), "1-100");
}

TEST(ParseRange, SteppedSpan) {
  const auto frames = expand_range("1-100x3");
  ASSERT_EQ(frames.size(), 34u);
  for (std::size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i], static_cast<Frame>(1 + 3 * i));
  EXPECT_EQ(frames.back(), 100);
  EXPECT_EQ(parse_range("1-100x3")[0].name(), "1-100x3");
  // Upper-case X is accepted too.
  EXPECT_EQ(expand_range("1-7X3"), (Frames{1, 4, 7}));
}

TEST(ParseRange, SteppedSpanIsTrimmedToItsLastFrame) {
  EXPECT_EQ(expand_range("1-10x4"), (Frames{1, 5, 9}));
  const auto runs = parse_range("1-10x4");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].last, 9);
  EXPECT_EQ(runs[0].name(), "1-9x4");
  // A step larger than the span leaves one frame.
  EXPECT_EQ(expand_range("1-5x10"), (Frames{1}));
  EXPECT_EQ(parse_range("1-5x10")[0].name(), "1");
}

TEST(ParseRange, NegativeFrames) {
  EXPECT_EQ(expand_range("-10--1"), (Frames{-10, -9, -8, -7, -6, -5, -4, -3, -2, -1}));
  EXPECT_EQ(expand_range("-2-2"), (Frames{-2, -1, 0, 1, 2}));
  EXPECT_EQ(parse_range("-10--1")[0].name(), "-10--1");
}

TEST(ParseRange, Descending) {
  EXPECT_EQ(expand_range("10-1"), (Frames{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
  const auto runs = parse_range("10-1");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].step, -1);
  EXPECT_EQ(runs[0].count(), 10u);
  EXPECT_EQ(runs[0].name(), "10-1");
  EXPECT_EQ(expand_range("10-1x4"), (Frames{10, 6, 2}));
  EXPECT_EQ(parse_range("10-1x4")[0].name(), "10-2x4");
  EXPECT_EQ(expand_range("-1--5x2"), (Frames{-1, -3, -5}));
}

TEST(ParseRange, MixedList) {
  EXPECT_EQ(expand_range("1-3,10,20-26x3,5-4"), (Frames{1, 2, 3, 10, 20, 23, 26, 5, 4}));
  const auto runs = parse_range("1-3,10,20-26x3,5-4");
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].name(), "1-3");
  EXPECT_EQ(runs[1].name(), "10");
  EXPECT_EQ(runs[2].name(), "20-26x3");
  EXPECT_EQ(runs[3].name(), "5-4");
}

TEST(ParseRange, Whitespace) {
  EXPECT_EQ(expand_range("  1 - 3 , 5\t,\t7-9x2  "), (Frames{1, 2, 3, 5, 7, 9}));
  EXPECT_EQ(expand_range(" 4 "), (Frames{4}));
}

// ---- errors ----------------------------------------------------------------

TEST(ParseRangeErrors, MissingEndOfSpan) {
  EXPECT_THROW(parse_range("1-"), RangeError);
  EXPECT_EQ(error_position("1-"), 2);
}

TEST(ParseRangeErrors, NotANumber) {
  EXPECT_THROW(parse_range("abc"), RangeError);
  EXPECT_EQ(error_position("abc"), 0);
  EXPECT_EQ(error_position("1,a"), 2);
  EXPECT_EQ(error_position("1-5y"), 3);
  EXPECT_EQ(error_position("1 2"), 2);
}

TEST(ParseRangeErrors, ZeroStep) {
  EXPECT_THROW(parse_range("1-5x0"), RangeError);
  EXPECT_EQ(error_position("1-5x0"), 4);
  EXPECT_EQ(error_position("1-5x"), 4);
}

TEST(ParseRangeErrors, Empty) {
  EXPECT_THROW(parse_range(""), RangeError);
  EXPECT_EQ(error_position(""), 0);
  EXPECT_NE(error_position("   "), -1);
}

TEST(ParseRangeErrors, EmptyListElement) {
  EXPECT_THROW(parse_range("1,,2"), RangeError);
  EXPECT_EQ(error_position("1,,2"), 2);
  EXPECT_EQ(error_position("1,"), 2);
  EXPECT_EQ(error_position(",1"), 0);
}

TEST(ParseRangeErrors, MessageNamesTheText) {
  try {
    parse_range("1,,2");
    FAIL() << "no RangeError";
  } catch (const RangeError& e) {
    EXPECT_NE(std::string(e.what()).find("1,,2"), std::string::npos) << e.what();
  }
}

TEST(ParseRangeErrors, HugeNumbers) {
  EXPECT_THROW(parse_range("99999999999999999999999"), RangeError);
  EXPECT_THROW(parse_range("1-99999999999999999999999"), RangeError);
  EXPECT_THROW(parse_range("1-5x99999999999999999999999"), RangeError);
}

TEST(ParseRangeLimits, TooManyFrames) {
  EXPECT_THROW(parse_range("1-100000000"), RangeError);
  EXPECT_THROW(parse_range("100000000-1"), RangeError);
  // The limit counts frames over all parts.
  EXPECT_THROW(parse_range("1-6000000,1-6000000"), RangeError);
  // Exactly at the limit is fine, and a step brings a big span under it.
  EXPECT_EQ(parse_range("1-10000000")[0].count(), qube::kMaxFramesPerJob);
  EXPECT_THROW(parse_range("1-10000001"), RangeError);
  EXPECT_EQ(parse_range("1-100000000x10")[0].count(), 10'000'000u);
}

// ---- agenda items ----------------------------------------------------------

TEST(MakeItems, OneFramePerItem) {
  EXPECT_EQ(agenda_names("1-3", 1), (Names{"1", "2", "3"}));
  EXPECT_EQ(agenda_names("1-7x3", 1), (Names{"1", "4", "7"}));
}

TEST(MakeItems, Chunks) {
  EXPECT_EQ(agenda_names("1-4", 2), (Names{"1-2", "3-4"}));
  EXPECT_EQ(agenda_names("1-10", 3), (Names{"1-3", "4-6", "7-9", "10"}));
  EXPECT_EQ(agenda_names("1-11", 5), (Names{"1-5", "6-10", "11"}));
  // A chunk larger than the range gives one item.
  EXPECT_EQ(agenda_names("1-5", 100), (Names{"1-5"}));
}

TEST(MakeItems, SteppedChunks) {
  EXPECT_EQ(agenda_names("1-100x3", 2).front(), "1-4x3");
  EXPECT_EQ(agenda_names("1-13x3", 2), (Names{"1-4x3", "7-10x3", "13"}));
  EXPECT_EQ(agenda_names("10-1", 4), (Names{"10-7", "6-3", "2-1"}));
}

TEST(MakeItems, ItemsHoldExactlyTheirFrames) {
  // Expanding the item names gives back the frames of the range, in order.
  for (const char* text : {"1-100x3", "1-10,20-30x2,7", "10-1x2,-5--1", "1-37"}) {
    for (std::size_t chunk : {1u, 2u, 3u, 7u}) {
      Frames joined;
      for (const auto& name : agenda_names(text, chunk)) {
        const auto part = expand_range(name);
        EXPECT_LE(part.size(), chunk) << text << " item " << name;
        joined.insert(joined.end(), part.begin(), part.end());
      }
      EXPECT_EQ(joined, expand_range(text)) << text << " chunk " << chunk;
    }
  }
}

TEST(MakeItems, ItemsNeverSpanRuns) {
  EXPECT_EQ(agenda_names("1-3,4-6", 4), (Names{"1-3", "4-6"}));
  EXPECT_EQ(agenda_names("1,2,3", 10), (Names{"1", "2", "3"}));
  EXPECT_EQ(agenda_names("1-5,10-12", 2), (Names{"1-2", "3-4", "5", "10-11", "12"}));
}

TEST(MakeItems, Partitions) {
  EXPECT_EQ(agenda_names("1-100", 1, 4), (Names{"1-25", "26-50", "51-75", "76-100"}));
  // partitions override chunk
  EXPECT_EQ(agenda_names("1-100", 7, 4), (Names{"1-25", "26-50", "51-75", "76-100"}));
  EXPECT_EQ(agenda_names("1-100", 1, 1), (Names{"1-100"}));
  // More partitions than frames: one frame each.
  EXPECT_EQ(agenda_names("1-3", 1, 10), (Names{"1", "2", "3"}));
  // Partitions never merge runs either.
  EXPECT_EQ(agenda_names("1-4,11-14", 1, 2), (Names{"1-4", "11-14"}));
}

// Checks that `partitions` items of `text` (one run) are exactly that many, differ
// in size by at most one frame, and hold all the frames in order.
::testing::AssertionResult near_equal_partitions(const std::string& text, std::size_t partitions) {
  std::vector<std::size_t> sizes;
  Frames joined;
  for (const auto& item : make_items(parse_range(text), 1, partitions)) {
    sizes.push_back(item.count());
    for (const auto f : expand_range(item.name())) joined.push_back(f);
  }
  std::string shown;
  for (auto n : sizes) shown += std::to_string(n) + " ";
  const auto [lo, hi] = std::minmax_element(sizes.begin(), sizes.end());
  if (sizes.size() != partitions || (!sizes.empty() && *hi - *lo > 1) || joined != expand_range(text))
    return ::testing::AssertionFailure()
           << "'" << text << "' in " << partitions << " partitions gave item sizes { " << shown << "}";
  return ::testing::AssertionSuccess();
}

// Regression test for a bug found and fixed while this suite was written.
TEST(MakeItems, PartitionsGiveThatManyNearEqualItems) {
  EXPECT_TRUE(near_equal_partitions("1-100", 4));  // works today
  EXPECT_TRUE(near_equal_partitions("1-10", 6));
  EXPECT_TRUE(near_equal_partitions("1-10", 4));
  EXPECT_TRUE(near_equal_partitions("1-100", 7));
  EXPECT_TRUE(near_equal_partitions("1-7", 5));
}

TEST(MakeItems, ZeroChunkThrows) {
  EXPECT_THROW(make_items(parse_range("1-10"), 0), RangeError);
}

TEST(MakeItems, ItemRunsAreConsistent) {
  for (const auto& item : make_items(parse_range("1-20x3"), 3)) {
    EXPECT_EQ(item.at(item.count() - 1), item.last) << item.name();
    EXPECT_EQ(expand_range(item.name()).size(), item.count()) << item.name();
  }
}

// ---- padding ---------------------------------------------------------------

TEST(PadFrame, Positive) {
  EXPECT_EQ(pad_frame(5, 4), "0005");
  EXPECT_EQ(pad_frame(1234, 4), "1234");
  EXPECT_EQ(pad_frame(12345, 4), "12345");
  EXPECT_EQ(pad_frame(0, 3), "000");
  EXPECT_EQ(pad_frame(7, 0), "7");
  EXPECT_EQ(pad_frame(7, 1), "7");
}

TEST(PadFrame, Negative) {
  EXPECT_EQ(pad_frame(-5, 3), "-005");
  EXPECT_EQ(pad_frame(-5, 0), "-5");
  EXPECT_EQ(pad_frame(-1234, 2), "-1234");
  EXPECT_EQ(pad_frame(-12, 4), "-0012");
}

}  // namespace
