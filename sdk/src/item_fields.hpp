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

// Where an attempt's output is in its instance's logs: written as
// {"out": [begin, end], "err": [begin, end]}.
struct AttemptLog {
  std::uint64_t out_begin, out_end, err_begin, err_end;
};

// The same for one attempt of an item's history, whose value types are those of
// item_fields plus const std::string& and AttemptLog. Every item stored with a
// result carries at least one: a Json tree each was a tenth of dispatch's time.
template <class Field>
void attempt_fields(const Attempt& a, Field&& field) {
  field("attempt_id", a.attempt_id);
  field("host", std::string_view(a.host));
  field("subid", a.subid);
  field("status", to_string(a.status));
  field("exitcode", a.exitcode);
  field("signal", a.signal);
  field("timestart", a.timestart);
  field("timecomplete", a.timecomplete);
  field("walltime", a.walltime);
  field("cputime", a.cputime);
  field("peak_rss_kb", a.peak_rss_kb);
  field("reason", std::string_view(a.reason));
  field("log", AttemptLog{a.out_begin, a.out_end, a.err_begin, a.err_end});
}
inline constexpr std::uint32_t kAttemptFieldCount = 13;

}  // namespace qube::detail
