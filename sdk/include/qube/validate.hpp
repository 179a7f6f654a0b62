#pragma once
// Validation of a submitted job. Both qbsub (for an early, local answer) and the
// supervisor (which trusts no client) run it.
#include <string>
#include <vector>

#include "qube/model.hpp"

namespace qube {

// Limits on what one submission may hold.
inline constexpr std::size_t kMaxNameLength = 255;
inline constexpr int kMaxCpus = 100000;
inline constexpr std::size_t kMaxEnvEntries = 1000;
inline constexpr std::size_t kMaxAgendaNameLength = 255;

// Returns one message per problem, each naming the field: "priority: must be
// between 1 and 9999, got 0". Empty when the spec is acceptable.
std::vector<std::string> validate(const JobSpec& spec);

// The job's reservations with `processors` folded in: host.processors=N added
// unless they name host.processors already (validate() refuses a different N).
std::string effective_reservations(const JobSpec& spec);

// The job's preview (qube/agenda_order.hpp) when it has one: --preview's text, or
// the first, middle and last items for flag p_agenda alone. Empty: no preview.
std::string effective_preview(const JobSpec& spec);

bool is_valid_type_name(const std::string& type);
bool is_valid_env_name(const std::string& name);

}  // namespace qube
