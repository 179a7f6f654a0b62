// HQueue job specifications (both seed versions) as Qube jobs. The mapping, field
// by field, is in docs/pipelines.md; the choices that are ours are commented here.
#include <algorithm>

#include "jobfile_internal.hpp"
#include "qube/process.hpp"

namespace qube {

namespace {

using jobfile_detail::check_keys;
using jobfile_detail::within;

const std::vector<std::string> kKeys = {
    "name",        "command",     "shell",        "environment", "children",
    "childrenIds", "priority",    "cpus",         "tags",        "conditions",
    "inherit_conditions", "host", "maxHosts",     "minHosts",    "maxTime",
    "triesLeft",   "triesDifferentClient", "resources", "submittedBy", "description",
    "emailTo",     "emailReasons", "onSuccess",   "onError",     "onCancel",
    "onChildError", "onReschedule"};
const std::vector<std::string> kConditionKeys = {"type", "name", "op", "value"};
const std::vector<std::string> kConditionNames = {"hostname", "hostname:name", "group"};
const std::vector<std::string> kConditionOps = {"==", "!=", "in", "not_in", "any"};

// The one agenda item every HQueue job gets, so that triesLeft and
// triesDifferentClient (item retries in Qube) apply to its command.
const char* const kItem = "1";

// HQueue's event hooks run shell commands (the seed: "the set of shell commands to
// execute"), as `shell` callbacks on these events of the job itself.
struct Hook {
  const char* key;
  const char* trigger;
};
const Hook kHooks[] = {{"onSuccess", "complete-job-self"},
                       {"onError", "failed-job-self"},
                       {"onCancel", "killed-job-self"},
                       {"onReschedule", "retried-job-self"}};

// emailReasons that have a Qube event; the others (abandoned ejected ejecting
// runnable waiting) are kept in extra but send no mail yet.
struct Reason {
  const char* reason;
  const char* trigger;
};
const Reason kReasons[] = {{"succeeded", "complete-job-self"}, {"failed", "failed-job-self"},
                           {"cancelled", "killed-job-self"},   {"running", "running-job-self"},
                           {"queued", "submit-job-self"},      {"paused", "blocked-job-self"},
                           {"pausing", "blocked-job-self"},    {"resumed", "unblocked-job-self"},
                           {"resuming", "unblocked-job-self"}, {"rescheduled", "retried-job-self"},
                           {"priority changed", "modified-job-self"}};
const std::vector<std::string> kUnmailedReasons = {"abandoned", "ejected", "ejecting", "runnable",
                                                   "waiting"};

// Splits "a, b,c" at commas, trimming blanks and dropping empty parts.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    std::size_t b = pos, e = comma;
    while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
    while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
    if (b < e) out.push_back(text.substr(b, e - b));
    pos = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : sep) + p;
  return s;
}

std::int64_t get_non_negative(const Json& j, const char* key, std::int64_t fallback) {
  const std::int64_t v = get_int(j, key, fallback);
  if (v < 0) throw FormatError(std::string("field '") + key + "' must not be negative");
  return v;
}

std::map<std::string, std::string> environment_of(const Json& j) {
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : get_object(j, "environment").items()) {
    if (v.is_string()) env[k] = v.get<std::string>();
    else if (v.is_number()) env[k] = v.dump();  // HQueue users write {"THREADS": 4}
    else throw FormatError("field 'environment." + k + "' must be a string or a number");
  }
  return env;
}

Json conditions_of(const Json& j) {
  Json out = Json::array();
  for (const auto& c : get_array(j, "conditions")) {
    require_object(c, "a condition");
    check_keys(c, kConditionKeys, "condition");
    const std::string type = get_string(c, "type", "client");
    const std::string name = get_string(c, "name");
    const std::string op = get_string(c, "op");
    if (type != "client") throw FormatError("condition type '" + type + "' is not 'client'");
    if (std::find(kConditionNames.begin(), kConditionNames.end(), name) == kConditionNames.end())
      throw FormatError("condition name '" + name + "' is not hostname, hostname:name or group");
    if (std::find(kConditionOps.begin(), kConditionOps.end(), op) == kConditionOps.end())
      throw FormatError("condition op '" + op + "' is not ==, !=, in, not_in or any");
    out.push_back(Json{{"type", type}, {"name", name}, {"op", op}, {"value", get_string(c, "value")}});
  }
  return out;
}

