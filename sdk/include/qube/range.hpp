#pragma once
// Qube frame ranges: "1", "1,3,5", "1-100", "1-100x3", "-10--1", "10-1" and
// comma-separated mixes of them, and their division into agenda items.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace qube {

using Frame = std::int64_t;

struct RangeError : std::runtime_error {
  RangeError(const std::string& msg, std::size_t position)
      : std::runtime_error(msg), position(position) {}
  std::size_t position;  // 0-based offset in the text where the problem is
};

// An arithmetic run of frames: first, first+step, ... up to and including last.
struct FrameRun {
  Frame first = 0;
  Frame last = 0;
  Frame step = 1;  // signed: negative for descending runs
  std::size_t count() const;
  Frame at(std::size_t i) const { return first + static_cast<Frame>(i) * step; }
  // Qube syntax: "7", "1-10", "1-7x3".
  std::string name() const;
};

inline constexpr std::size_t kMaxFramesPerJob = 10'000'000;

// Parses a range into its runs, in the order written. Throws RangeError with the
// position of the fault; refuses ranges of more than kMaxFramesPerJob frames.
std::vector<FrameRun> parse_range(std::string_view text);

// All frames of a range, in order (for tests and small ranges).
std::vector<Frame> expand_range(std::string_view text);

// Divides the frames into agenda items of at most `chunk` frames each, or into
// `partitions` items of near-equal size when partitions > 0. An item never spans
// two runs, so each item is itself one run and its name says exactly which frames
// it holds ("1-10", "1-7x3"). Throws RangeError on chunk < 1 or partitions < 0.
std::vector<FrameRun> make_items(const std::vector<FrameRun>& runs, std::size_t chunk,
                                 std::size_t partitions = 0);

// Convenience: the names of make_items(parse_range(text), ...).
std::vector<std::string> agenda_names(std::string_view text, std::size_t chunk,
                                      std::size_t partitions = 0);

// Zero-pads a frame number to `width` digits, sign first: pad_frame(-5, 3) == "-005".
std::string pad_frame(Frame f, int width);

}  // namespace qube
