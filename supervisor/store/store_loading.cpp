#include "store_loading.hpp"

#include <stdexcept>

namespace qube::supervisor {

void JobAssembler::add_job(JobId id, const std::function<Job()>& read) {
  try {
    Job job = read();
    job.id = id;
    jobs_.insert_or_assign(id, std::move(job));
  } catch (const std::exception& e) {
    on_bad_row_("job " + std::to_string(id) + ": " + e.what());
  }
}

void JobAssembler::add_item(JobId job, std::size_t index, const std::function<AgendaItem()>& read) {
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return;
  try {
    auto& agenda = it->second.agenda;
    if (index != agenda.size()) throw std::runtime_error("agenda index out of order");
    agenda.push_back(read());
  } catch (const std::exception& e) {
    on_bad_row_("job " + std::to_string(job) + " item " + std::to_string(index) + ": " + e.what());
    jobs_.erase(it);
  }
}

void JobAssembler::add_instance(JobId job, const std::function<Instance()>& read) {
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return;
  try {
    it->second.instances.push_back(read());
  } catch (const std::exception& e) {
    on_bad_row_("instance of job " + std::to_string(job) + ": " + e.what());
  }
}

std::vector<Job> JobAssembler::take() {
  std::vector<Job> out;
  out.reserve(jobs_.size());
  for (auto& [id, job] : jobs_) out.push_back(std::move(job));
  jobs_.clear();
  return out;
}

std::vector<SubmissionRecord> SubmissionGrouper::take() {
  std::vector<SubmissionRecord> out;
  out.reserve(groups_.size());
  for (auto& [key, ids] : groups_) out.push_back({key.first, key.second, std::move(ids)});
  groups_.clear();
  return out;
}

Json farm_settings_or_empty(const std::function<Json()>& read, const BadRowReport& on_bad_row) {
  try {
    Json doc = read();
    if (!doc.is_object()) throw std::runtime_error("not an object");
    return doc;
  } catch (const std::exception& e) {
    on_bad_row(std::string("farm settings (host locks and changes, resource totals): ") + e.what());
    return Json::object();
  }
}

}  // namespace qube::supervisor
