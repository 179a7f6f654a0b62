#pragma once
// Prometheus's text exposition format, written directly (Debian has no
// prometheus-cpp): the pieces both daemons' GET /metrics are made of
// (supervisor/metrics.cpp, worker/worker_metrics.cpp).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace qube::prometheus {

// The content type of the text format, version 0.0.4.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
void header(std::string& out, std::string_view name, std::string_view type, std::string_view help);
// A label value with its backslashes, quotes and newlines escaped.
std::string escaped(std::string_view value);
// A gauge with one sample per label value: name{label="value"} n.
void by_label(std::string& out, std::string_view name, std::string_view label, std::string_view help,
              const std::map<std::string, std::uint64_t>& counts);
// A metric with one sample and no label.
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value);

}  // namespace qube::prometheus
