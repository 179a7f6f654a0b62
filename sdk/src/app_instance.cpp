#include "qube/app_instance.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "qube/json.hpp"
#include "qube/paths.hpp"
#include "qube/yaml_json.hpp"

namespace qube {

std::filesystem::path module_path_of(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || !info.dli_fname) return {};
  std::error_code ec;
  auto path = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? std::filesystem::path(info.dli_fname) : path;
}

namespace plugin {

namespace {

std::filesystem::path config_file_for(const std::string& type, const std::filesystem::path& module_file) {
  if (const char* chosen = std::getenv("QB_JOBTYPE_CONFIG"); chosen && *chosen) return chosen;
  // <prefix>/lib/qube/jobtypes/<module> -> <prefix>/etc/qube/jobtypes/<type>.yaml
  const auto prefix = (module_file.parent_path() / "../../..").lexically_normal();
  return config_dir_of_prefix(prefix.has_filename() ? prefix : prefix.parent_path()) / "jobtypes" / (type + ".yaml");
}

Seconds seconds_key(const Json& j, const char* key, Seconds fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number() || j[key].get<double>() < 0)
    throw std::invalid_argument(where + ": '" + key + "' must be a number of seconds, not " + j[key].dump());
  return Seconds(j[key].get<double>());
}

}  // namespace

AppConfig load_app_config(const JobInfo& job, const std::string& exe_key, const std::filesystem::path& module_file) {
  AppConfig c;
  c.executable = job.type;
  const auto file = config_file_for(job.type, module_file);
  std::ifstream in(file);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    Json y;
    try {
      y = parse_yaml(text.str());
    } catch (const std::exception& e) {
      throw std::invalid_argument(file.string() + ": " + e.what());
    }
    if (!y.is_object()) y = Json::object();
    const std::string where = file.string();
    c.executable = package_string(y, "executable", c.executable);
    if (y.contains("args")) {
      if (!y["args"].is_array()) throw std::invalid_argument(where + ": 'args' must be a list of strings");
      for (const auto& a : y["args"]) {
        if (!a.is_string()) throw std::invalid_argument(where + ": 'args' must be a list of strings");
        c.args.push_back(a.get<std::string>());
      }
    }
    c.item_timeout = seconds_key(y, "item_timeout", c.item_timeout, where);
    c.startup_timeout = seconds_key(y, "startup_timeout", c.startup_timeout, where);
    c.quit_grace = seconds_key(y, "quit_grace", c.quit_grace, where);
  }
  c.executable = package_string(job.package, exe_key.c_str(), c.executable);
  c.item_timeout = seconds_key(job.package, "timeout", c.item_timeout, "the package");
  return c;
}

AppSessionOptions session_options(const AppConfig& config) {
  AppSessionOptions o;
  o.argv.push_back(config.executable);
  o.argv.insert(o.argv.end(), config.args.begin(), config.args.end());
  o.item_timeout = config.item_timeout;
  o.startup_timeout = config.startup_timeout;
  o.quit_grace = config.quit_grace;
  return o;
}

std::string package_string(const Json& package, const char* key, const std::string& fallback) {
  if (!package.is_object() || !package.contains(key) || package[key].is_null()) return fallback;
  const Json& v = package[key];
  std::string text;
  if (v.is_string()) text = v.get<std::string>();
  else if (v.is_number_integer()) text = std::to_string(v.get<std::int64_t>());
  else if (v.is_number()) text = v.dump();
  else throw std::invalid_argument(std::string("package key '") + key + "' must be a string, not " + v.dump());
  return text.empty() ? fallback : text;
}

std::string required_package_string(const JobInfo& job, const char* key) {
  std::string value = package_string(job.package, key);
  if (value.empty())
    throw std::invalid_argument("the package has no '" + std::string(key) + "' (the " + job.type +
                                " job type needs it)");
  return value;
}

std::optional<int> package_int(const Json& package, const char* key) {
  const std::string text = package_string(package, key);
  if (text.empty()) return std::nullopt;
  std::size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size()) throw std::invalid_argument(std::string("package key '") + key + "' must be a whole number, not '" + text + "'");
  return value;
}

std::vector<std::string> package_names(const Json& package, const char* key) {
  std::vector<std::string> names;
  if (!package.is_object() || !package.contains(key) || package[key].is_null()) return names;
  const Json& v = package[key];
  auto add = [&](std::string name) {
    const auto first = name.find_first_not_of(" \t");
    const auto last = name.find_last_not_of(" \t");
    if (first != std::string::npos) names.push_back(name.substr(first, last - first + 1));
  };
  if (v.is_string()) {
    std::istringstream in(v.get<std::string>());
    for (std::string name; std::getline(in, name, ',');) add(name);
  } else if (v.is_array()) {
    for (const auto& n : v) {
      if (!n.is_string()) throw std::invalid_argument(std::string("package key '") + key + "' must list names");
      add(n.get<std::string>());
    }
  } else {
    throw std::invalid_argument(std::string("package key '") + key + "' must be a list of names");
  }
  return names;
}

// ---------------------------------------------------------------- AppInstance

AppInstance::AppInstance(const JobInfo& job, AppSessionOptions options) : job_(job), options_(std::move(options)) {}

WorkResult AppInstance::run(const WorkItem& item, RunContext& context) {
  WorkResult r;
  r.status = WorkStatus::failed;
  std::vector<FrameRun> runs;
  try {
    runs = parse_range(item.name);
  } catch (const RangeError&) {
  }
  if (runs.size() != 1) {
    r.reason = item.name.empty() ? "the " + job_.type + " job type renders frames: submit the job with --range"
                                 : "agenda item '" + item.name + "' is not one run of frames";
    context.output(Stream::err, "qube: " + r.reason + "\n");
    return r;
  }
  if (!session_) {
    // The application lives for the whole instance: the environment of the
    // first item without what is true of that item only.
    AppSessionOptions o = options_;
    o.env = context.environment(item);
    for (auto it = o.env.begin(); it != o.env.end();)
      it = it->first.rfind("QB_FRAME_", 0) == 0 || it->first == "QB_ITEM_NAME" ? o.env.erase(it) : std::next(it);
    for (const auto& [k, v] : options_.env) o.env[k] = v;
    if (o.cwd.empty()) o.cwd = job_.cwd;
    session_ = std::make_unique<AppSession>(std::move(o));
  }
  const AppItemResult a =
      session_->run(item_commands(runs[0]), [&](Stream s, std::string_view data) { context.output(s, data); });
  r.status = a.ok() ? WorkStatus::complete : WorkStatus::failed;
  r.reason = a.reason;
  r.cputime = a.cputime;
  r.peak_rss_kb = a.peak_rss_kb;
  r.signal = a.signal;
  switch (a.end) {
    case AppEnd::ok: r.exitcode = 0; break;
    case AppEnd::error: r.exitcode = 1; break;
    case AppEnd::start_failed: r.exitcode = a.exitcode.value_or(127); break;
    case AppEnd::died:
    case AppEnd::timeout: r.exitcode = a.exitcode; break;
  }
  r.resultpackage["outputs"] = a.outputs;
  if (a.pid > 0) r.resultpackage["pid"] = a.pid;
  if (!a.ok()) context.output(Stream::err, "qube: " + a.reason + "\n");
  return r;
}

void AppInstance::stop() {
  if (session_) session_->quit();
}

}  // namespace plugin

}  // namespace qube
