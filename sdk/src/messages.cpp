#include "qube/messages.hpp"

#include <cstdint>
#include <limits>
#include <vector>

#include "qube/json.hpp"

namespace qube::proto {

namespace {

constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

enum class Need { required, optional };

// A value quoted into an error message, cut short: it may be hostile and huge.
std::string quoted(const std::string& value) {
  constexpr std::size_t kMax = 64;
  return "'" + (value.size() <= kMax ? value : value.substr(0, kMax) + "...") + "'";
}

std::string integer_kind(std::int64_t min, std::int64_t max) {
  if (min == 0 && max == kInt64Max) return "a non-negative integer";
  if (min == kInt32Min && max == kInt32Max) return "a 32-bit integer";
  return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

// Reads the fields of one message body, checking each as it is read, and at the
// end (finish) rejects any field that was not read: a field the message does
// not have. Absent and null are the same (an optional field may be sent as null).
class Fields {
 public:
  Fields(const Json& body, std::string message, std::string prefix = {})
      : body_(body), message_(std::move(message)), prefix_(std::move(prefix)) {
    known_.reserve(16);  // one allocation: the largest message has about a dozen fields
    if (!body_.is_object())
      throw FormatError(message_ + ": " + (prefix_.empty() ? "the body" : "'" + prefix_ + "'") + " must be a map");
  }

  [[noreturn]] void fail(const char* key, const std::string& problem) const {
    throw FormatError(message_ + ": '" + prefix_ + key + "' " + problem);
  }

  // The field's value, or null if absent (a required field must be present).
  const Json* find(const char* key, Need need) {
    const auto it = body_.find(key);
    const bool present = it != body_.end();
    if (!is_known(key)) {
      known_.push_back(key);
      present_ += present ? 1 : 0;
    }
    if (!present || it->is_null()) {
      if (need == Need::required) fail(key, "is missing");
      return nullptr;
    }
    return &*it;
  }
  void skip(const char* key) { find(key, Need::optional); }

  std::int64_t integer(const char* key, std::int64_t min, std::int64_t max, Need need = Need::required,
                       std::int64_t fallback = 0) {
    return opt_integer(key, min, max, need).value_or(fallback);
  }
  std::optional<std::int64_t> opt_integer(const char* key, std::int64_t min, std::int64_t max,
                                          Need need = Need::optional) {
    const Json* v = find(key, need);
    if (!v) return std::nullopt;
    const bool fits = v->is_number_unsigned() ? v->get<std::uint64_t>() <= static_cast<std::uint64_t>(max)
                                              : v->is_number_integer();
    if (!fits || v->get<std::int64_t>() < min || v->get<std::int64_t>() > max)
      fail(key, "must be " + integer_kind(min, max));
    return v->get<std::int64_t>();
  }
  std::optional<int> opt_int32(const char* key) {
    const auto v = opt_integer(key, kInt32Min, kInt32Max);
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
  }
  std::uint64_t unsigned_integer(const char* key, Need need = Need::required) {
    const Json* v = find(key, need);
    if (!v) return 0;
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0))
      fail(key, "must be a non-negative integer");
    return v->get<std::uint64_t>();
  }
  std::optional<double> opt_number(const char* key, Need need = Need::optional) {
    const Json* v = find(key, need);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail(key, "must be a number");
    return v->get<double>();
  }
  double number(const char* key, Need need = Need::required) { return opt_number(key, need).value_or(0); }
  std::string string(const char* key, Need need = Need::required) {
    const Json* v = find(key, need);
    if (!v) return {};
    if (!v->is_string()) fail(key, "must be a string");
    return v->get<std::string>();
  }
  bool boolean(const char* key, Need need = Need::required) {
    const Json* v = find(key, need);
    if (!v) return false;
    if (!v->is_boolean()) fail(key, "must be true or false");
    return v->get<bool>();
  }
  // An optional map (free-form: packages, facts); {} when absent.
  Json map(const char* key) {
    const Json* v = find(key, Need::optional);
    if (!v) return Json::object();
    if (!v->is_object()) fail(key, "must be a map");
    return *v;
  }
  // The fields of a required map inside this one.
  Fields nested(const char* key) {
    const Json* v = find(key, Need::required);
    if (!v->is_object()) fail(key, "must be a map");
    return Fields(*v, message_, prefix_ + key + ".");
  }
  std::vector<std::string> strings(const char* key) {
    std::vector<std::string> out;
    const Json* v = find(key, Need::optional);
    if (!v) return out;
    if (!v->is_array()) fail(key, "must be a list of strings");
    for (const Json& s : *v) {
      if (!s.is_string()) fail(key, "must be a list of strings");
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  std::map<std::string, std::string> string_map(const char* key) {
    std::map<std::string, std::string> out;
    const Json* v = find(key, Need::optional);
    if (!v) return out;
    if (!v->is_object()) fail(key, "must be a map");
    for (const auto& [k, s] : v->items()) {
      if (!s.is_string()) throw FormatError(message_ + ": '" + prefix_ + key + "." + k + "' must be a string");
      out.emplace(k, s.get<std::string>());
    }
    return out;
  }
  // A string naming one of an enum's values, parsed by `parse`.
  template <class Enum>
  Enum choice(const char* key, std::optional<Enum> (*parse)(std::string_view), Need need, Enum fallback) {
    if (!find(key, need)) return fallback;
    const std::string text = string(key);
    const auto v = parse(text);
    if (!v) fail(key, "has unknown value " + quoted(text));
    return *v;
  }

  // Rejects the first field that was not read.
  void finish() const {
    if (present_ == body_.size()) return;  // every field was read
    for (const auto& [k, v] : body_.items())
      if (!is_known(k)) throw FormatError(message_ + ": unknown field " + quoted(prefix_ + k));
  }

 private:
  bool is_known(std::string_view key) const {
    for (const char* k : known_)
      if (key == k) return true;
    return false;
  }

  const Json& body_;
  std::string message_;
  std::string prefix_;  // "job." inside start_instance's job
  std::vector<const char*> known_;  // the fields read, present or not
  std::size_t present_ = 0;         // how many of them the body has
};

// ---- parts that several messages share

void put(Json& j, const InstanceRef& r) {
  j["job"] = r.job;
  j["subid"] = r.subid;
}
InstanceRef read_instance(Fields& f) {
  InstanceRef r;
  r.job = f.unsigned_integer("job");
  r.subid = static_cast<std::int32_t>(f.integer("subid", 0, kInt32Max));
  return r;
}

void put(Json& j, const WorkResult& r) {
  const qube::WorkResult& o = r.outcome;
  j["index"] = r.index;
  j["attempt"] = r.attempt;
  j["status"] = to_string(o.status);
  j["exitcode"] = opt_json(o.exitcode);
  j["signal"] = opt_json(o.signal);
  j["walltime"] = r.walltime;
  j["cputime"] = o.cputime;
  j["peak_rss_kb"] = o.peak_rss_kb;
  j["reason"] = o.reason;
  j["resultpackage"] = o.resultpackage.is_object() ? o.resultpackage : Json::object();
}
WorkResult read_result(Fields& f) {
  WorkResult r;
  qube::WorkResult& o = r.outcome;
  r.index = f.integer("index", -1, kInt64Max);
  r.attempt = f.unsigned_integer("attempt");
  o.status = f.choice("status", parse_work_status, Need::required, WorkStatus::failed);
  if (o.status != WorkStatus::complete && o.status != WorkStatus::failed) f.fail("status", "must be complete or failed");
  o.exitcode = f.opt_int32("exitcode");
  o.signal = f.opt_int32("signal");
  r.walltime = f.number("walltime", Need::optional);
  o.cputime = f.number("cputime", Need::optional);
  o.peak_rss_kb = f.unsigned_integer("peak_rss_kb", Need::optional);
  o.reason = f.string("reason", Need::optional);
  o.resultpackage = f.map("resultpackage");
  return r;
}

void put(Json& j, const LogOutput& l) {
  j["stream"] = l.stream == Stream::err ? "err" : "out";
  j["data"] = Json::binary(std::vector<std::uint8_t>(l.data.begin(), l.data.end()));
}
LogOutput read_log(Fields& f) {
  LogOutput l;
  const std::string stream = f.string("stream");
  if (stream != "out" && stream != "err") f.fail("stream", "must be out or err");
  l.stream = stream == "err" ? Stream::err : Stream::out;
  if (const Json* data = f.find("data", Need::optional)) {
    if (data->is_binary()) l.data.assign(data->get_binary().begin(), data->get_binary().end());
    else if (data->is_string()) l.data = data->get<std::string>();
    else f.fail("data", "must be bytes");
  }
  return l;
}

void put(Json& j, const Assignment& a) {
  j["index"] = a.index;
  j["item"] = a.item;
  j["attempt"] = a.attempt;
}
Assignment read_assignment(Fields& f) {
  Assignment a;
  a.index = f.integer("index", -1, kInt64Max);
  a.item = f.string("item");
  a.attempt = f.unsigned_integer("attempt");
  return a;
}

Json job_json(const JobInfo& job) {
  Json j{{"id", job.id},           {"subid", job.subid}, {"pgrp", job.pgrp},       {"name", job.name},
         {"type", job.type},       {"user", job.user},   {"package", job.package}, {"env", job.env},
         {"padding", job.padding}, {"cwd", job.cwd}};
  // Added by the worker for the instance; the supervisor does not send them.
  if (!job.supervisor.empty()) j["supervisor"] = job.supervisor;
  if (!job.host.empty()) j["host"] = job.host;
  return j;
}
JobInfo read_job(Fields f) {
  JobInfo job;
  job.id = f.unsigned_integer("id");
  job.subid = static_cast<std::int32_t>(f.integer("subid", 0, kInt32Max));
  job.pgrp = f.unsigned_integer("pgrp", Need::optional);
  job.name = f.string("name", Need::optional);
  job.type = f.string("type");
  job.user = f.string("user", Need::optional);
  job.package = f.map("package");
  job.env = f.string_map("env");
  job.padding = static_cast<int>(f.integer("padding", kInt32Min, kInt32Max, Need::optional));
  job.cwd = f.string("cwd", Need::optional);
  job.supervisor = f.string("supervisor", Need::optional);
  job.host = f.string("host", Need::optional);
  f.finish();
  return job;
}

Host read_host(Fields& f) {
  Host h;
  h.name = f.string("name");
  if (h.name.empty() || h.name.size() > 255) f.fail("name", "must be 1 to 255 characters");
  h.state = f.choice("state", parse_host_state, Need::optional, HostState::active);
  h.slots = static_cast<int>(f.integer("slots", 0, 100000, Need::optional, 1));
  h.slots_used = static_cast<int>(f.integer("slots_used", 0, kInt32Max, Need::optional));
  h.memory_mb = f.unsigned_integer("memory_mb", Need::optional);
  h.jobtypes = f.strings("jobtypes");
  h.address = f.string("address", Need::optional);
  h.last_heartbeat = f.opt_number("last_heartbeat");
  h.registered = f.opt_number("registered");
  return h;
}

// The name of a channel message: its `t`.
std::string tag_of(const Json& body, const char* what) { return Fields(body, what).string("t"); }

[[noreturn]] void unknown_tag(const char* what, const std::string& tag) {
  throw FormatError(std::string(what) + ": 't' has unknown value " + quoted(tag));
}

// Decodes a message about an instance: {job, subid}, then what `read_rest` reads.
template <class M, class ReadRest>
M decode_about_instance(const Json& body, ReadRest read_rest) {
  Fields f(body, M::kType);
  M m;
  m.instance = read_instance(f);
  read_rest(f, m);
  f.finish();
  return m;
}
constexpr auto kNothingMore = [](Fields&, auto&) {};

void read_empty(const Json& body, const char* message) { Fields(body, message).finish(); }

}  // namespace

// ---- encoders

Json to_json(const Register& m) {
  Json j = qube::to_json(m.host);
  j["facts"] = m.facts;
  if (!m.running.empty()) {
    Json running = Json::array();
    for (const auto& r : m.running) {
      Json one{{"index", r.index}, {"attempt", r.attempt}};
      put(one, r.instance);
      running.push_back(std::move(one));
    }
    j["running"] = std::move(running);
  }
  return j;
}

Json to_json(const Heartbeat& m) {
  Json j{{"name", m.name}, {"instances", m.instances}};
  if (m.ack) j["ack"] = true;
  return j;
}

Json to_json(const WorkerStopping& m) { return Json{{"finishing", m.finishing}}; }

namespace {

// A message that is only about an instance: {job, subid}.
Json instance_body(const InstanceRef& instance) {
  Json j = Json::object();
  put(j, instance);
  return j;
}

}  // namespace

Json to_json(const WorkRequest& m) {
  Json j = instance_body(m.instance);
  if (m.ahead) j["ahead"] = true;
  return j;
}

Json to_json(const WorkResultReport& m) {
  Json j = instance_body(m.instance);
  put(j, m.result);
  if (m.ahead) j["ahead"] = true;
  return j;
}

Json to_json(const LogReport& m) {
  Json j = instance_body(m.instance);
  put(j, m.log);
  if (m.offset) j["offset"] = *m.offset;
  return j;
}

Json to_json(const InstanceDone& m) {
  Json j{{"status", to_string(m.status)}, {"reason", m.reason}};
  put(j, m.instance);
  if (m.exitcode) j["exitcode"] = *m.exitcode;
  if (m.refused) j["refused"] = true;
  return j;
}

Json to_json(const Registered& m) {
  return Json{{"heartbeat_interval", m.heartbeat_interval}, {"client_endpoint", m.client_endpoint}};
}

Json to_json(const Reregister&) { return Json::object(); }
Json to_json(const NotActive& m) { return Json{{"active", m.active}}; }
Json to_json(const HeartbeatAck&) { return Json::object(); }

Json to_json(const StartInstance& m) {
  Json j{{"job", job_json(m.job)}};
  // Left out when there are none, so a worker that predates hooks still takes the job.
  if (!m.hooks.empty())
    j["hooks"] = Json{{"preflights", m.hooks.preflights},
                      {"postflights", m.hooks.postflights},
                      {"agenda_preflights", m.hooks.agenda_preflights},
                      {"agenda_postflights", m.hooks.agenda_postflights}};
  return j;
}

Json to_json(const Work& m) {
  Json j = instance_body(m.instance);
  if (m.assignment) put(j, *m.assignment);
  else j["done"] = true;
  if (m.ahead) j["ahead"] = true;
  return j;
}

Json to_json(const KillInstance& m) { return instance_body(m.instance); }

Json to_json(const SuspendInstance& m) {
  Json j{{"suspend", m.suspend}};
  put(j, m.instance);
  return j;
}

Json to_json(const HeldItem& m) {
  Json j{{"index", m.index}, {"attempt", m.attempt}};
  put(j, m.instance);
  return j;
}

Json to_json(const WorkReply& m) {
  if (!m.assignment) return Json{{"t", "done"}};
  Json j{{"t", "work"}};
  put(j, *m.assignment);
  return j;
}

Json to_json(const FromInstance& m) {
  struct Encode {
    Json operator()(const ItemRequest&) const { return Json{{"t", "request"}}; }
    Json operator()(const LogOutput& l) const {
      Json j{{"t", "log"}};
      put(j, l);
      return j;
    }
    Json operator()(const WorkResult& r) const {
      Json j{{"t", "result"}};
      put(j, r);
      return j;
    }
    Json operator()(const Fatal& f) const { return Json{{"t", "fatal"}, {"reason", f.reason}}; }
  };
  return std::visit(Encode{}, m);
}

// ---- decoders

Register decode_register(const Json& body) {
  Fields f(body, kRegister);
  Register m;
  m.host = read_host(f);
  m.facts = f.map("facts");
  if (const Json* running = f.find("running", Need::optional)) {
    if (!running->is_array()) f.fail("running", "must be a list");
    for (const Json& one : *running) {
      Fields r(one, kRegister, "running.");
      RunningReport report;
      report.instance = read_instance(r);
      report.index = r.integer("index", -1, std::numeric_limits<std::int64_t>::max());
      report.attempt = r.unsigned_integer("attempt");
      r.finish();
      m.running.push_back(report);
    }
  }
  f.finish();
  return m;
}

Heartbeat decode_heartbeat(const Json& body) {
  Fields f(body, kHeartbeat);
  Heartbeat m;
  m.name = f.string("name");
  m.instances = f.unsigned_integer("instances");
  m.ack = f.boolean("ack", Need::optional);
  f.finish();
  return m;
}

WorkerStopping decode_worker_stopping(const Json& body) {
  Fields f(body, kWorkerStopping);
  WorkerStopping m;
  m.finishing = f.boolean("finishing");
  f.finish();
  return m;
}

WorkRequest decode_work_request(const Json& body) {
  return decode_about_instance<WorkRequest>(body, [](Fields& f, WorkRequest& m) { m.ahead = f.boolean("ahead", Need::optional); });
}

WorkResultReport decode_work_result(const Json& body) {
  return decode_about_instance<WorkResultReport>(body, [](Fields& f, WorkResultReport& m) {
    m.result = read_result(f);
    m.ahead = f.boolean("ahead", Need::optional);
  });
}

LogReport decode_log(const Json& body) {
  return decode_about_instance<LogReport>(body, [](Fields& f, LogReport& m) {
    m.log = read_log(f);
    if (f.find("offset", Need::optional)) m.offset = f.unsigned_integer("offset");
  });
}

InstanceDone decode_instance_done(const Json& body) {
  return decode_about_instance<InstanceDone>(body, [](Fields& f, InstanceDone& m) {
    m.status = f.choice("status", parse_job_status, Need::required, JobStatus::failed);
    if (m.status != JobStatus::complete && m.status != JobStatus::failed && m.status != JobStatus::killed)
      f.fail("status", "must be complete, failed or killed");
    m.reason = f.string("reason", Need::optional);
    m.exitcode = f.opt_int32("exitcode");
    m.refused = f.boolean("refused", Need::optional);
  });
}

Registered decode_registered(const Json& body) {
  Fields f(body, kRegistered);
  Registered m;
  m.heartbeat_interval = f.number("heartbeat_interval");
  m.client_endpoint = f.string("client_endpoint");
  f.finish();
  return m;
}

NotActive decode_not_active(const Json& body) {
  Fields f(body, kNotActive);
  NotActive m;
  m.active = f.string("active", Need::optional);
  f.finish();
  return m;
}

Reregister decode_reregister(const Json& body) {
  read_empty(body, kReregister);
  return {};
}

HeartbeatAck decode_heartbeat_ack(const Json& body) {
  read_empty(body, kHeartbeatAck);
  return {};
}

namespace {
InstanceHooks read_hooks(Fields& f) {
  InstanceHooks h;
  const Json* v = f.find("hooks", Need::optional);
  if (!v) return h;
  if (!v->is_object()) f.fail("hooks", "must be a map");
  Fields hooks(*v, kStartInstance, "hooks.");
  h.preflights = hooks.strings("preflights");
  h.postflights = hooks.strings("postflights");
  h.agenda_preflights = hooks.strings("agenda_preflights");
  h.agenda_postflights = hooks.strings("agenda_postflights");
  hooks.finish();
  return h;
}
}  // namespace

StartInstance decode_start_instance(const Json& body) {
  Fields f(body, kStartInstance);
  StartInstance m;
  m.job = read_job(f.nested("job"));
  m.hooks = read_hooks(f);
  f.finish();
  return m;
}

Work decode_work(const Json& body) {
  return decode_about_instance<Work>(body, [](Fields& f, Work& m) {
    if (!f.boolean("done", Need::optional)) m.assignment = read_assignment(f);
    m.ahead = f.boolean("ahead", Need::optional);
  });
}

KillInstance decode_kill_instance(const Json& body) { return decode_about_instance<KillInstance>(body, kNothingMore); }

SuspendInstance decode_suspend_instance(const Json& body) {
  return decode_about_instance<SuspendInstance>(body, [](Fields& f, SuspendInstance& m) { m.suspend = f.boolean("suspend"); });
}

namespace {
constexpr auto kHeldItemRest = [](Fields& f, HeldItem& m) {
  m.index = f.integer("index", 0, kInt64Max);
  m.attempt = f.unsigned_integer("attempt");
};
}  // namespace

Revoke decode_revoke(const Json& body) { return decode_about_instance<Revoke>(body, kHeldItemRest); }

Revoked decode_revoked(const Json& body) { return decode_about_instance<Revoked>(body, kHeldItemRest); }

WorkReply decode_work_reply(const Json& body) {
  constexpr const char* kWhat = "message to the instance";
  const std::string tag = tag_of(body, kWhat);
  if (tag != "work" && tag != "done") unknown_tag(kWhat, tag);
  Fields f(body, tag);
  f.skip("t");
  WorkReply m;
  if (tag == "work") m.assignment = read_assignment(f);
  f.finish();
  return m;
}

FromInstance decode_from_instance(const Json& body) {
  constexpr const char* kWhat = "message from the instance";
  const std::string tag = tag_of(body, kWhat);
  if (tag != "request" && tag != "log" && tag != "result" && tag != "fatal") unknown_tag(kWhat, tag);
  Fields f(body, tag);
  f.skip("t");
  FromInstance m;
  if (tag == "log") m = read_log(f);
  else if (tag == "result") m = read_result(f);
  else if (tag == "fatal") m = Fatal{f.string("reason", Need::optional)};
  f.finish();
  return m;
}

}  // namespace qube::proto
