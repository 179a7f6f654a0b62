#include "steering.hpp"

#include <fnmatch.h>

#include <array>
#include <stdexcept>

namespace qube::supervisor {

const VerbWords& words(SteerVerb verb) {
  static const std::array<VerbWords, 16> table{{
      {"killed", "kill", false},         {"blocked", "block", false},
      {"unblocked", "unblock", false},   {"suspended", "suspend", false},
      {"resumed", "resume", false},      {"interrupted", "interrupt", false},
      {"modified", "modify", false},     {"moved", "move", false},
      {"moved", "move", false},          {"completed", "complete items of", true},
      {"retried", "retry", true},        {"requeued", "requeue", true},
      {"removed", "remove", true},       {"satisfied", "satisfy", false},
      {"failed", "fail", true},          {"appended", "append to", false},
  }};
  return table[static_cast<std::size_t>(verb)];
}

JobFilter::JobFilter(const Json& filter) {
  user_ = get_string(filter, "user");
  name_ = get_string(filter, "name");
  status_ = get_string(filter, "status");
  pgrp_ = static_cast<JobId>(get_int(filter, "pgrp"));
  token_ = get_string(filter, "token");
  kind_ = get_string(filter, "kind");
  account_ = get_string(filter, "account");
  domain_ = get_string(filter, "domain");
  any_ = !user_.empty() || !name_.empty() || !status_.empty() || pgrp_ != 0 || !token_.empty() || !kind_.empty() ||
         !account_.empty() || !domain_.empty();
  if (!status_.empty() && !parse_job_status(status_)) throw std::runtime_error("unknown status '" + status_ + "'");
}

bool JobFilter::operator()(const Job& job) const {
  if (!user_.empty() && job.spec.user != user_) return false;
  if (!name_.empty() && fnmatch(name_.c_str(), job.spec.name.c_str(), 0) != 0) return false;
  if (!status_.empty() && to_string(job.status) != status_) return false;
  if (pgrp_ != 0 && job.pgrp != pgrp_) return false;
  if (!token_.empty() && !token_jobs_.count(job.id)) return false;
  if (!kind_.empty() && job.spec.kind != kind_) return false;
  if (!account_.empty() && job.spec.account != account_) return false;
  if (!domain_.empty() && job.spec.domain != domain_) return false;
  return true;
}

std::vector<JobId> ids_from_json(const Json& body) {
  std::vector<JobId> ids;
  for (const auto& v : get_array(body, "ids")) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1) throw FormatError("ids must be positive integers");
    ids.push_back(v.get<JobId>());
  }
  return ids;
}

Steering steering_from_json(const Json& body) {
  Steering s;
  s.ids = ids_from_json(body);
  s.filter = JobFilter(get_object(body, "filter"));
  s.who = get_string(body, "user", "unknown");
  s.work = get_string(body, "work");
  return s;
}

Json to_json(const StepOutcome& outcome) {
  Json done = Json::array();
  for (const auto& d : outcome.done)
    done.push_back(d.items ? Json{{"id", d.id}, {"items", *d.items}} : Json(d.id));
  return Json{{words(outcome.verb).done, done}, {"errors", outcome.errors}};
}

}  // namespace qube::supervisor
