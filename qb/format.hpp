#pragma once
// Human-readable tables for qb's output.
#include <ostream>

#include "qube/json.hpp"

namespace qube::qb {

void print_jobs(std::ostream& out, const Json& jobs);
void print_job(std::ostream& out, const Json& job);
void print_hosts(std::ostream& out, const Json& hosts);

}  // namespace qube::qb
