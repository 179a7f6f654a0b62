// Frame ranges (qube/range.hpp): parse_range, each run's name (which must
// parse back to the same frames), and the division into agenda items.
#include "fuzz_input.hpp"
#include "qube/range.hpp"

namespace {
// Dividing ten million frames into items is allowed but slow; the division is
// fuzzed on ranges small enough to keep each run fast.
constexpr std::size_t kMaxFramesToDivide = 100000;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = data[0] % 16;  // 0 is refused with a RangeError
  const std::size_t partitions = data[0] / 16;
  try {
    const auto runs = qube::parse_range(qube::fuzz::text(data + 1, size - 1));
    std::size_t frames = 0;
    for (const auto& run : runs) {
      frames += run.count();
      const auto again = qube::parse_range(run.name());
      qube::fuzz::check(again.size() == 1 && again[0].count() == run.count() && again[0].first == run.first &&
                            again[0].at(again[0].count() - 1) == run.at(run.count() - 1),
                        "parse_range(run.name()) is the run");
    }
    if (frames <= kMaxFramesToDivide) (void)qube::make_items(runs, chunk, partitions);
  } catch (const qube::RangeError&) {
  }
  return 0;
}
