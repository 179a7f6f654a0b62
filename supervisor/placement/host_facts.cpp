#include "placement/host_facts.hpp"

#include <algorithm>
#include <cctype>

#include "placement/error.hpp"

namespace qube::placement {

bool HostFacts::in_group(std::string_view g) const {
  return std::binary_search(groups.begin(), groups.end(), g, std::less<>{});
}

bool HostFacts::offers_type(std::string_view t) const {
  return std::binary_search(jobtypes.begin(), jobtypes.end(), t, std::less<>{});
}

bool HostFacts::runs_job(JobId id) const { return std::binary_search(duty.begin(), duty.end(), id); }

bool truthy(std::string_view v) {
  if (v.empty() || v == "0" || v == "false" || v == "no") return false;
  return true;
}

bool HostFacts::offers_service(std::string_view s) const {
  if (in_group(s)) return true;
  if (auto p = properties.find(s); p != properties.end() && truthy(p->second)) return true;
  if (s == "gpu" && gpus_total > 0) return true;
  for (const auto& [key, counted] : resources) {
    const auto dot = key.find('.');
    if (std::string_view(key).substr(dot + 1) == s && counted.total > 0) return true;
  }
  return false;
}

void HostFacts::normalize() {
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  std::sort(jobtypes.begin(), jobtypes.end());
  jobtypes.erase(std::unique(jobtypes.begin(), jobtypes.end()), jobtypes.end());
  std::sort(duty.begin(), duty.end());
}

namespace {

constexpr std::string_view kField = "worker facts";

std::vector<std::string> string_list(const Json& v, const char* key) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) fail(kField, std::string("'") + key + "' must be a list of strings");
  for (const auto& e : v) {
    if (!e.is_string()) fail(kField, std::string("'") + key + "' must be a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::int64_t count_of(const Json& v, const std::string& what) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
    fail(kField, what + " must be a non-negative integer");
  return v.get<std::int64_t>();
}

// "gpu" and "host.gpu" both name the host resource "host.gpu".
std::string resource_key(const std::string& name) {
  return name.find('.') == std::string::npos ? "host." + name : name;
}

}  // namespace

HostFacts host_facts_from_json(std::string_view name, const Json& body) {
  if (!body.is_object()) fail(kField, "expected an object");
  HostFacts h;
  h.name = std::string(name);
  if (body.contains("os")) {
    if (!body["os"].is_string()) fail(kField, "'os' must be a string");
    h.os = body["os"].get<std::string>();
  }
  if (body.contains("slots")) h.slots_total = h.slots_free = static_cast<int>(count_of(body["slots"], "'slots'"));
  if (body.contains("memory_mb")) h.memory_total_mb = h.memory_free_mb = static_cast<std::uint64_t>(count_of(body["memory_mb"], "'memory_mb'"));
  if (body.contains("gpus")) h.gpus_total = h.gpus_free = static_cast<int>(count_of(body["gpus"], "'gpus'"));
  h.groups = string_list(body.value("groups", Json()), "groups");
  h.jobtypes = string_list(body.value("jobtypes", Json()), "jobtypes");
  if (body.contains("cluster")) {
    if (!body["cluster"].is_string()) fail(kField, "'cluster' must be a string");
    h.cluster = normalize_cluster(body["cluster"].get<std::string>(), "worker facts: cluster");
  }
  if (body.contains("restrictions")) {
    if (!body["restrictions"].is_string()) fail(kField, "'restrictions' must be a string");
    h.restrictions = ClusterRestriction::parse(body["restrictions"].get<std::string>(), "worker restrictions");
  }
  if (const auto& props = body.value("properties", Json()); !props.is_null()) {
    if (!props.is_object()) fail(kField, "'properties' must be a map");
    for (const auto& [key, value] : props.items()) {
      std::string k = key.starts_with("host.") ? key.substr(5) : key;
      h.properties[k] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  if (const auto& res = body.value("resources", Json()); !res.is_null()) {
    if (!res.is_object()) fail(kField, "'resources' must be a map");
    for (const auto& [key, value] : res.items())
      h.resources[resource_key(key)] = Counted{count_of(value, "resource '" + key + "'"), 0};
  }
  // A GPU count given as the resource host.gpu is the same fact as `gpus`.
  if (auto g = h.resources.find("host.gpu"); g != h.resources.end()) {
    if (!body.contains("gpus")) h.gpus_total = h.gpus_free = static_cast<int>(g->second.total);
    h.resources.erase(g);
  }
  h.normalize();
  return h;
}

}  // namespace qube::placement
