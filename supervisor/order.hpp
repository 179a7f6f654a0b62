#pragma once
// The order in which pending work is considered: priority first (Qube: 1 is the
// most urgent), then the rank set by qb top / qb bottom (0 unless moved), then job
// id (first come, first served).
#include <compare>

#include "qube/model.hpp"

namespace qube::supervisor {

struct QueueKey {
  int priority = kDefaultPriority;
  std::int64_t rank = 0;
  JobId id = 0;
  auto operator<=>(const QueueKey&) const = default;
};

}  // namespace qube::supervisor
