#include "qube/json.hpp"

#include "item_fields.hpp"

#include <cstdint>
#include <utility>

namespace qube {

namespace {

[[noreturn]] void wrong_type(const char* key, const char* expected) {
  throw FormatError(std::string("field '") + key + "' must be " + expected);
}

std::optional<int> get_opt_int(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) wrong_type(key, "an integer");
  return it->get<int>();
}

template <typename Enum>
Enum get_enum(const Json& j, const char* key, Enum fallback,
              std::optional<Enum> (*parse)(std::string_view)) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_string()) wrong_type(key, "a string");
  auto v = parse(it->get_ref<const std::string&>());
  if (!v) throw FormatError(std::string("field '") + key + "' has unknown value '" +
                            it->get<std::string>() + "'");
  return *v;
}

std::map<std::string, std::string> get_string_map(const Json& j, const char* key) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : get_object(j, key).items()) {
    if (!v.is_string()) throw FormatError(std::string("field '") + key + "." + k + "' must be a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

std::vector<std::string> get_string_list(const Json& j, const char* key) {
  std::vector<std::string> out;
  for (const auto& v : get_array(j, key)) {
    if (!v.is_string()) throw FormatError(std::string("field '") + key + "' must hold strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

namespace {

// One value of item_fields or attempt_fields, as Json (codec.cpp's pack_field
// writes the same as MessagePack).
template <class T>
Json field_json(const T& value) {
  if constexpr (std::is_same_v<T, std::vector<Attempt>>) return attempts_json(value);
  else if constexpr (std::is_same_v<T, detail::AttemptLog>)
    return Json{{"out", {value.out_begin, value.out_end}}, {"err", {value.err_begin, value.err_end}}};
  else if constexpr (std::is_same_v<T, Json>) return value.is_null() ? Json::object() : value;
  else if constexpr (std::is_same_v<T, std::string_view>) return std::string(value);
  else if constexpr (std::is_same_v<T, std::optional<std::string_view>>)
    return value ? Json(std::string(*value)) : Json(nullptr);
  else if constexpr (requires { value.has_value(); }) return opt_json(value);
  else return value;
}

Json attempt_json(const Attempt& a) {
  Json j = Json::object();
  detail::attempt_fields(a, [&j](const char* key, const auto& value) { j[key] = field_json(value); });
  return j;
}

}  // namespace

Json attempts_json(const std::vector<Attempt>& history) {
  Json out = Json::array();
  for (const auto& a : history) out.push_back(attempt_json(a));
  return out;
}

Attempt attempt_from_json(const Json& j) {
  require_object(j, "attempt");
  Attempt a;
  a.attempt_id = static_cast<std::uint64_t>(get_int(j, "attempt_id"));
  a.host = get_string(j, "host");
  a.subid = static_cast<std::int32_t>(get_int(j, "subid", -1));
  a.status = get_enum(j, "status", WorkStatus::failed, parse_work_status);
  a.exitcode = get_opt_int(j, "exitcode");
  a.signal = get_opt_int(j, "signal");
  a.timestart = get_time(j, "timestart");
  a.timecomplete = get_time(j, "timecomplete");
  a.walltime = get_double(j, "walltime");
  a.cputime = get_double(j, "cputime");
  a.peak_rss_kb = static_cast<std::uint64_t>(get_int(j, "peak_rss_kb"));
  a.reason = get_string(j, "reason");
  const Json& log = get_object(j, "log");
  auto range = [&](const char* stream, std::uint64_t& begin, std::uint64_t& end) {
    const Json& r = get_array(log, stream);
    if (r.size() == 2 && r[0].is_number_unsigned() && r[1].is_number_unsigned() && r[0] <= r[1]) {
      begin = r[0].get<std::uint64_t>();
      end = r[1].get<std::uint64_t>();
    }
  };
  range("out", a.out_begin, a.out_end);
  range("err", a.err_begin, a.err_end);
  return a;
}

Json result_package(const Json& reported) { return reported.empty() ? Json() : reported; }

void require_object(const Json& j, const char* what) {
  if (!j.is_object()) throw FormatError(std::string(what) + " must be a map");
}

std::string get_string(const Json& j, const char* key, std::string fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) wrong_type(key, "a string");
  return it->get<std::string>();
}

std::int64_t get_int(const Json& j, const char* key, std::int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) wrong_type(key, "an integer");
  return it->get<std::int64_t>();
}

double get_double(const Json& j, const char* key, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) wrong_type(key, "a number");
  return it->get<double>();
}

int get_int32(const Json& j, const char* key, int fallback) {
  const std::int64_t v = get_int(j, key, fallback);
  if (v < INT32_MIN || v > INT32_MAX) throw FormatError(std::string("field '") + key + "' is out of range");
  return static_cast<int>(v);
}

bool get_bool(const Json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) wrong_type(key, "true or false");
  return it->get<bool>();
}

Time get_time(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) wrong_type(key, "a time in seconds");
  return it->get<double>();
}

