#pragma once
// Qube's reservations (`--reservations`): what one instance holds while it runs.
//   host.processors=4     4 slots
//   host.processors=2+    at least 2 free, then takes every free slot
//   host.processors=2-8   at least 2 free, takes up to 8
//   host.processors=2*    an idle host with at least 2 slots; takes them all
//   host.processors=all   same as 1*
//   host.processors=0     no slot: runs beside anything but a `single` job
//   host.memory=8000      MB, subtracted from the host's free memory
//   host.gpu=1            GPUs
//   host.<x>=N, <scope>.<x>=N   a host-local counted resource (scoped.nuke=1)
//   global.<x>=N, license.<x>=N farm-wide counted resources (global_resources.hpp)
// comma separated. Without host.processors an instance takes one slot.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "placement/host_facts.hpp"

namespace qube::placement {

struct SlotRequest {
  static constexpr int kAllFree = std::numeric_limits<int>::max();
  int min = 1;              // free slots needed to start
  int max = 1;              // slots taken when free (kAllFree: all)
  bool idle_only = false;   // only on a host with no slot in use
  bool operator==(const SlotRequest&) const = default;
};

using CountedRequest = std::pair<std::string, std::int64_t>;  // full name, quantity

struct Reservations {
  SlotRequest slots;
  std::uint64_t memory_mb = 0;
  int gpus = 0;
  std::vector<CountedRequest> host_resources;    // sorted by name
  std::vector<CountedRequest> global_resources;  // sorted by name

  // Throws PlacementError "reservations: ... at column N".
  static Reservations parse(std::string_view text, std::string_view field = "reservations");
  // The same reservations in one canonical spelling (sorted, defaults left
  // out): jobs whose reservations print alike compete for the same things.
  std::string canonical() const;
};

// What one instance was granted on one host (QB_JOBSLOTS is `slots`,
// QB_ALLOCATIONS is to_string()).
struct Allocation {
  int slots = 0;
  std::uint64_t memory_mb = 0;
  int gpus = 0;
  std::vector<CountedRequest> host_resources;
  std::vector<CountedRequest> global_resources;
  // "host.processors=4,host.memory=8000,license.nuke=1"
  std::string to_string() const;
};

// Why reservations do not fit a host now.
enum class Shortfall : unsigned char { none, slots, idle, memory, gpus, host_resource };

// Host-local fit only; farm-wide resources are GlobalResources' business.
// `missing` names the host resource that is short, if that is the reason.
Shortfall host_shortfall(const Reservations& r, const HostFacts& h, std::string_view* missing = nullptr);

// What an instance starting now on `h` would hold. Expects host_shortfall() == none.
Allocation allocate(const Reservations& r, const HostFacts& h);

}  // namespace qube::placement
