#pragma once
// The fields of an agenda item's record, listed once for its two writers: the
// Json tree (to_json) and the direct MessagePack (encode_item). The supervisor
// stores every item and pages through `show` with encode_item: a million items
// without a million Json trees, which cost microseconds each (issue 15).
#include <optional>
#include <string_view>

#include "qube/json.hpp"
#include "qube/model.hpp"

namespace qube::detail {

// `field(key, value)` for each field; value is one of: std::string_view,
// std::optional<std::string_view> (null when empty), std::uint32_t, std::int32_t,
// std::uint64_t, double, std::optional<int>, Time, const Json&, and the history
// as const std::vector<Attempt>&.
template <class Field>
void item_fields(const AgendaItem& i, Field&& field) {
  field("name", std::string_view(i.name));
  field("status", to_string(i.status));
  field("attempts", i.attempts);
  field("failures", i.failures);
  field("attempt_id", i.attempt_id);
  field("host", i.host.empty() ? std::nullopt : std::optional<std::string_view>(i.host));
  field("subid", i.subid);
  field("exitcode", i.exitcode);
  field("signal", i.signal);
  field("timestart", i.timestart);
  field("timecomplete", i.timecomplete);
  field("walltime", i.walltime);
  field("cputime", i.cputime);
  field("peak_rss_kb", i.peak_rss_kb);
  field("reason", std::string_view(i.reason));
  field("resultpackage", i.resultpackage);  // null: written as {}
  field("history", i.history);
}
inline constexpr std::uint32_t kItemFieldCount = 17;

}  // namespace qube::detail
