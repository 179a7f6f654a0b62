#include "work_selector.hpp"

namespace qube::supervisor {

WorkSelector::WorkSelector(const std::string& work, std::int32_t subid) : subid_(subid) {
  if (!work.empty()) runs_ = parse_range(work);
}

bool WorkSelector::holds(Frame f) const {
  for (const auto& r : runs_) {
    const Frame lo = r.step > 0 ? r.first : r.last, hi = r.step > 0 ? r.last : r.first;
    if (f < lo || f > hi) continue;
    const Frame step = r.step > 0 ? r.step : -r.step;
    if ((f - r.first) % step == 0) return true;
  }
  return false;
}

bool WorkSelector::operator()(const AgendaItem& item) const {
  if (subid_ >= 0 && item.subid != subid_) return false;
  if (runs_.empty()) return true;
  try {
    for (const auto& run : parse_range(item.name))
      for (std::size_t i = 0; i < run.count(); ++i)
        if (holds(run.at(i))) return true;
  } catch (const RangeError&) {
  }
  return false;
}

}  // namespace qube::supervisor
