#include "qube/prometheus_text.hpp"

#include <fmt/format.h>

namespace qube::prometheus {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Label values are mostly names we made (statuses), sometimes an admin's
// (resources): escaped anyway.
std::string escaped(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void by_label(std::string& out, std::string_view name, std::string_view label, std::string_view help,
              const std::map<std::string, std::uint64_t>& counts) {
  header(out, name, "gauge", help);
  for (const auto& [value, n] : counts) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, escaped(value), n);
}

void single(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value) {
  header(out, name, type, help);
  out += fmt::format("{} {}\n", name, value);
}

}  // namespace qube::prometheus
