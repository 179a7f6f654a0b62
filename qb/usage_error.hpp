#pragma once
// A mistake on qb's command line: qb prints it and exits with code 2, not 1.
#include <stdexcept>

namespace qube::qb {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace qube::qb
