#include "agenda_grid.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "farm.hpp"

namespace qube::supervisor {

namespace {

constexpr std::size_t kStatuses = static_cast<std::size_t>(WorkStatus::skipped) + 1;
using Counts = std::array<std::int64_t, kStatuses>;

// Only the statuses present: a bucket of a finished job is {"complete": n}.
Json counts_json(const Counts& counts) {
  Json out = Json::object();
  for (std::size_t s = 0; s < kStatuses; ++s)
    if (counts[s] > 0) out[std::string(to_string(static_cast<WorkStatus>(s)))] = counts[s];
  return out;
}

}  // namespace

Json agenda_grid(const Job& job, const Json& body) {
  const auto total = static_cast<std::int64_t>(job.agenda.size());
  const std::int64_t from = get_int(body, "from", 0);
  const std::int64_t to = get_int(body, "to", total);
  const std::string where = "job " + std::to_string(job.id) + " has " + std::to_string(total) + " item(s)";
  if (from < 0 || from > total) throw std::runtime_error("from: " + std::to_string(from) + " is outside the agenda (" + where + ")");
  if (to < from || to > total)
    throw std::runtime_error("to: " + std::to_string(to) + " must be between from and the agenda's end (" + where + ")");
  const std::int64_t asked = get_int(body, "buckets", 100);
  if (asked < 1 || asked > kMaxGridBuckets)
    throw std::runtime_error("buckets: expected 1 to " + std::to_string(kMaxGridBuckets) + ", not " + std::to_string(asked));
  const bool with_items = get_bool(body, "items");
  const std::int64_t span = to - from;
  if (with_items && span > kMaxGridItems)
    throw std::runtime_error("items: only for a range of at most " + std::to_string(kMaxGridItems) + " items, not " +
                             std::to_string(span));
  // Never an empty bucket: a range shorter than the buckets asked gets one per item.
  const std::int64_t n = std::max<std::int64_t>(1, std::min(asked, span));
  Json buckets = Json::array();
  Counts all{};
  for (std::int64_t b = 0; b < n && span > 0; ++b) {
    const std::int64_t lo = from + b * span / n, hi = from + (b + 1) * span / n;
    Counts counts{};
    for (std::int64_t i = lo; i < hi; ++i) ++counts[static_cast<std::size_t>(job.agenda[static_cast<std::size_t>(i)].status)];
    for (std::size_t s = 0; s < kStatuses; ++s) all[s] += counts[s];
    buckets.push_back(Json{{"from", lo}, {"to", hi}, {"counts", counts_json(counts)}});
  }
  Json out{{"id", job.id}, {"total", total}, {"from", from}, {"to", to}, {"counts", counts_json(all)},
           {"buckets", std::move(buckets)}};
  if (with_items) {
    Json items = Json::array();
    for (std::int64_t i = from; i < to; ++i) {
      Json item = to_json(job.agenda[static_cast<std::size_t>(i)]);
      item["index"] = i;
      items.push_back(std::move(item));
    }
    out["items"] = std::move(items);
  }
  return out;
}

Json agenda_grid(const Farm& farm, const Json& body) {
  const auto id = static_cast<JobId>(get_int(body, "id"));
  const JobState* js = farm.job(id);
  if (!js) throw std::runtime_error("no job " + std::to_string(id));
  return agenda_grid(js->job, body);
}

}  // namespace qube::supervisor
