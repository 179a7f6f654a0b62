#pragma once
// Qube!'s --hostorder: which of the hosts a job may run on it prefers. Comma
// separated keys, each [+|-]host.<name>, where <name> is a counted fact with
// .total (the default) .avail or .used (host.processors.avail,
// host.memory.used), or a property (host.processor_speed). "+" (the default)
// prefers the largest value, "-" the smallest; the first key that tells two
// hosts apart decides. Parsed here, in the sdk, so that qbsub refuses a bad one
// before it is sent; the supervisor reads the values (placement/host_order.hpp).
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace qube {

struct HostOrderKey {
  bool largest_first = true;
  std::string name;  // "host.memory.avail"
  bool operator==(const HostOrderKey&) const = default;
};

inline constexpr std::size_t kMaxHostOrderKeys = 16;

// Throws std::invalid_argument naming the key: "hostorder: 'memory' must start
// with host. (e.g. +host.memory.avail)". Empty text: no keys.
std::vector<HostOrderKey> parse_hostorder(std::string_view text);

}  // namespace qube
