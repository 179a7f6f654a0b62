#pragma once
// The dashboard's frame grid (docs/dashboard.md): how many items of a range of a
// job's agenda are in each status, in equal buckets, so that a 1,000,000-item job
// draws as a few hundred cells instead of sending its whole agenda (`show`).
// Zooming in is asking again for a smaller range; a small enough range also
// returns its items in full (attempts, hosts, times), as `show` would.
#include <cstddef>

#include "qube/json.hpp"
#include "qube/model.hpp"

namespace qube::supervisor {
class Farm;
}

namespace qube::supervisor {

// The client request (HTTP: GET /api/v1/jobs/{id}/grid). A read: anyone who may
// `show` the job may ask.
//   {id, from?, to?, buckets?, items?} ->
//   {id, total, from, to, counts: {status: n}, buckets: [{from, to, counts}], items?: [item + index]}
// Items are numbered from 0 in agenda order; `to` is exclusive (default: every item).
inline constexpr const char* kAgendaGrid = "agenda_grid";

inline constexpr std::int64_t kMaxGridBuckets = 10000;
inline constexpr std::int64_t kMaxGridItems = 1000;  // `items: true` on a range at most this long

// O(to - from). Throws std::runtime_error naming the field for a range outside the
// agenda, a bucket count out of 1..kMaxGridBuckets, or items asked of too long a range.
Json agenda_grid(const Job& job, const Json& body);
// The job `body.id` of the farm's, or "no job N".
Json agenda_grid(const Farm& farm, const Json& body);

}  // namespace qube::supervisor
