#pragma once
// What every fuzz target shares: the input as text, split in two, and the rule
// for a broken invariant. A target catches only the errors its parser documents
// (FormatError, RangeError, ...): any other exception escapes and libFuzzer
// reports it as a crash, like a signal, a sanitizer report, a leak or a hang.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string_view>
#include <utility>

namespace qube::fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Two inputs from one: before and after the first `sep` (the second is empty
// when there is none).
inline std::pair<std::string_view, std::string_view> split(std::string_view in, char sep = '\n') {
  const auto at = in.find(sep);
  if (at == std::string_view::npos) return {in, {}};
  return {in.substr(0, at), in.substr(at + 1)};
}

// A property the parser promises does not hold: abort, so libFuzzer keeps the input.
inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace qube::fuzz
