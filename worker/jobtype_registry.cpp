#include "jobtype_registry.hpp"

#include <yaml-cpp/yaml.h>

#include "qube/validate.hpp"

namespace qube::worker {

std::map<std::string, JobTypeEntry> scan_jobtypes(const std::filesystem::path& dir,
                                                  const std::filesystem::path& module_dir,
                                                  std::vector<std::string>& problems) {
  std::map<std::string, JobTypeEntry> types;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    problems.push_back("job type directory " + dir.string() + " does not exist");
    return types;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string file = entry.path().string();
    try {
      YAML::Node node = YAML::LoadFile(file);
      JobTypeEntry t;
      t.yaml = file;
      t.name = node["name"] ? node["name"].as<std::string>() : entry.path().stem().string();
      if (!is_valid_type_name(t.name)) throw std::runtime_error("'" + t.name + "' is not a valid type name");
      if (!node["module"]) throw std::runtime_error("no 'module' given");
      std::filesystem::path module = node["module"].as<std::string>();
      if (module.is_relative()) {
        // A bare file name lives in the module directory; a relative path is
        // relative to the description file.
        module = module.has_parent_path() ? entry.path().parent_path() / module : module_dir / module;
      }
      if (!std::filesystem::exists(module, ec)) throw std::runtime_error("module " + module.string() + " not found");
      t.module = module;
      if (node["script"]) {
        // A job type written in Python (jobtypes/python): its module reads the
        // script from this file (QB_JOBTYPE_CONFIG); a missing one is reported here,
        // at start-up, rather than by every job of the type.
        std::filesystem::path script = node["script"].as<std::string>();
        if (script.is_relative()) script = entry.path().parent_path() / script;
        if (!std::filesystem::is_regular_file(script, ec)) throw std::runtime_error("script " + script.string() + " not found");
      }
      types[t.name] = t;
    } catch (const std::exception& e) {
      problems.push_back(file + ": " + e.what());
    }
  }
  return types;
}

}  // namespace qube::worker
