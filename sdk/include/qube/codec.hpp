#pragma once
// MessagePack encoding of JSON-shaped values. Everything that crosses a socket or
// pipe goes through here; decode() treats its input as hostile: bounded sizes,
// bounded nesting, and a FormatError (never a crash) on anything malformed.
#include <string>
#include <string_view>

#include "qube/json.hpp"

namespace qube {

inline constexpr std::size_t kMaxMessageBytes = 64 * 1024 * 1024;
inline constexpr std::size_t kMaxNesting = 32;

std::string encode(const Json& value);
Json decode(std::string_view bytes);

}  // namespace qube
