#include "qube/hostorder.hpp"

namespace qube {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

[[noreturn]] void bad(std::string_view key, const std::string& why) {
  throw std::invalid_argument("hostorder: '" + std::string(key) + "' " + why +
                              " (e.g. +host.memory.avail,-host.processors.used)");
}

// host.<segment>[.<segment>...], each segment made of letters, digits, '_' and '-'.
void check_name(std::string_view key, std::string_view name) {
  if (!name.starts_with("host.")) bad(key, "must name a host fact: host.<name>");
  std::string_view rest = name.substr(5);
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view segment = rest.substr(0, dot);
    if (segment.empty()) bad(key, "has an empty name part");
    for (char c : segment)
      if (!name_char(c)) bad(key, std::string("has '") + c + "' in its name");
    if (dot == std::string_view::npos) return;
    rest.remove_prefix(dot + 1);
  }
}

}  // namespace

std::vector<HostOrderKey> parse_hostorder(std::string_view text) {
  std::vector<HostOrderKey> keys;
  if (trim(text).empty()) return keys;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view key = trim(text.substr(0, comma));
    if (key.empty()) throw std::invalid_argument("hostorder: an empty key (two commas, or one at an end)");
    HostOrderKey k;
    std::string_view name = key;
    if (name.front() == '+' || name.front() == '-') {
      k.largest_first = name.front() == '+';
      name = trim(name.substr(1));
    }
    check_name(key, name);
    k.name = std::string(name);
    keys.push_back(std::move(k));
    if (keys.size() > kMaxHostOrderKeys)
      throw std::invalid_argument("hostorder: more than " + std::to_string(kMaxHostOrderKeys) + " keys");
    if (comma == std::string_view::npos) return keys;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace qube
