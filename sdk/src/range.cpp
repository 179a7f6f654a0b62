#include "qube/range.hpp"

#include <charconv>
#include <cstdlib>

namespace qube {

std::size_t FrameRun::count() const {
  const auto span = static_cast<unsigned long long>(std::llabs(last - first));
  return static_cast<std::size_t>(span / static_cast<unsigned long long>(std::llabs(step)) + 1);
}

std::string FrameRun::name() const {
  if (count() == 1) return std::to_string(first);
  std::string s = std::to_string(first) + "-" + std::to_string(last);
  if (std::llabs(step) != 1) s.append("x").append(std::to_string(std::llabs(step)));
  return s;
}

namespace {

// Frames are limited to what a human would number a frame with, so that no
// arithmetic on them can overflow.
constexpr Frame kFrameLimit = 1'000'000'000'000LL;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::vector<FrameRun> parse() {
    std::vector<FrameRun> runs;
    std::size_t total = 0;
    skip_space();
    if (pos_ == text_.size()) fail("frame range is empty");
    while (true) {
      skip_space();
      FrameRun run = parse_run();
      total += run.count();
      if (total > kMaxFramesPerJob)
        throw RangeError("frame range holds more than " + std::to_string(kMaxFramesPerJob) +
                             " frames",
                         0);
      runs.push_back(run);
      skip_space();
      if (pos_ == text_.size()) break;
      if (text_[pos_] != ',') fail("expected ',' between parts of the range");
      ++pos_;
    }
    return runs;
  }

 private:
  FrameRun parse_run() {
    FrameRun run;
    run.first = parse_frame();
    run.last = run.first;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '-') {
      ++pos_;
      skip_space();
      run.last = parse_frame();
      skip_space();
      Frame step = 1;
      if (pos_ < text_.size() && (text_[pos_] == 'x' || text_[pos_] == 'X')) {
        ++pos_;
        const std::size_t at = pos_;
        step = parse_number();
        if (step < 1) throw RangeError("step must be at least 1", at);
      }
      run.step = run.last >= run.first ? step : -step;
      // Trim the run so that `last` is a frame it really holds.
      run.last = run.first + static_cast<Frame>(run.count() - 1) * run.step;
    }
    return run;
  }

  Frame parse_frame() {
    bool negative = false;
    if (pos_ < text_.size() && text_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    const Frame n = parse_number();
    return negative ? -n : n;
  }

  Frame parse_number() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (start == pos_) {
      if (pos_ == text_.size()) fail("expected a frame number at the end of the range");
      fail(std::string("expected a frame number, found '") + text_[pos_] + "'");
    }
    Frame value = 0;
    auto [ptr, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
    (void)ptr;
    if (ec != std::errc() || value >= kFrameLimit)
      throw RangeError("frame number too large", start);
    return value;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  [[noreturn]] void fail(const std::string& msg) {
    throw RangeError(msg + " at position " + std::to_string(pos_ + 1) + " in '" +
                         std::string(text_) + "'",
                     pos_);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<FrameRun> parse_range(std::string_view text) { return Parser(text).parse(); }

std::vector<Frame> expand_range(std::string_view text) {
  std::vector<Frame> frames;
  for (const auto& run : parse_range(text))
    for (std::size_t i = 0; i < run.count(); ++i) frames.push_back(run.at(i));
  return frames;
}

std::vector<FrameRun> make_items(const std::vector<FrameRun>& runs, std::size_t chunk,
                                 std::size_t partitions) {
  if (chunk < 1) throw RangeError("chunk must be at least 1", 0);
  std::size_t total = 0;
  for (const auto& run : runs) total += run.count();
  // Size of the k-th item: `chunk`, or for partitions the near-equal share
  // (the first total % partitions items hold one frame more).
  const std::size_t parts = std::min(partitions, total);
  auto size_of = [&](std::size_t k) {
    if (parts == 0) return chunk;
    return total / parts + (k < total % parts ? 1 : 0);
  };
  std::vector<FrameRun> items;
  std::size_t k = 0, left = size_of(0);
  for (const auto& run : runs) {
    const std::size_t n = run.count();
    if (parts == 0) left = chunk;  // chunks start afresh with each run
    std::size_t i = 0;
    while (i < n) {
      const std::size_t len = std::min(left, n - i);
      FrameRun item;
      item.first = run.at(i);
      item.last = run.at(i + len - 1);
      item.step = len > 1 ? run.step : 1;
      items.push_back(item);
      i += len;
      left -= len;
      if (left == 0) left = size_of(++k);
    }
  }
  return items;
}

std::vector<std::string> agenda_names(std::string_view text, std::size_t chunk,
                                      std::size_t partitions) {
  std::vector<std::string> names;
  for (const auto& item : make_items(parse_range(text), chunk, partitions))
    names.push_back(item.name());
  return names;
}

std::string pad_frame(Frame f, int width) {
  std::string digits = std::to_string(f < 0 ? -f : f);
  if (static_cast<int>(digits.size()) < width)
    digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
  return f < 0 ? "-" + digits : digits;
}

}  // namespace qube
