#pragma once
// Human-readable tables for qb's output.
#include <ostream>

#include "qube/json.hpp"

namespace qube::qb {

void print_jobs(std::ostream& out, const Json& jobs);
void print_job(std::ostream& out, const Json& job);
// With long_form, each host's placement facts (qb hosts --long) under it.
void print_hosts(std::ostream& out, const Json& hosts, bool long_form = false);
// qb history: one line per event.
void print_history(std::ostream& out, const Json& events);
// qb show --failed: every failed attempt grouped by host and by exit code or
// signal, with what such an exit usually means.
Json failure_summary(const Json& job);
void print_failures(std::ostream& out, const Json& job);

}  // namespace qube::qb
