#pragma once
// Which agenda items a request names (`--work RANGE`, a subid): shared by the
// work verbs (qb kill --work) and `qb show --work`.
#include <cstdint>
#include <string>
#include <vector>

#include "qube/model.hpp"
#include "qube/range.hpp"

namespace qube::supervisor {

// With a range, the items holding any of its frames (items not named as frames
// are never named); with a subid >= 0, those that instance ran last. Without
// either, every item. Membership is tested against the range's runs, so a range
// of a million frames costs no more than "1-10".
class WorkSelector {
 public:
  // Throws RangeError (a clear message) on a malformed range.
  WorkSelector(const std::string& work, std::int32_t subid);
  bool operator()(const AgendaItem& item) const;
  bool selects_all() const { return runs_.empty() && subid_ < 0; }

 private:
  bool holds(Frame f) const;
  std::vector<FrameRun> runs_;
  std::int32_t subid_ = -1;
};

}  // namespace qube::supervisor
