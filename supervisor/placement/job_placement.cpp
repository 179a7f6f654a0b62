#include "placement/job_placement.hpp"

#include <algorithm>

#include "placement/error.hpp"
#include "qube/validate.hpp"

namespace qube::placement {

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// "a, b,c" -> {a, b, c}
std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = std::min(s.find(',', start), s.size());
    std::string part = s.substr(start, comma - start);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) out.push_back(std::move(part));
    start = comma + 1;
  }
  return out;
}

Condition parse_condition(const Json& c, std::size_t index) {
  const std::string field = "conditions[" + std::to_string(index) + "]";
  if (!c.is_object()) fail(field, "expected an object {name, op, value}");
  Condition cond;
  const std::string name = c.value("name", std::string());
  if (name == "hostname" || name == "host") cond.subject = Condition::Subject::hostname;
  else if (name == "group" || name == "groups") cond.subject = Condition::Subject::group;
  else fail(field, "name must be hostname or group, not '" + name + "'");
  const std::string op = c.value("op", std::string("=="));
  if (op == "==" || op == "=") cond.test = Condition::Test::eq;
  else if (op == "!=") cond.test = Condition::Test::ne;
  else if (op == "in" || op == "any") cond.test = Condition::Test::in;
  else if (op == "not_in" || op == "not in") cond.test = Condition::Test::not_in;
  else fail(field, "op must be one of == != in not_in, not '" + op + "'");
  const Json value = c.value("value", Json());
  if (value.is_string()) {
    cond.values = split_commas(value.get<std::string>());
  } else if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_string()) fail(field, "value must be a string or a list of strings");
      cond.values.push_back(v.get<std::string>());
    }
  } else {
    fail(field, "value must be a string or a list of strings");
  }
  if (cond.values.empty()) fail(field, "value is empty");
  if ((cond.test == Condition::Test::eq || cond.test == Condition::Test::ne) && cond.values.size() > 1)
    fail(field, "'" + op + "' takes one value; use in / not_in for a list");
  std::sort(cond.values.begin(), cond.values.end());
  return cond;
}

Exclusivity parse_tags(const std::vector<std::string>& tags) {
  Exclusivity e;
  for (const auto& t : tags) {
    if (t == "single") {
      e.single = true;
    } else if (t.starts_with("single:")) {
      if (t.size() == 7) fail("tags", "'single:' needs a class name (single:<class>)");
      e.classes.push_back(t.substr(7));
    }
  }
  e.classes = sorted(std::move(e.classes));
  return e;
}

void join(std::string& out, const std::vector<std::string>& v) {
  for (const auto& s : v) {
    out += s;
    out += ',';
  }
  out += '\x1f';  // a separator no name contains
}

std::string shape_of(const JobPlacement& p, const std::string& type, const Json& conditions) {
  std::string s = type;
  s += '\x1f';
  for (const auto* list : {&p.hosts, &p.omithosts, &p.groups, &p.omitgroups, &p.services, &p.exclusivity.classes})
    join(s, *list);
  s += p.exclusivity.single ? "single" : "";
  s += '\x1f' + p.requirements.text() + '\x1f' + p.reservations.canonical() + '\x1f' + p.restrictions.text() + '\x1f';
  s += conditions.is_array() && !conditions.empty() ? conditions.dump() : "";
  return s;
}

}  // namespace

bool Condition::holds(const HostFacts& h) const {
  const bool any = std::any_of(values.begin(), values.end(), [&](const std::string& v) {
    return subject == Subject::hostname ? h.name == v : h.in_group(v);
  });
  return test == Test::eq || test == Test::in ? any : !any;
}

std::string Condition::text() const {
  static constexpr const char* kTests[] = {"==", "!=", "in", "not_in"};
  std::string out = subject == Subject::hostname ? "hostname " : "group ";
  out += kTests[static_cast<int>(test)];
  out += ' ';
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  return out;
}

JobPlacement compile_placement(const Job& job, std::string_view cluster) {
  const JobSpec& s = job.spec;
  JobPlacement p;
  p.facts.id = job.id;
  p.facts.name = s.name;
  p.facts.user = s.user;
  p.facts.type = s.type;
  p.facts.label = s.label;
  p.facts.cluster = normalize_cluster(cluster);
  p.facts.priority = s.priority;
  p.facts.cpus = s.cpus;
  p.facts.pgrp = job.pgrp;
  p.facts.pid = job.pid;
  p.hosts = sorted(s.hosts);
  p.omithosts = sorted(s.omithosts);
  p.groups = sorted(s.groups);
  p.omitgroups = sorted(s.omitgroups);
  p.services = sorted(s.services);
  p.requirements = Expression::parse(s.requirements, "requirements");
  // --processors N is host.processors=N (validate() refuses a conflicting pair).
  p.reservations = Reservations::parse(effective_reservations(s), "reservations");
  p.restrictions = ClusterRestriction::parse(s.restrictions, "restrictions");
  if (!s.conditions.is_null() && !s.conditions.is_array()) fail("conditions", "expected a list");
  if (s.conditions.is_array())
    for (std::size_t i = 0; i < s.conditions.size(); ++i) p.conditions.push_back(parse_condition(s.conditions[i], i));
  p.exclusivity = parse_tags(s.tags);
  p.flags = s.flags;
  p.max_cpus = s.max_cpus;
  p.hostorder = HostOrder::parse(s.hostorder);
  if (s.max_cpus < 0) fail("max_cpus", "must not be negative");
  p.shape = shape_of(p, s.type, s.conditions);
  return p;
}

void validate_placement(const JobSpec& spec) {
  Job job;
  job.spec = spec;
  (void)compile_placement(job);
}

}  // namespace qube::placement