Json resources_of(const Json& j) {
  const Json& r = get_object(j, "resources");
  for (const auto& [k, v] : r.items())
    if (!v.is_number() || v.get<double>() < 0)
      throw FormatError("field 'resources." + k + "' must be a non-negative number");
  return r;
}

// emailTo + emailReasons: one `mail` callback (code: the addresses) whose trigger
// is the || of the reasons' events.
void add_mail(const Json& j, JobSpec& s, Json& extra) {
  const std::string to = get_string(j, "emailTo");
  const std::string reasons_text = get_string(j, "emailReasons");
  if (!to.empty()) extra["emailTo"] = to;
  if (!reasons_text.empty()) extra["emailReasons"] = reasons_text;
  std::vector<std::string> triggers;
  for (const auto& r : split_list(reasons_text)) {
    const auto* m = std::find_if(std::begin(kReasons), std::end(kReasons),
                                 [&](const Reason& x) { return r == x.reason; });
    if (m != std::end(kReasons)) {
      if (std::find(triggers.begin(), triggers.end(), m->trigger) == triggers.end())
        triggers.push_back(m->trigger);
    } else if (std::find(kUnmailedReasons.begin(), kUnmailedReasons.end(), r) == kUnmailedReasons.end()) {
      throw FormatError("emailReasons: unknown reason '" + r + "'");
    }
  }
  const auto addresses = split_list(to);
  if (addresses.empty() || triggers.empty()) return;  // HQueue: no reasons, no mail
  s.callbacks.push_back(Callback{join(triggers, " || "), "mail", join(addresses, ",")});
}

class Importer {
 public:
  JobFile run(const Json& doc) {
    file_.format = JobFile::Format::hqueue;
    if (doc.is_array()) {
      if (doc.empty()) throw FormatError("HQueue spec: the list of jobs is empty");
      for (std::size_t i = 0; i < doc.size(); ++i) add_root(doc[i], "hq" + std::to_string(i + 1));
    } else {
      add_root(doc, "hq1");
    }
    file_.name = file_.jobs.front().spec.name;
    jobfile_detail::check_entries(file_.jobs, where_);
    return std::move(file_);
  }

 private:
  void add_root(const Json& j, const std::string& label) {
    root_conditions_ = Json::array();
    add(j, label, {}, {}, 0);
  }

  // Adds the job `j` (labelled `label`) and, after it, its children; returns its label.
  void add(const Json& j, const std::string& label, const std::string& parent,
           const std::string& parent_user, int depth) {
    const std::string where = describe(j, label);
    if (depth > kMaxChildDepth)
      throw FormatError(where + ": children nested deeper than " + std::to_string(kMaxChildDepth));
    if (file_.jobs.size() >= kMaxJobsPerFile)
      throw FormatError("HQueue spec: more than " + std::to_string(kMaxJobsPerFile) + " jobs");
    if (!j.is_object()) throw FormatError(where + ": must be a map");
    check_keys(j, kKeys, where, "property");

    const std::size_t index = file_.jobs.size();
    file_.jobs.emplace_back();
    where_.push_back(where);
    within(where, [&] { convert(j, label, parent, parent_user, depth == 0); });
    const Json& children = within(where, [&]() -> const Json& { return get_array(j, "children"); });
    const std::string user = file_.jobs[index].spec.user;
    for (std::size_t c = 0; c < children.size(); ++c)
      add(children[c], label + "." + std::to_string(c + 1), label, user, depth + 1);
  }

  static std::string describe(const Json& j, const std::string& label) {
    if (j.is_object()) {
      auto it = j.find("name");
      if (it != j.end() && it->is_string()) return "HQueue job '" + it->get<std::string>() + "' (" + label + ")";
    }
    return "HQueue job " + label;
  }

  // One HQueue job as the Qube job at the back of file_.jobs. The steps run in
  // this order so that the first mistake reported is the same whatever changes.
  void convert(const Json& j, const std::string& label, const std::string& parent,
               const std::string& parent_user, bool root) {
    JobFileEntry& e = file_.jobs.back();
    JobSpec& s = e.spec;
    Json extra = Json::object();
    s.name = get_string(j, "name");
    if (s.name.empty()) throw FormatError("'name' is required");
    s.label = label;
    e.parent_label = parent;
    s.type = "cmdline";
    s.agenda = {kItem};
    set_command(j, s, extra);
    s.env = environment_of(j);
    s.priority = priority_from_hqueue(get_int(j, "priority", 0));
    s.description = get_string(j, "description");
    s.user = get_string(j, "submittedBy", parent_user);  // children inherit it
    s.tags = get_string_list(j, "tags");
    set_placement(j, s, extra);
    set_conditions(j, s, extra, root);
    set_retries(j, s);
    add_mail(j, s, extra);
    for (const auto& h : kHooks)
      if (auto code = get_string(j, h.key); !code.empty()) s.callbacks.push_back(Callback{h.trigger, "shell", code});
    wait_for_children(j, label, e, extra);
    s.extra["hqueue"] = std::move(extra);
  }