const Json& get_object(const Json& j, const char* key) {
  static const Json empty = Json::object();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return empty;
  if (!it->is_object()) wrong_type(key, "a map");
  return *it;
}

const Json& get_array(const Json& j, const char* key) {
  static const Json empty = Json::array();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return empty;
  if (!it->is_array()) wrong_type(key, "a list");
  return *it;
}

Json get_object(Json&& j, const char* key) {
  get_object(std::as_const(j), key);  // the type checked
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? Json::object() : std::move(*it);
}

Json get_array(Json&& j, const char* key) {
  get_array(std::as_const(j), key);  // the type checked
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? Json::array() : std::move(*it);
}

Json to_json(const AgendaItem& i) {
  Json j = Json::object();
  detail::item_fields(i, [&j](const char* key, const auto& value) { j[key] = field_json(value); });
  return j;
}

AgendaItem item_from_json(const Json& j) {
  require_object(j, "agenda item");
  AgendaItem i;
  i.name = get_string(j, "name");
  i.status = get_enum(j, "status", WorkStatus::pending, parse_work_status);
  i.attempts = static_cast<std::uint32_t>(get_int(j, "attempts"));
  i.attempt_id = static_cast<std::uint64_t>(get_int(j, "attempt_id"));
  i.failures = static_cast<std::uint32_t>(get_int(j, "failures"));
  i.host = get_string(j, "host");
  i.subid = static_cast<std::int32_t>(get_int(j, "subid", -1));
  i.exitcode = get_opt_int(j, "exitcode");
  i.signal = get_opt_int(j, "signal");
  i.timestart = get_time(j, "timestart");
  i.timecomplete = get_time(j, "timecomplete");
  i.walltime = get_double(j, "walltime");
  i.cputime = get_double(j, "cputime");
  i.peak_rss_kb = static_cast<std::uint64_t>(get_int(j, "peak_rss_kb"));
  i.reason = get_string(j, "reason");
  i.resultpackage = result_package(get_object(j, "resultpackage"));
  for (const auto& a : get_array(j, "history")) i.history.push_back(attempt_from_json(a));
  return i;
}

Json to_json(const Instance& s) {
  return Json{{"subid", s.subid},
              {"host", s.host.empty() ? Json(nullptr) : Json(s.host)},
              {"status", to_string(s.status)},
              {"timestart", opt_json(s.timestart)},
              {"timecomplete", opt_json(s.timecomplete)},
              {"exitcode", opt_json(s.exitcode)},
              {"reason", s.reason},
              {"lost", s.lost},
              {"retried", s.retried},
              {"slots", s.slots},
              {"allocation", s.allocation}};
}

Instance instance_from_json(const Json& j) {
  require_object(j, "instance");
  Instance s;
  s.subid = static_cast<std::int32_t>(get_int(j, "subid"));
  s.host = get_string(j, "host");
  s.status = get_enum(j, "status", JobStatus::pending, parse_job_status);
  s.timestart = get_time(j, "timestart");
  s.timecomplete = get_time(j, "timecomplete");
  s.exitcode = get_opt_int(j, "exitcode");
  s.reason = get_string(j, "reason");
  s.lost = get_bool(j, "lost");
  s.retried = get_bool(j, "retried");
  s.slots = get_int32(j, "slots", 0);
  s.allocation = get_string(j, "allocation");
  return s;
}

Json to_json(const Callback& c) {
  return Json{{"triggers", c.triggers}, {"language", c.language}, {"code", c.code}};
}

Callback callback_from_json(const Json& j) {
  require_object(j, "callback");
  return Callback{get_string(j, "triggers"), get_string(j, "language"), get_string(j, "code")};
}

