#include "job_archive.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "qube/jobfile.hpp"
#include "qube/yaml_json.hpp"

namespace qube::qbsub {

namespace {

// Strings are double-quoted, so that a range "5" or a name "true" reads back
// as a string (parse_yaml types only plain scalars).
void emit(YAML::Emitter& out, const Json& value) {
  if ((value.is_object() || value.is_array()) && value.empty()) out << YAML::Flow;  // {} and [] on the key's line
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, v] : value.items()) {
      out << YAML::Key << YAML::DoubleQuoted << key << YAML::Value;
      emit(out, v);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& v : value) emit(out, v);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else {
    out << value.dump();  // a number, true, false or null: the same words in YAML
  }
}

bool is_yaml_path(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".yaml" || ext == ".yml") return true;
  if (ext == ".json") return false;
  throw std::runtime_error("--export " + path + ": the file name must end in .json, .yaml or .yml");
}

}  // namespace

void write_job_archive(const std::string& path, const Json& jobs) {
  const Json archive{{"jobs", jobs}};
  std::string text;
  if (is_yaml_path(path)) {
    YAML::Emitter out;
    emit(out, archive);
    text = std::string(out.c_str()) + "\n";
  } else {
    text = archive.dump(2) + "\n";
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!(file << text) || !file.flush()) throw std::runtime_error("cannot write " + path);
}

Json read_job_archive(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  Json archive;
  try {
    archive = parse_yaml(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  const auto jobs = archive.is_object() ? archive.find("jobs") : archive.end();
  if (jobs == archive.end() || !jobs->is_array() || jobs->empty())
    throw std::runtime_error(path + ": expected {jobs: [...]}, as qbsub --export writes");
  if (jobs->size() > kMaxJobsPerFile) throw std::runtime_error(path + ": more than 10000 jobs");
  for (const auto& job : *jobs)
    if (!job.is_object()) throw std::runtime_error(path + ": every job must be a map");
  return *jobs;
}

}  // namespace qube::qbsub
