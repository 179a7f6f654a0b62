#include "python_config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "qube/paths.hpp"
#include "qube/yaml_json.hpp"

namespace qube::python_backend {

namespace {

std::filesystem::path config_file(const JobInfo& job, const std::filesystem::path& module_file) {
  if (const char* chosen = std::getenv("QB_JOBTYPE_CONFIG"); chosen && *chosen) return chosen;
  return (module_file.parent_path() / "../../../etc/qube/jobtypes" / (job.type + ".yaml")).lexically_normal();
}

Json read_yaml(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("cannot read the job type's description " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    Json y = parse_yaml(text.str());
    return y.is_object() ? y : Json::object();
  } catch (const std::exception& e) {
    throw std::invalid_argument(file.string() + ": " + e.what());
  }
}

std::filesystem::path beside(const std::filesystem::path& file, const std::string& path) {
  const std::filesystem::path p = path;
  return p.is_relative() ? (file.parent_path() / p).lexically_normal() : p;
}

}  // namespace

PythonConfig load_python_config(const JobInfo& job, const std::filesystem::path& module_file) {
  const auto file = config_file(job, module_file);
  const Json y = read_yaml(file);
  const std::string where = file.string();
  PythonConfig c;
  c.app = plugin::load_app_config(job, "pythonexe", module_file);
  if (!y.contains("executable") && plugin::package_string(job.package, "pythonexe").empty())
    c.app.executable = "python3";
  if (!y.contains("script") || !y["script"].is_string() || y["script"].get<std::string>().empty())
    throw std::invalid_argument(where + ": 'script' must name the job type's Python script");
  c.script = beside(file, y["script"].get<std::string>());
  if (std::error_code ec; !std::filesystem::is_regular_file(c.script, ec))
    throw std::invalid_argument(where + ": script " + c.script.string() + " does not exist on worker " + job.host);
  if (y.contains("pythonpath")) {
    const Json& list = y["pythonpath"];
    if (!list.is_array()) throw std::invalid_argument(where + ": 'pythonpath' must be a list of directories");
    for (const auto& d : list) {
      if (!d.is_string()) throw std::invalid_argument(where + ": 'pythonpath' must be a list of directories");
      c.pythonpath.push_back(beside(file, d.get<std::string>()));
    }
  }
  return c;
}

std::vector<std::string> script_argv(const PythonConfig& config) {
  std::vector<std::string> argv{config.app.executable};
  argv.insert(argv.end(), config.app.args.begin(), config.app.args.end());
  argv.push_back(config.script.string());
  return argv;
}

std::map<std::string, std::string> script_environment(const PythonConfig& config,
                                                      std::map<std::string, std::string> env) {
  std::vector<std::string> dirs;
  for (const auto& d : config.pythonpath) dirs.push_back(d.string());
  if (auto it = env.find("PYTHONPATH"); it != env.end() && !it->second.empty()) dirs.push_back(it->second);
  dirs.push_back((executable_dir().parent_path() / "api/python").string());
  std::string joined;
  for (const auto& d : dirs) joined += (joined.empty() ? "" : ":") + d;
  env["PYTHONPATH"] = joined;
  env.emplace("PYTHONUNBUFFERED", "1");
  return env;
}

}  // namespace qube::python_backend