  static void set_command(const Json& j, JobSpec& s, Json& extra) {
    const std::string command = get_string(j, "command");
    const std::string shell = get_string(j, "shell");
    if (!shell.empty()) extra["shell"] = shell;
    if (command.empty()) {
      // Commandless: a job that succeeds at once (or a container for its children).
      s.package["cmdline"] = "true";
      extra["commandless"] = true;
    } else {
      s.package["cmdline"] = shell.empty() ? command : shell_join({shell, "-c", command});
    }
  }

  static void set_placement(const Json& j, JobSpec& s, Json& extra) {
    // cpus: CPUs the job holds on its host (0: it takes none and may run beside
    // anything), Qube's processor reservation. One instance runs the command.
    const std::int64_t cpus = get_non_negative(j, "cpus", 1);
    extra["cpus"] = cpus;
    s.reservations = "host.processors=" + std::to_string(cpus);
    if (auto host = get_string(j, "host"); !host.empty()) s.hosts = {host};
    for (const char* key : {"maxHosts", "minHosts"})
      if (j.contains(key)) extra[key] = get_non_negative(j, key, 1);
    if (j.contains("resources")) extra["resources"] = resources_of(j);
  }

  // A job's own conditions replace its root's; without its own it inherits the
  // root's unless inherit_conditions is false.
  void set_conditions(const Json& j, JobSpec& s, Json& extra, bool root) {
    s.conditions = conditions_of(j);
    const bool inherit = get_bool(j, "inherit_conditions", true);
    if (j.contains("inherit_conditions")) extra["inherit_conditions"] = inherit;
    if (root) root_conditions_ = s.conditions;
    else if (s.conditions.empty() && inherit) s.conditions = root_conditions_;
  }

  static void set_retries(const Json& j, JobSpec& s) {
    const double max_time = get_double(j, "maxTime", -1);
    if (max_time > 0) s.timelimit = max_time;
    s.retrywork = static_cast<int>(std::min<std::int64_t>(get_non_negative(j, "triesLeft", 0), 1000000));
    s.retrydifferenthost = get_bool(j, "triesDifferentClient");
  }

  // HQueue parent semantics as dependencies: wait for every child to complete; a
  // child that fails or is killed breaks the dependency and the parent fails
  // without running its command (see combine() in dependency.hpp).
  static void wait_for_children(const Json& j, const std::string& label, JobFileEntry& e, Json& extra) {
    std::vector<std::string> deps, child_failed;
    auto add_child = [&](const std::string& child) {
      deps.push_back("link-complete-job-" + child);
      child_failed.push_back("failed-job-" + child + " || killed-job-" + child);
    };
    const Json& children = get_array(j, "children");
    for (std::size_t c = 0; c < children.size(); ++c) add_child(label + "." + std::to_string(c + 1));
    for (const auto& id : get_array(j, "childrenIds")) {
      if (!id.is_number_integer() || id.get<std::int64_t>() <= 0)
        throw FormatError("field 'childrenIds' must hold job ids (positive integers)");
      e.children_ids.push_back(id.get<JobId>());
      add_child(std::to_string(e.children_ids.back()));
    }
    if (!e.children_ids.empty()) extra["childrenIds"] = e.children_ids;
    e.spec.dependency = join(deps, ",");

    // onChildError: when this job fails while one of its children has failed or been
    // killed, i.e. when it fails because of them. Without children it cannot happen.
    if (auto code = get_string(j, "onChildError"); !code.empty()) {
      if (child_failed.empty()) extra["onChildError"] = code;
      else e.spec.callbacks.push_back(Callback{"failed-job-self && (" + join(child_failed, " || ") + ")", "shell", code});
    }
  }

  JobFile file_;
  std::vector<std::string> where_;
  Json root_conditions_ = Json::array();
};

}  // namespace

JobFile parse_hqueue_spec(const Json& doc) { return Importer().run(doc); }

}  // namespace qube
