#include "store_loading.hpp"

#include <algorithm>
#include <stdexcept>

#include "qube/codec.hpp"

namespace qube::supervisor {

void JobAssembler::add_job(JobId id, const std::function<Job()>& read) {
  try {
    Job job = read();
    job.id = id;
    jobs_.insert_or_assign(id, std::move(job));
  } catch (const std::exception& e) {
    on_bad_row_("job " + std::to_string(id) + ": " + e.what());
    bad_rows_.push_back({"jobs", id, -1, e.what()});
    dropped_[id] = "job " + std::to_string(id) + " has an unreadable job row";
  }
}

void JobAssembler::orphan(JobId job) {
  if (dropped_.count(job)) return;
  on_bad_row_("rows of job " + std::to_string(job) + ", which has no job row");
  dropped_[job] = "job " + std::to_string(job) + " has no job row";
}

void JobAssembler::add_item(JobId job, std::size_t index, const std::function<AgendaItem()>& read) {
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return orphan(job);
  try {
    auto& agenda = it->second.agenda;
    if (index != agenda.size()) throw std::runtime_error("agenda index out of order");
    agenda.push_back(read());
  } catch (const std::exception& e) {
    on_bad_row_("job " + std::to_string(job) + " item " + std::to_string(index) + ": " + e.what());
    bad_rows_.push_back({"items", job, static_cast<std::int64_t>(index), e.what()});
    dropped_[job] = "job " + std::to_string(job) + " item " + std::to_string(index) + " is unusable: " + e.what();
    jobs_.erase(it);
  }
}

void JobAssembler::add_instance(JobId job, std::int32_t subid, const std::function<Instance()>& read) {
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return orphan(job);
  try {
    it->second.instances.push_back(read());
  } catch (const std::exception& e) {
    on_bad_row_("instance of job " + std::to_string(job) + ": " + e.what());
    bad_rows_.push_back({"instances", job, subid, e.what()});
  }
}

std::vector<Job> JobAssembler::take() {
  std::vector<Job> out;
  out.reserve(jobs_.size());
  for (auto& [id, job] : jobs_) out.push_back(std::move(job));
  jobs_.clear();
  return out;
}

std::string readable_raw(std::string_view bytes) {
  try {
    return decode(bytes).dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception&) {
  }
  const bool printable = std::all_of(bytes.begin(), bytes.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);  // ASCII only: the text must be valid UTF-8
    return c == '\n' || c == '\t' || (u >= 0x20 && u < 0x7f);
  });
  if (printable) return std::string(bytes);
  static const char* digits = "0123456789abcdef";
  std::string hex = "hex:";
  for (unsigned char c : bytes) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
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
