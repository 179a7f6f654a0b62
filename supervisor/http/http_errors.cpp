#include "http_errors.hpp"

#include <array>

namespace qube::supervisor {

namespace {

bool has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

bool starts(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

}  // namespace

int status_for_error(std::string_view m) {
  // "no job 12", "no host node3", "job 12 has no item '7'", "has no instance 3"
  if (starts(m, "no job ") || starts(m, "no host ") || has(m, " has no item ") || has(m, " has no instance "))
    return 404;
  // "job 12 belongs to bob: only bob or an admin ...", "only an admin may ..."
  constexpr std::array<const char*, 7> forbidden{" belongs to ", "only an admin", "refused: this key", "not an admin",
                                 "may not ", "only its owner", " has jobs of another user"};
  for (const char* f : forbidden)
    if (has(m, f)) return 403;
  // "job 12 is already complete", "cannot ... while ...", "is not pending"
  constexpr std::array<const char*, 8> conflict{" is already ", " while ", " is not pending", " is not running", " not blocked",
                                "agenda-less", " cannot be appended", " is done"};
  for (const char* c : conflict)
    if (has(m, c)) return 409;
  return 400;
}

}  // namespace qube::supervisor
