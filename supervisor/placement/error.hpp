#pragma once
// The one error type of placement input (requirements, reservations,
// restrictions, conditions, tags): thrown at submission, so a job that cannot
// be understood is refused with a message naming the field and the column,
// instead of being stored and failing at every scheduling pass.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace qube::placement {

class PlacementError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws "<field>: <message> at column <column>" (columns count from 1).
[[noreturn]] inline void fail_at(std::string_view field, std::string_view message, std::size_t column) {
  throw PlacementError(std::string(field) + ": " + std::string(message) + " at column " + std::to_string(column));
}

// Throws "<field>: <message>" for errors that have no single position.
[[noreturn]] inline void fail(std::string_view field, std::string_view message) {
  throw PlacementError(std::string(field) + ": " + std::string(message));
}

}  // namespace qube::placement
