#include "placement/host_order.hpp"

#include <stdexcept>

#include "placement/error.hpp"
#include "qube/hostorder.hpp"

namespace qube::placement {

HostOrder HostOrder::parse(std::string_view text) {
  HostOrder order;
  try {
    for (const auto& key : parse_hostorder(text))
      order.keys_.push_back(Key{Expression::parse(key.name, "hostorder"), key.largest_first});
  } catch (const std::invalid_argument& e) {
    throw PlacementError(e.what());
  }
  return order;
}

bool HostOrder::prefers(const HostFacts& a, const HostFacts& b, const JobFacts& job) const {
  for (const Key& key : keys_) {
    const auto x = key.value.number(a, job), y = key.value.number(b, job);
    if (!x && !y) continue;
    if (!x || !y) return x.has_value();  // a number beats none
    if (*x != *y) return key.largest_first ? *x > *y : *x < *y;
  }
  return false;
}

}  // namespace qube::placement