Json to_json(const JobSpec& s) {
  Json cbs = Json::array();
  for (const auto& c : s.callbacks) cbs.push_back(to_json(c));
  return Json{{"name", s.name},         {"type", s.type},
              {"user", s.user},         {"priority", s.priority},
              {"cpus", s.cpus},         {"label", s.label},
              {"range", s.range},       {"chunk", s.chunk},
              {"partitions", s.partitions}, {"padding", s.padding},
              {"agenda", s.agenda},     {"package", s.package},
              {"env", s.env},           {"callbacks", cbs},
              {"dependency", s.dependency}, {"blocked", s.blocked},
              {"retrywork", s.retrywork}, {"retryworkdelay", s.retryworkdelay},
              {"timelimit", s.timelimit}, {"agendatimelimit", s.agendatimelimit},
              {"cwd", s.cwd},
              {"retrysubjob", s.retrysubjob}, {"retrydifferenthost", s.retrydifferenthost},
              {"description", s.description}, {"mail", s.mail},
              {"hosts", s.hosts},       {"omithosts", s.omithosts},
              {"groups", s.groups},     {"omitgroups", s.omitgroups},
              {"services", s.services}, {"requirements", s.requirements},
              {"reservations", s.reservations}, {"restrictions", s.restrictions},
              {"cluster", s.cluster},
              {"flags", s.flags},       {"max_cpus", s.max_cpus},
              {"conditions", s.conditions}, {"tags", s.tags},
              {"extra", s.extra},
              {"kind", s.kind},         {"account", s.account},
              {"domain", s.domain},
              {"preexec", s.preexec},   {"postexec", s.postexec},
              {"preflights", s.preflights}, {"postflights", s.postflights},
              {"agenda_preflights", s.agenda_preflights}, {"agenda_postflights", s.agenda_postflights},
              {"processors", s.processors}, {"hostorder", s.hostorder},
              {"order", s.order},       {"preview", s.preview}};
}

JobSpec spec_from_json(const Json& j) {
  require_object(j, "job");
  JobSpec s;
  s.name = get_string(j, "name");
  s.type = get_string(j, "type", s.type);
  s.user = get_string(j, "user");
  s.priority = get_int32(j, "priority", s.priority);
  s.cpus = get_int32(j, "cpus", s.cpus);
  s.label = get_string(j, "label");
  s.range = get_string(j, "range");
  s.chunk = get_int32(j, "chunk", s.chunk);
  s.partitions = get_int32(j, "partitions", s.partitions);
  s.padding = get_int32(j, "padding", s.padding);
  s.agenda = get_string_list(j, "agenda");
  auto pkg = j.find("package");
  if (pkg != j.end() && !pkg->is_null()) {
    if (!pkg->is_object()) throw FormatError("field 'package' must be a map");
    s.package = *pkg;
  }
  s.env = get_string_map(j, "env");
  for (const auto& c : get_array(j, "callbacks")) s.callbacks.push_back(callback_from_json(c));
  s.dependency = get_string(j, "dependency");
  s.blocked = get_bool(j, "blocked");
  s.retrywork = get_int32(j, "retrywork", 0);
  s.retryworkdelay = get_double(j, "retryworkdelay");
  s.timelimit = get_double(j, "timelimit");
  s.agendatimelimit = get_double(j, "agendatimelimit");
  s.cwd = get_string(j, "cwd");
  s.retrysubjob = get_int32(j, "retrysubjob", 0);
  s.retrydifferenthost = get_bool(j, "retrydifferenthost");
  s.description = get_string(j, "description");
  s.mail = get_string_list(j, "mail");
  s.hosts = get_string_list(j, "hosts");
  s.omithosts = get_string_list(j, "omithosts");
  s.groups = get_string_list(j, "groups");
  s.omitgroups = get_string_list(j, "omitgroups");
  s.services = get_string_list(j, "services");
  s.requirements = get_string(j, "requirements");
  s.reservations = get_string(j, "reservations");
  s.restrictions = get_string(j, "restrictions");
  s.cluster = get_string(j, "cluster", "/");
  s.flags = get_string_list(j, "flags");
  s.max_cpus = get_int32(j, "max_cpus", 0);
  s.conditions = get_array(j, "conditions");
  s.tags = get_string_list(j, "tags");
  s.extra = get_object(j, "extra");
  s.kind = get_string(j, "kind");
  s.account = get_string(j, "account");
  s.domain = get_string(j, "domain");
  s.preexec = get_string(j, "preexec");
  s.postexec = get_string(j, "postexec");
  s.preflights = get_string_list(j, "preflights");
  s.postflights = get_string_list(j, "postflights");
  s.agenda_preflights = get_string_list(j, "agenda_preflights");
  s.agenda_postflights = get_string_list(j, "agenda_postflights");
  s.processors = get_int32(j, "processors", 0);
  s.hostorder = get_string(j, "hostorder");
  s.order = get_string(j, "order");
  s.preview = get_string(j, "preview");
  return s;
}

namespace {
// The instances, and the excluded hosts: always in a full record; in a summary (and
// the stored document) only when there are some, so that a listing of many jobs
// does not grow for nothing.
void add_full_record_fields(Json& j, const Job& job, bool full) {
  if (full) {
    Json instances = Json::array();
    for (const auto& s : job.instances) instances.push_back(to_json(s));
    j["instances"] = std::move(instances);
  }
  if (full || !job.excluded_hosts.empty()) {
    Json excluded = Json::array();
    for (const auto& e : job.excluded_hosts)
      excluded.push_back(Json{{"host", e.host}, {"reason", e.reason}, {"since", opt_json(e.since)}});
    j["excluded_hosts"] = std::move(excluded);
  }
}

// What the farm made of a job: id, status, family, times and reason.
void add_farm_fields(Json& j, const Job& job) {
  j["id"] = job.id;
  j["status"] = to_string(job.status);
  j["pgrp"] = job.pgrp;
  j["pid"] = job.pid;
  j["rank"] = job.rank;
  j["timesubmit"] = opt_json(job.timesubmit);
  j["timestart"] = opt_json(job.timestart);
  j["timecomplete"] = opt_json(job.timecomplete);
  j["reason"] = job.reason;
}
}  // namespace

