#pragma once
// Shared by the two job file readers (jobfile_qube.cpp, jobfile_hqueue.cpp); not public.
#include <string>
#include <vector>

#include "qube/jobfile.hpp"
#include "qube/trigger.hpp"

namespace qube {
// An array of strings under `key` (empty if missing), else FormatError("field 'k' must
// hold strings"). Defined in json.cpp, where the job spec reader uses it too.
std::vector<std::string> get_string_list(const Json& j, const char* key);
}  // namespace qube

namespace qube::jobfile_detail {

// Runs f(); a FormatError or TriggerError from it comes out as a FormatError
// prefixed with `where` ("job 'comp' (jobs[2]): ..."), so every message names its job.
template <typename F>
auto within(const std::string& where, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const FormatError& e) {
    throw FormatError(where + ": " + e.what());
  } catch (const TriggerError& e) {
    throw FormatError(where + ": " + e.what());
  }
}

// Throws FormatError(where + ": unknown key 'k'; expected ...") for the first key of
// `j` not in `allowed`.
void check_keys(const Json& j, const std::vector<std::string>& allowed, const std::string& where,
                const char* noun = "key");

// Checks what only the whole file can tell, for jobs described by where[i]: labels
// valid and unique, every dependency and callback trigger parses and names only
// labels of this file (or job ids), callback languages are known, no dependency cycle.
void check_entries(const std::vector<JobFileEntry>& jobs, const std::vector<std::string>& where);

}  // namespace qube::jobfile_detail
