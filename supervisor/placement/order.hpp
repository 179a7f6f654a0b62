#pragma once
// The order in which a host considers the jobs that could run on it, as a
// chain of named comparators (after Afanasy's solver): the first that tells
// two jobs apart decides.
//   by_growth      jobs growing past --cpus into idle slots (--max_cpus) last
//   by_cluster     the host's own cluster, then below it, then up the tree (cluster.hpp)
//   by_priority    Qube's: 1 is the most urgent
//   by_rank        qb top / qb bottom among equal priority (an explicit wish
//                  of a wrangler outranks fair share)
//   by_fair_share  the user with less recent usage first (FairShare)
//   by_id          first come, first served
// This is separate from supervisor/order.hpp's QueueKey, which orders the
// farm-wide queue without regard to a host.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "qube/model.hpp"

namespace qube::placement {

struct OrderKey {
  bool growth = false;
  int cluster_tier = 0;
  int priority = kDefaultPriority;
  std::int64_t rank = 0;
  double share = 0;
  JobId id = 0;
};

namespace order {
namespace detail {
template <typename T>
constexpr int three_way(const T& a, const T& b) {
  return a < b ? -1 : b < a ? 1 : 0;
}
}  // namespace detail

// Each returns <0 if a goes first, >0 if b does, 0 if it cannot tell.
constexpr int by_growth(const OrderKey& a, const OrderKey& b) { return detail::three_way(a.growth, b.growth); }
constexpr int by_cluster(const OrderKey& a, const OrderKey& b) { return detail::three_way(a.cluster_tier, b.cluster_tier); }
constexpr int by_priority(const OrderKey& a, const OrderKey& b) { return detail::three_way(a.priority, b.priority); }
constexpr int by_rank(const OrderKey& a, const OrderKey& b) { return detail::three_way(a.rank, b.rank); }
constexpr int by_fair_share(const OrderKey& a, const OrderKey& b) { return detail::three_way(a.share, b.share); }
constexpr int by_id(const OrderKey& a, const OrderKey& b) { return detail::three_way(a.id, b.id); }

// A chain of comparators: the first that tells two keys apart decides. A
// template, so the scheduler's hottest comparison is inlined whole.
template <int (*... Steps)(const OrderKey&, const OrderKey&)>
struct Chain {
  static constexpr std::size_t size = sizeof...(Steps);
  static constexpr bool before(const OrderKey& a, const OrderKey& b) {
    int c = 0;
    static_cast<void>((((c = Steps(a, b)) != 0) || ...));  // stops at the first that decides
    return c < 0;
  }
};

// The policy: the one place the order is written down.
using Policy = Chain<by_growth, by_cluster, by_priority, by_rank, by_fair_share, by_id>;
}  // namespace order

// True if `a` goes before `b`.
inline bool before(const OrderKey& a, const OrderKey& b) { return order::Policy::before(a, b); }

// Fair share: recent usage per user in core-seconds, decaying exponentially
// with a configurable half-life, so that among jobs of equal priority the user
// who used the farm least lately goes first, and one user's 10,000-frame job
// cannot starve another's 10-frame job. Usage is integrated exactly between
// events (no polling). The key compared adds each running core's use over the
// next `lookahead` seconds, so that starting an instance counts at once and
// one pass over many free slots shares them out instead of handing all to one
// user. Disabled, every user's key is 0 and by_id decides.
struct FairShareConfig {
  bool enabled = true;
  double half_life = 3600;  // seconds
  double lookahead = 60;    // seconds of use charged per running core
};

class FairShare {
 public:
  explicit FairShare(FairShareConfig c = {}) : config_(c) {}
  const FairShareConfig& config() const { return config_; }
  void configure(FairShareConfig c) { config_ = c; }

  void started(std::string_view user, int cores, double now);
  void ended(std::string_view user, int cores, double now);

  double usage(std::string_view user, double now) const;  // decayed core-seconds
  double key(std::string_view user, double now) const;    // what by_fair_share compares
  int running(std::string_view user) const;

 private:
  struct Account {
    double usage = 0;  // core-seconds, as of `at`
    double at = 0;
    int running = 0;   // cores in use now
  };
  double usage_at(const Account& a, double now) const;
  Account& account(std::string_view user, double now);
  FairShareConfig config_;
  std::map<std::string, Account, std::less<>> users_;
};

}  // namespace qube::placement