Json to_json(const Job& job, bool with_agenda) { return to_json(job, with_agenda, progress_of(job)); }

Json to_json(const Job& job, bool with_agenda, const Progress& p) {
  // Everything the user asked for (the spec), then what the farm made of it. The
  // spec's "agenda" (item names) gives way to the job's item records below.
  Json j = to_json(job.spec);
  j.erase("agenda");
  j.erase("blocked");
  add_farm_fields(j, job);
  j["progress"] = {{"total", p.total},     {"pending", p.pending}, {"running", p.running},
                   {"complete", p.complete}, {"failed", p.failed}};
  if (with_agenda) {
    Json agenda = Json::array();
    for (const auto& i : job.agenda) agenda.push_back(to_json(i));
    j["agenda"] = std::move(agenda);
  }
  add_full_record_fields(j, job, with_agenda);
  return j;
}

Json to_stored_json(const Job& job) {
  Json j = Json::object();
  // No progress: it is counted from the items when the job is loaded. Kept in
  // the row, every item's result would rewrite its whole job (spec and all).
  add_farm_fields(j, job);
  add_full_record_fields(j, job, false);
  j["spec"] = to_json(job.spec);
  return j;
}

Json to_json_without_agenda(const Job& job, const Progress& progress) {
  Json j = to_json(job, false, progress);
  add_full_record_fields(j, job, true);
  return j;
}

namespace {

// The fields add_farm_fields and add_full_record_fields write.
void read_farm_fields(const Json& j, Job& job) {
  job.id = static_cast<JobId>(get_int(j, "id"));
  job.status = get_enum(j, "status", JobStatus::pending, parse_job_status);
  job.pgrp = static_cast<JobId>(get_int(j, "pgrp"));
  job.pid = static_cast<JobId>(get_int(j, "pid"));
  job.rank = get_int(j, "rank");
  job.timesubmit = get_time(j, "timesubmit");
  job.timestart = get_time(j, "timestart");
  job.timecomplete = get_time(j, "timecomplete");
  job.reason = get_string(j, "reason");
  for (const auto& s : get_array(j, "instances")) job.instances.push_back(instance_from_json(s));
  // Absent in documents stored before bad hosts existed: none excluded.
  for (const auto& e : get_array(j, "excluded_hosts"))
    job.excluded_hosts.push_back(ExcludedHost{get_string(e, "host"), get_string(e, "reason"), get_time(e, "since")});
}

}  // namespace

Job job_from_json(const Json& j) {
  require_object(j, "job");
  Job job;
  // The job's "agenda" holds item records; the spec's holds item names.
  Json spec = j;
  spec.erase("agenda");
  job.spec = spec_from_json(spec);
  read_farm_fields(j, job);
  for (const auto& i : get_array(j, "agenda")) job.agenda.push_back(item_from_json(i));
  return job;
}

Job stored_job_from_json(const Json& j) {
  require_object(j, "stored job");
  if (!j.contains("spec")) throw FormatError("stored job: no 'spec'");
  Job job;
  job.spec = spec_from_json(get_object(j, "spec"));
  read_farm_fields(j, job);
  return job;
}

Json to_json(const Host& h) {
  return Json{{"name", h.name},
              {"state", to_string(h.state)},
              {"slots", h.slots},
              {"slots_used", h.slots_used},
              {"memory_mb", h.memory_mb},
              {"jobtypes", h.jobtypes},
              {"address", h.address},
              {"last_heartbeat", opt_json(h.last_heartbeat)},
              {"registered", opt_json(h.registered)}};
}

Host host_from_json(const Json& j) {
  require_object(j, "host");
  Host h;
  h.name = get_string(j, "name");
  h.state = get_enum(j, "state", HostState::active, parse_host_state);
  h.slots = get_int32(j, "slots", 1);
  h.slots_used = get_int32(j, "slots_used", 0);
  h.memory_mb = static_cast<std::uint64_t>(get_int(j, "memory_mb"));
  h.jobtypes = get_string_list(j, "jobtypes");
  h.address = get_string(j, "address");
  h.last_heartbeat = get_time(j, "last_heartbeat");
  h.registered = get_time(j, "registered");
  return h;
}

}  // namespace qube
