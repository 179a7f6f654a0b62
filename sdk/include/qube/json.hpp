#pragma once
// Model <-> JSON. This is both the `--json` output of the tools and the shape of
// message bodies on the wire (the codec turns it into MessagePack).
// Decoding throws qube::FormatError naming the offending field.
#include <stdexcept>

#include "qube/model.hpp"

namespace qube {

struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Json to_json(const AgendaItem& item);
// An item's ended attempts, oldest first, as its record's "history" holds them.
Json attempts_json(const std::vector<Attempt>& history);
Json to_json(const Instance& inst);
Json to_json(const Callback& cb);
Json to_json(const JobSpec& spec);
// Summary form (`qb jobs`) leaves out agenda and instances.
Json to_json(const Job& job, bool with_agenda = true);
// The same with the job's progress already counted (the supervisor keeps counts).
Json to_json(const Job& job, bool with_agenda, const Progress& progress);
// The job row the stores keep: what the farm made of the job, and the spec whole
// under "spec", which holds it once (rows stored before also had it spread over
// the top level, twice the bytes to build and decode). Neither agenda nor
// instances: rows of their own, nor progress, counted from the items (kept here,
// every result would rewrite its job's row). Read back with stored_job_from_json.
Json to_stored_json(const Job& job);
Job stored_job_from_json(const Json& j);
// A full record (instances, excluded hosts) without its "agenda": for `show`,
// which pages through a big agenda.
Json to_json_without_agenda(const Job& job, const Progress& progress);
Json to_json(const Host& host);

AgendaItem item_from_json(const Json& j);
Attempt attempt_from_json(const Json& j);  // one entry of an item's history
// An optional value as the wire writes it: the value, or null.
template <typename T>
Json opt_json(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}
// An item's resultpackage as kept in memory: null for an empty map (no allocation).
Json result_package(const Json& reported);
Instance instance_from_json(const Json& j);
Callback callback_from_json(const Json& j);
JobSpec spec_from_json(const Json& j);
Job job_from_json(const Json& j);
Host host_from_json(const Json& j);

// Typed field access for untrusted JSON: a missing key gives the fallback, a key of
// the wrong type throws FormatError("field 'x' must be a string").
std::string get_string(const Json& j, const char* key, std::string fallback = {});
std::int64_t get_int(const Json& j, const char* key, std::int64_t fallback = 0);
int get_int32(const Json& j, const char* key, int fallback = 0);  // range-checked
double get_double(const Json& j, const char* key, double fallback = 0);
bool get_bool(const Json& j, const char* key, bool fallback = false);
Time get_time(const Json& j, const char* key);
const Json& get_object(const Json& j, const char* key);  // empty object if missing
const Json& get_array(const Json& j, const char* key);   // empty array if missing
// Of a temporary (a reply), the field itself, moved out: a reference into the
// temporary would dangle in `for (auto& x : get_array(request(), "k"))`.
Json get_object(Json&& j, const char* key);
Json get_array(Json&& j, const char* key);
void require_object(const Json& j, const char* what);

}  // namespace qube
