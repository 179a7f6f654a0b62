#include "placement/reservations.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "placement/error.hpp"

namespace qube::placement {

namespace {

std::string_view trim(std::string_view s, std::size_t& offset) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
    ++offset;
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_part(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// A whole number >= 0, or nothing.
bool parse_count(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0 && out <= (std::int64_t{1} << 40);
}

class ItemParser {
 public:
  ItemParser(std::string_view field, Reservations& r) : field_(field), r_(r) {}

  void item(std::string_view text, std::size_t column) {
    text = trim(text, column);
    if (text.empty()) fail_at(field_, "empty reservation (two commas, or one at an end)", column);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) fail_at(field_, "expected name=quantity, not '" + std::string(text) + "'", column);
    std::size_t qcol = column + eq + 1;
    std::size_t ncol = column;
    const std::string_view name = trim(text.substr(0, eq), ncol);
    const std::string_view quantity = trim(text.substr(eq + 1), qcol);
    const auto dot = name.find('.');
    if (dot == std::string_view::npos || !valid_part(name.substr(0, dot)) || !valid_part(name.substr(dot + 1)))
      fail_at(field_, std::string("'").append(name).append("' is not scope.name (host.memory, license.nuke)"), ncol);
    if (std::find(seen_.begin(), seen_.end(), name) != seen_.end())
      fail_at(field_, "'" + std::string(name) + "' reserved twice", ncol);
    seen_.push_back(std::string(name));
    const std::string_view scope = name.substr(0, dot);
    if (name == "host.processors") return slots(quantity, qcol);
    const std::int64_t n = positive(name, quantity, qcol);
    if (name == "host.memory") {
      r_.memory_mb = static_cast<std::uint64_t>(n);
    } else if (name == "host.gpu" || name == "host.gpus") {
      r_.gpus = static_cast<int>(n);
    } else if (scope == "global" || scope == "license") {
      r_.global_resources.emplace_back(std::string(name), n);
    } else {
      r_.host_resources.emplace_back(std::string(name), n);
    }
  }

 private:
  std::int64_t positive(std::string_view name, std::string_view q, std::size_t col) const {
    std::int64_t n = 0;
    if (!q.empty() && (q.back() == '+' || q.back() == '*' || q == "all" || q.find('-') != std::string_view::npos))
      fail_at(field_, "'+', '*', 'all' and ranges apply to host.processors only, not " + std::string(name), col);
    if (!parse_count(q, n) || n == 0)
      fail_at(field_, "quantity of " + std::string(name) + " must be a positive whole number, not '" + std::string(q) + "'", col);
    return n;
  }

  void slots(std::string_view q, std::size_t col) {
    SlotRequest& s = r_.slots;
    std::int64_t n = 0, m = 0;
    if (q == "all") {
      s = SlotRequest{1, SlotRequest::kAllFree, true};
    } else if (!q.empty() && (q.back() == '+' || q.back() == '*') && parse_count(q.substr(0, q.size() - 1), n) && n > 0) {
      s = SlotRequest{static_cast<int>(n), SlotRequest::kAllFree, q.back() == '*'};
    } else if (const auto dash = q.find('-'); dash != std::string_view::npos && dash > 0) {
      if (!parse_count(q.substr(0, dash), n) || !parse_count(q.substr(dash + 1), m) || n == 0)
        fail_at(field_, "host.processors range must be N-M with 1 <= N <= M, not '" + std::string(q) + "'", col);
      if (n > m) fail_at(field_, "host.processors range " + std::string(q) + " is empty", col);
      s = SlotRequest{static_cast<int>(n), static_cast<int>(m), false};
    } else if (parse_count(q, n) && n < 100000) {
      s = SlotRequest{static_cast<int>(n), static_cast<int>(n), false};
    } else {
      fail_at(field_, "host.processors must be N, N+, N*, N-M or all, not '" + std::string(q) + "'", col);
    }
  }

  std::string_view field_;
  Reservations& r_;
  std::vector<std::string> seen_;
};

void append(std::string& out, std::string_view name, std::int64_t n) {
  if (!out.empty()) out += ',';
  out += name;
  out += '=';
  out += std::to_string(n);
}

}  // namespace

Reservations Reservations::parse(std::string_view text, std::string_view field) {
  Reservations r;
  std::size_t start = 0;
  std::size_t ignored = 0;
  if (trim(text, ignored).empty()) return r;
  ItemParser parser(field, r);
  while (true) {
    const auto comma = text.find(',', start);
    parser.item(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start), start + 1);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(r.host_resources.begin(), r.host_resources.end());
  std::sort(r.global_resources.begin(), r.global_resources.end());
  return r;
}

std::string Reservations::canonical() const {
  std::string out;
  if (!(slots == SlotRequest{})) {
    out = "host.processors=";
    if (slots.idle_only) out += std::to_string(slots.min) + "*";
    else if (slots.max == SlotRequest::kAllFree) out += std::to_string(slots.min) + "+";
    else if (slots.min != slots.max) out += std::to_string(slots.min) + "-" + std::to_string(slots.max);
    else out += std::to_string(slots.min);
  }
  if (memory_mb) append(out, "host.memory", static_cast<std::int64_t>(memory_mb));
  if (gpus) append(out, "host.gpu", gpus);
  for (const auto& [name, n] : host_resources) append(out, name, n);
  for (const auto& [name, n] : global_resources) append(out, name, n);
  return out;
}

std::string Allocation::to_string() const {
  std::string out;
  append(out, "host.processors", slots);
  if (memory_mb) append(out, "host.memory", static_cast<std::int64_t>(memory_mb));
  if (gpus) append(out, "host.gpu", gpus);
  for (const auto& [name, n] : host_resources) append(out, name, n);
  for (const auto& [name, n] : global_resources) append(out, name, n);
  return out;
}

Shortfall host_shortfall(const Reservations& r, const HostFacts& h, std::string_view* missing) {
  if (r.slots.idle_only && h.slots_free != h.slots_total) return Shortfall::idle;
  if (h.slots_free < r.slots.min) return Shortfall::slots;
  if (h.memory_free_mb < r.memory_mb) return Shortfall::memory;
  if (h.gpus_free < r.gpus) return Shortfall::gpus;
  for (const auto& [name, n] : r.host_resources) {
    auto it = h.resources.find(name);
    if (it == h.resources.end() || it->second.free() < n) {
      if (missing) *missing = name;
      return Shortfall::host_resource;
    }
  }
  return Shortfall::none;
}

Allocation allocate(const Reservations& r, const HostFacts& h) {
  Allocation a;
  a.slots = r.slots.idle_only ? h.slots_free : std::min(h.slots_free, r.slots.max);
  a.slots = std::max(a.slots, std::min(r.slots.min, h.slots_free));
  a.memory_mb = r.memory_mb;
  a.gpus = r.gpus;
  a.host_resources = r.host_resources;
  a.global_resources = r.global_resources;
  return a;
}

}  // namespace qube::placement
