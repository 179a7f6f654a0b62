#include "qube/yaml_json.hpp"

#include <charconv>

#include <yaml-cpp/yaml.h>

namespace qube {

namespace {

Json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: always a string
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  double d = 0;
  auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc() && p2 == s.data() + s.size()) return d;
  return s;
}

Json convert(const YAML::Node& n, int depth) {
  if (depth > 32) throw FormatError("nested too deeply");
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return scalar(n);
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& e : n) a.push_back(convert(e, depth + 1));
      return a;
    }
    case YAML::NodeType::Map: {
      Json m = Json::object();
      for (const auto& kv : n) m[kv.first.as<std::string>()] = convert(kv.second, depth + 1);
      return m;
    }
  }
  return nullptr;
}

}  // namespace

Json parse_yaml(const std::string& text) {
  try {
    return convert(YAML::Load(text), 0);
  } catch (const YAML::Exception& e) {
    throw FormatError("line " + std::to_string(e.mark.line + 1) + ", column " +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

}  // namespace qube
