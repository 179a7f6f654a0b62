// Dispatch order of an agenda: --order binary / reverse and preview items first
// (--flags p_agenda, --preview), as the supervisor lays the agenda out.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "qube/agenda_order.hpp"
#include "qube/range.hpp"
#include "qube/validate.hpp"

namespace {

using namespace qube;

std::vector<std::string> names_of(const std::string& range) { return agenda_names(range, 1); }

std::vector<std::string> in_order(const std::vector<std::string>& names, const std::vector<std::size_t>& order) {
  std::vector<std::string> out;
  for (std::size_t i : order) out.push_back(names[i]);
  return out;
}

TEST(AgendaOrder, BinaryIsFirstLastMiddleThenTheHalves) {
  EXPECT_EQ(binary_order(0), (std::vector<std::size_t>{}));
  EXPECT_EQ(binary_order(1), (std::vector<std::size_t>{0}));
  EXPECT_EQ(binary_order(2), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(binary_order(9), (std::vector<std::size_t>{0, 8, 4, 2, 6, 1, 3, 5, 7}));
  EXPECT_EQ(in_order(names_of("1-10"), binary_order(10)),
            (std::vector<std::string>{"1", "10", "5", "3", "7", "2", "4", "6", "8", "9"}));
}

TEST(AgendaOrder, BinaryTakesEveryIndexOnceAtAnySize) {
  for (std::size_t n : {3u, 17u, 64u, 1000u, 100001u}) {
    auto order = binary_order(n);
    ASSERT_EQ(order.size(), n);
    std::sort(order.begin(), order.end());
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(order, all) << n;
  }
}

TEST(AgendaOrder, PreviewFramesGoFirstThenTheRestInOrder) {
  const auto names = agenda_names("1-20", 5);  // 1-5 6-10 11-15 16-20
  EXPECT_EQ(in_order(names, dispatch_order(names, AgendaOrder::as_written, "7,18")),
            (std::vector<std::string>{"6-10", "16-20", "1-5", "11-15"}));
  EXPECT_EQ(in_order(names, dispatch_order(names, AgendaOrder::reverse, "7,18")),
            (std::vector<std::string>{"16-20", "6-10", "11-15", "1-5"}));
}

TEST(AgendaOrder, EveryNthAndTheDefaultPreview) {
  const auto names = names_of("1-7");
  EXPECT_EQ(in_order(names, dispatch_order(names, AgendaOrder::as_written, "3")),
            (std::vector<std::string>{"1", "4", "7", "2", "3", "5", "6"}));
  EXPECT_EQ(in_order(names, dispatch_order(names, AgendaOrder::as_written, kDefaultPreview)),
            (std::vector<std::string>{"1", "4", "7", "2", "3", "5", "6"}));
  // Stepped items and free names: a frame the step skips is in no item.
  const std::vector<std::string> mixed{"1-9x4", "2", "left-eye"};
  EXPECT_EQ(dispatch_order(mixed, AgendaOrder::as_written, "3,5"), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(dispatch_order(mixed, AgendaOrder::as_written, "2-2"), (std::vector<std::size_t>{1, 0, 2}));
}

TEST(AgendaOrder, BadOrdersAndPreviewsAreRefusedWithTheirName) {
  EXPECT_THROW(parse_agenda_order("sideways"), std::invalid_argument);
  EXPECT_THROW(parse_preview("0"), RangeError);
  EXPECT_THROW(parse_preview("1-1000000"), RangeError);
  EXPECT_THROW(parse_preview("a-b"), RangeError);
  // validate() names each problem; only ours are looked at here.
  auto about_order = [](const JobSpec& spec) {
    std::vector<std::string> ours;
    for (const auto& e : validate(spec))
      if (e.rfind("order", 0) == 0 || e.rfind("preview", 0) == 0) ours.push_back(e);
    return ours;
  };
  JobSpec spec;
  spec.name = "shot";
  spec.user = "alice";
  spec.order = "sideways";
  spec.preview = "1,x";
  const auto errors = about_order(spec);
  ASSERT_EQ(errors.size(), 3u);  // the order, the preview, and no agenda to preview
  EXPECT_NE(errors[0].find("order: 'sideways'"), std::string::npos);
  EXPECT_NE(errors[1].find("preview: "), std::string::npos);
  EXPECT_NE(errors[2].find("only a job with an agenda"), std::string::npos);
  spec.order = "binary";
  spec.preview.clear();
  spec.flags = {"p_agenda"};
  spec.range = "1-10";
  EXPECT_EQ(effective_preview(spec), kDefaultPreview);
  EXPECT_TRUE(about_order(spec).empty());
}

}  // namespace
