#pragma once
// A job's --hostorder (qube/hostorder.hpp has the syntax): which of the hosts
// it may run on it prefers, compared through the same references as its
// requirements (host.memory.avail, host.processors.used, host.<property>). A
// host with no number for a key (a property it lacks) comes after those that
// have one.
#include <string>
#include <string_view>
#include <vector>

#include "placement/expression.hpp"

namespace qube::placement {

class HostOrder {
 public:
  HostOrder() = default;  // no preference
  // Throws PlacementError "hostorder: ...".
  static HostOrder parse(std::string_view text);

  bool empty() const { return keys_.empty(); }
  // True if the job prefers `a` to `b`.
  bool prefers(const HostFacts& a, const HostFacts& b, const JobFacts& job) const;

 private:
  struct Key {
    Expression value;  // one reference
    bool largest_first = true;
  };
  std::vector<Key> keys_;
};

}  // namespace qube::placement
