#include "qube/clock.hpp"

#include <chrono>

namespace qube {

namespace {

class SystemClock final : public Clock {
 public:
  WallTime wall() const override {
    using namespace std::chrono;
    return WallTime{duration<double>(system_clock::now().time_since_epoch()).count()};
  }
  SteadyTime steady() const override {
    using namespace std::chrono;
    return SteadyTime{duration<double>(steady_clock::now().time_since_epoch()).count()};
  }
};

}  // namespace

const Clock& Clock::system() {
  static const SystemClock clock;
  return clock;
}

}  // namespace qube
