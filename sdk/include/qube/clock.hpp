#pragma once
// Time, injected. Two kinds that must never be mixed up:
//  - WallTime: Unix seconds, what people read and what the store keeps
//    (timesubmit, a retry's due time shown to users, history entries);
//  - SteadyTime: monotonic seconds from an arbitrary origin, for intervals that
//    must not jump with the system clock (heartbeat loss, grace periods, pacing).
// They are distinct types so that one cannot be passed where the other is meant.
// Code that needs the time takes a `const Clock&`; production passes
// Clock::system(), unit tests a FakeClock they move forward by hand, so time
// limits, retry delays and heartbeat loss are tested instantly.
#include <compare>

namespace qube {

// A point in time of one kind, in seconds with a fraction. Differences are plain
// seconds (double); a point plus seconds is a point of the same kind.
template <class Kind>
struct TimePoint {
  double seconds = 0;
  auto operator<=>(const TimePoint&) const = default;
  TimePoint operator+(double s) const { return TimePoint{seconds + s}; }
  TimePoint operator-(double s) const { return TimePoint{seconds - s}; }
  double operator-(TimePoint other) const { return seconds - other.seconds; }
};
struct WallKind;
struct SteadyKind;
using WallTime = TimePoint<WallKind>;
using SteadyTime = TimePoint<SteadyKind>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime wall() const = 0;
  virtual SteadyTime steady() const = 0;
  // The real clocks (system_clock and steady_clock); lives for the process.
  static const Clock& system();
};

// A clock that moves only when told: both kinds advance together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(double wall_seconds = 1'700'000'000.0, double steady_seconds = 1000.0)
      : wall_{wall_seconds}, steady_{steady_seconds} {}
  WallTime wall() const override { return wall_; }
  SteadyTime steady() const override { return steady_; }
  void advance(double seconds) {
    wall_ = wall_ + seconds;
    steady_ = steady_ + seconds;
  }

 private:
  WallTime wall_;
  SteadyTime steady_;
};

}  // namespace qube
