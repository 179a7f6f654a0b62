// Qube pipeline files: `name`, `defaults` and a `jobs` list in the model's own keys.
#include "jobfile_internal.hpp"

namespace qube {

namespace {

using jobfile_detail::check_keys;
using jobfile_detail::within;

// The keys a job may have: exactly those the model writes (to_json), so the file
// format follows the model without a second list to keep in step.
const std::vector<std::string>& job_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    const Json model = to_json(JobSpec{});  // named: a range-for over a temporary's items() dangles
    for (auto it = model.begin(); it != model.end(); ++it) k.push_back(it.key());
    return k;
  }();
  return keys;
}

const std::vector<std::string> kTopKeys = {"name", "defaults", "jobs"};
const std::vector<std::string> kCallbackKeys = {"triggers", "language", "code"};

std::string describe(const Json& job, std::size_t i) {
  const std::string index = "jobs[" + std::to_string(i) + "]";
  for (const char* key : {"name", "label"}) {
    auto it = job.find(key);
    if (it != job.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
      return "job '" + it->get<std::string>() + "' (" + index + ")";
  }
  return "job " + index;
}

// `dependency` may be a list (each item one dependency or a comma list): joined by ','.
void normalise_dependency(Json& job) {
  auto it = job.find("dependency");
  if (it == job.end() || !it->is_array()) return;
  std::string joined;
  for (const auto& d : *it) {
    if (!d.is_string()) throw FormatError("field 'dependency' must be a string or a list of strings");
    joined.append(joined.empty() ? "" : ",").append(d.get<std::string>());
  }
  *it = joined;
}

JobSpec spec_of(Json job) {
  for (const auto& cb : get_array(job, "callbacks")) {
    require_object(cb, "a callback");
    check_keys(cb, kCallbackKeys, "callback");
  }
  normalise_dependency(job);
  // As qbsub does: a job with a frame range defaults to cmdrange, else cmdline.
  if (!job.contains("type") || job["type"].is_null())
    job["type"] = get_string(job, "range").empty() ? "cmdline" : "cmdrange";
  JobSpec s = spec_from_json(job);
  if (s.name.empty()) s.name = s.label;
  return s;
}

}  // namespace

JobFile parse_qube_pipeline(const Json& doc) {
  require_object(doc, "a Qube pipeline file");
  check_keys(doc, kTopKeys, "pipeline file", "top-level key");
  JobFile file;
  file.format = JobFile::Format::qube;
  file.name = within("pipeline file", [&] { return get_string(doc, "name"); });
  const Json defaults = within("pipeline file", [&] { return get_object(doc, "defaults"); });
  check_keys(defaults, job_keys(), "defaults");
  const Json& jobs = within("pipeline file", [&]() -> const Json& { return get_array(doc, "jobs"); });
  if (jobs.empty()) throw FormatError("pipeline file: 'jobs' is empty");
  if (jobs.size() > kMaxJobsPerFile)
    throw FormatError("pipeline file: more than " + std::to_string(kMaxJobsPerFile) + " jobs");

  std::vector<std::string> where;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Json& job = jobs[i];
    where.push_back(describe(job, i));
    if (!job.is_object()) throw FormatError(where.back() + ": must be a map");
    check_keys(job, job_keys(), where.back());
    Json merged = defaults;
    for (const auto& [k, v] : job.items()) merged[k] = v;  // a job's key replaces the default's
    file.jobs.push_back(JobFileEntry{within(where.back(), [&] { return spec_of(merged); }), {}, {}});
  }
  jobfile_detail::check_entries(file.jobs, where);
  return file;
}

}  // namespace qube
