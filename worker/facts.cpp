#include "facts.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "qube/config_file.hpp"

namespace qube::worker {

std::string detect_os() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  std::string os = u.sysname;
  std::transform(os.begin(), os.end(), os.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return os == "darwin" ? "osx" : os;  // Qube's names: linux, osx, winnt
}

std::uint64_t detect_memory_mb(const std::filesystem::path& root) {
  std::ifstream in(root / "proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  while (in >> key) {
    if (key == "MemTotal:" && in >> kb) return kb / 1024;
    in.ignore(4096, '\n');
  }
  if (root == "/") {  // no /proc: ask libc
    const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && size > 0) return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(size) / (1024 * 1024);
  }
  return 0;
}

int detect_gpus(const std::filesystem::path& root) {
  // The driver lists one directory per GPU; the device nodes are the fallback
  // (containers often get /dev/nvidia0 without /proc/driver).
  std::error_code ec;
  int from_proc = 0, from_dev = 0;
  for (const auto& e : std::filesystem::directory_iterator(root / "proc/driver/nvidia/gpus", ec)) {
    (void)e;
    ++from_proc;
  }
  for (const auto& e : std::filesystem::directory_iterator(root / "dev", ec)) {
    const std::string name = e.path().filename().string();  // nvidia0, nvidia1 (not nvidiactl)
    if (name.size() > 6 && name.starts_with("nvidia") &&
        std::all_of(name.begin() + 6, name.end(), [](unsigned char c) { return std::isdigit(c); }))
      ++from_dev;
  }
  return from_proc > 0 ? from_proc : from_dev;
}

namespace {

[[noreturn]] void bad(const std::filesystem::path& file, const char* key, const std::string& what) {
  throw std::runtime_error(file.string() + ": key '" + key + "' " + what);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

void read_facts(const YAML::Node& root, const std::filesystem::path& file, Facts& f) {
  if (const auto g = root["groups"]) {
    if (g.IsScalar()) {
      f.groups = split_commas(g.as<std::string>());
    } else if (g.IsSequence()) {
      f.groups.clear();
      for (const auto& e : g) {
        if (!e.IsScalar()) bad(file, "groups", "must be a list of names");
        f.groups.push_back(e.as<std::string>());
      }
    } else if (!g.IsNull()) {
      bad(file, "groups", "must be a list of names");
    }
  }
  read_key(root, "cluster", f.cluster, file);
  if (f.cluster.empty() || f.cluster.front() != '/') bad(file, "cluster", "must be a path starting with '/'");
  read_key(root, "restrictions", f.restrictions, file);
  read_key(root, "memory_mb", f.memory_mb, file);
  read_key(root, "gpus", f.gpus, file);
  if (f.gpus < 0) bad(file, "gpus", "must not be negative");
  if (const auto p = root["properties"]) {
    if (!p.IsMap()) bad(file, "properties", "must be a map of name: value");
    for (const auto& kv : p) {
      if (!kv.second.IsScalar()) bad(file, "properties", "values must be plain values");
      f.properties[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }
  if (const auto r = root["resources"]) {
    if (!r.IsMap()) bad(file, "resources", "must be a map of name: count");
    for (const auto& kv : r) {
      const auto name = kv.first.as<std::string>();
      std::int64_t n = -1;
      try {
        n = kv.second.as<std::int64_t>();
      } catch (const YAML::Exception&) {
      }
      if (n < 0) bad(file, "resources", "count of '" + name + "' must be a non-negative whole number");
      f.resources[name] = n;
    }
  }
  // A GPU count written as a resource is the GPU count, and the admin's word
  // wins over detection.
  for (const char* key : {"host.gpu", "host.gpus", "gpu", "gpus"}) {
    if (auto it = f.resources.find(key); it != f.resources.end()) {
      f.gpus = static_cast<int>(it->second);
      f.resources.erase(it);
    }
  }
}

Facts load_facts(const std::filesystem::path& config_file, const std::filesystem::path& root) {
  Facts f;
  f.os = detect_os();
  f.memory_mb = detect_memory_mb(root);
  f.gpus = detect_gpus(root);
  if (!config_file.empty()) read_facts(load_config_map(config_file), config_file, f);
  return f;
}

Json to_json(const Facts& f) {
  return Json{{"os", f.os},
              {"memory_mb", f.memory_mb},
              {"gpus", f.gpus},
              {"groups", f.groups},
              {"cluster", f.cluster},
              {"restrictions", f.restrictions},
              {"properties", f.properties},
              {"resources", f.resources}};
}

}  // namespace qube::worker
