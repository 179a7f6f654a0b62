#pragma once
// Farm-wide counted resources (Qube's global resources, HQueue's resources):
// licenses and the like, named `global.<x>` or `license.<x>`. Totals come from
// the supervisor's config (`global_resources: {license.nuke: 20}`) and change at
// run time (`qb resource set license.nuke 20`); in-use counts follow the
// instances that hold them. Lowering a total below what is in use takes nothing
// back: running work keeps its share, and nothing new starts until use drops.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "placement/host_facts.hpp"
#include "placement/reservations.hpp"

namespace qube::placement {

class GlobalResources {
 public:
  struct Row {
    std::string name;
    std::int64_t total = 0;
    std::int64_t used = 0;
  };

  // Defines or changes a total. Throws PlacementError for a name that is not
  // global.<x> or license.<x>, or a negative total.
  void set_total(std::string_view name, std::int64_t total);
  // Forgets a resource; false if it is in use (or unknown).
  bool remove(std::string_view name);

  // The first requested resource that is unknown or short, if any.
  std::optional<std::string_view> shortfall(const std::vector<CountedRequest>& wanted) const;
  // Takes the resources (the caller checked shortfall()).
  void acquire(const std::vector<CountedRequest>& held);
  // Gives them back; never below zero (a restart may forget what was held).
  void release(const std::vector<CountedRequest>& held);

  const Counted* find(std::string_view name) const;
  std::vector<Row> list() const;  // by name, for `qb resources`

  // "waiting for license.nuke (20/20 in use)" or "... (not defined)".
  std::string describe_wait(std::string_view name) const;

 private:
  std::map<std::string, Counted, std::less<>> table_;
};

}  // namespace qube::placement
