// Job files: format detection and the checks both formats share.
#include "qube/jobfile.hpp"

#include <algorithm>
#include <map>

#include "jobfile_internal.hpp"
#include "qube/dependency.hpp"
#include "qube/yaml_json.hpp"

namespace qube {

namespace jobfile_detail {

namespace {

// Languages a callback may be written in (the supervisor runs them; see issue 4).
const std::vector<std::string> kLanguages = {"qube", "shell", "python", "mail"};

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i)
    s += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  return s;
}

}  // namespace

void check_keys(const Json& j, const std::vector<std::string>& allowed, const std::string& where,
                const char* noun) {
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      throw FormatError(where + ": unknown " + noun + " '" + key + "'; expected " + joined(allowed));
  }
}

void check_entries(const std::vector<JobFileEntry>& jobs, const std::vector<std::string>& where) {
  std::map<std::string, std::size_t> by_label;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const std::string& label = jobs[i].spec.label;
    if (label.empty()) continue;
    if (!is_valid_label(label))
      throw FormatError(where[i] + ": label '" + label +
                        "' is not valid; use letters, digits, '_' and '.', not digits alone, not 'self'");
    auto [it, fresh] = by_label.emplace(label, i);
    if (!fresh) throw FormatError(where[i] + ": label '" + label + "' is also used by " + where[it->second]);
  }
  auto check_label = [&](std::size_t i, const std::string& label, const char* what) {
    if (!by_label.count(label))
      throw FormatError(where[i] + ": " + what + " names label '" + label +
                        "', which no job in this file has");
  };

  std::map<std::string, std::vector<std::string>> graph;  // label -> labels it depends on
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const JobSpec& s = jobs[i].spec;
    const auto deps = within(where[i], [&] { return parse_dependencies(s.dependency); });
    for (const auto& d : deps) {
      if (d.target.kind != JobRef::Kind::label) continue;
      check_label(i, d.target.label, "dependency");
      // An unlabelled job cannot be depended on, so it cannot be part of a cycle.
      if (!s.label.empty()) graph[s.label].push_back(d.target.label);
    }
    for (std::size_t c = 0; c < s.callbacks.size(); ++c) {
      const Callback& cb = s.callbacks[c];
      const std::string cwhere = where[i] + ": callbacks[" + std::to_string(c) + "]";
      if (std::find(kLanguages.begin(), kLanguages.end(), cb.language) == kLanguages.end())
        throw FormatError(cwhere + ": unknown language '" + cb.language + "'; expected " + joined(kLanguages));
      const Expr e = within(cwhere, [&] { return parse_trigger(cb.triggers); });
      for (const auto& label : labels_of(e)) check_label(i, label, "callback trigger");
    }
  }
  if (auto cycle = find_cycle(graph); !cycle.empty()) throw FormatError(cycle_message(cycle));
}

}  // namespace jobfile_detail

JobFile::Format detect_job_file_format(const Json& doc) {
  if (doc.is_object() && doc.contains("jobs")) return JobFile::Format::qube;
  if (doc.is_object() && (doc.contains("name") || doc.contains("command") || doc.contains("children")))
    return JobFile::Format::hqueue;
  if (doc.is_array() && !doc.empty() && doc.front().is_object()) return JobFile::Format::hqueue;
  throw FormatError(
      "not a job file: expected a map with 'jobs' (a Qube pipeline) or an HQueue job spec "
      "(a map with 'name', or a list of them)");
}

JobFile parse_job_file(const Json& doc) {
  return detect_job_file_format(doc) == JobFile::Format::qube ? parse_qube_pipeline(doc)
                                                              : parse_hqueue_spec(doc);
}

JobFile parse_job_file(const std::string& text) { return parse_job_file(parse_yaml(text)); }

int priority_from_hqueue(std::int64_t p) {
  return static_cast<int>(std::clamp<std::int64_t>(9999 - std::clamp<std::int64_t>(p, -1, 9999), 1, 9999));
}

}  // namespace qube
