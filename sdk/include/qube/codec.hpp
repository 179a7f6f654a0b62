#pragma once
// MessagePack encoding of JSON-shaped values. Everything that crosses a socket or
// pipe goes through here; decode() treats its input as hostile: bounded sizes,
// bounded nesting, and a FormatError (never a crash) on anything malformed.
#include <string>
#include <string_view>
#include <vector>

#include "qube/json.hpp"
#include "qube/model.hpp"

namespace qube {

inline constexpr std::size_t kMaxMessageBytes = 64 * 1024 * 1024;
inline constexpr std::size_t kMaxNesting = 32;

std::string encode(const Json& value);
// encode(to_json(item)), without building the Json tree: what the store writes
// for each item and `show` sends, a million times for a million-item job.
std::string encode_item(const AgendaItem& item);
Json decode(std::string_view bytes);
// The reader of encode_item, item_from_json(decode(bytes)) without the Json tree:
// loading 10,000,000 stored items spent most of its time building and freeing
// one per item (docs/performance.md). A value of a type encode_item does not
// write (a damaged row, another version's) takes the long way, so that
// item_from_json stays the one definition of a valid item and of its errors.
AgendaItem decode_item(std::string_view bytes);

// decode() of a MessagePack map, except that the field `key` is returned as JSON
// text, exactly as decode(bytes)[key].dump(indent) would write it, without building
// its Json tree (qb jobs --json: building and freeing the tree of 10,000 jobs took
// most of qb's time). `text` is empty if the map has no such field. A string that
// is not UTF-8 (dump() would throw) is written with U+FFFD for each bad byte, as
// dump(indent, ' ', false, Json::error_handler_t::replace) writes it.
struct DecodedWithText {
  Json fields;  // every other field
  std::string text;
};
DecodedWithText decode_with_text(std::string_view bytes, std::string_view key, int indent);

// For replies assembled from values encoded earlier (the supervisor keeps each
// job's summary encoded): the map `fields` with one more field `key` whose value
// is already encoded.
std::string encode_with_field(const Json& fields, std::string_view key, std::string_view encoded_value);
// The two at once, in one buffer: `fields` with `key` an array of encoded elements
// (a `jobs` reply of 10,000 summaries is megabytes, and each copy of it cost the
// loop milliseconds in fresh pages).
std::string encode_with_array(const Json& fields, std::string_view key,
                              const std::vector<std::string_view>& encoded_elements);

}  // namespace qube
