#include "placement/global_resources.hpp"

#include <algorithm>

#include "placement/error.hpp"

namespace qube::placement {

void GlobalResources::set_total(std::string_view name, std::int64_t total) {
  if (!(name.starts_with("global.") || name.starts_with("license.")) || name.find('.') + 1 == name.size())
    fail("global resources", "'" + std::string(name) + "' must be named global.<name> or license.<name>");
  if (total < 0) fail("global resources", "total of " + std::string(name) + " must not be negative");
  auto it = table_.find(name);
  if (it == table_.end()) it = table_.emplace(std::string(name), Counted{}).first;
  it->second.total = total;
}

bool GlobalResources::remove(std::string_view name) {
  auto it = table_.find(name);
  if (it == table_.end() || it->second.used > 0) return false;
  table_.erase(it);
  return true;
}

std::optional<std::string_view> GlobalResources::shortfall(const std::vector<CountedRequest>& wanted) const {
  for (const auto& [name, n] : wanted) {
    auto it = table_.find(name);
    if (it == table_.end() || it->second.free() < n) return std::string_view(name);
  }
  return std::nullopt;
}

void GlobalResources::acquire(const std::vector<CountedRequest>& held) {
  for (const auto& [name, n] : held) {
    auto it = table_.find(name);
    if (it == table_.end()) it = table_.emplace(name, Counted{}).first;  // held before it was removed
    it->second.used += n;
  }
}

void GlobalResources::release(const std::vector<CountedRequest>& held) {
  for (const auto& [name, n] : held)
    if (auto it = table_.find(name); it != table_.end()) it->second.used = std::max<std::int64_t>(0, it->second.used - n);
}

const Counted* GlobalResources::find(std::string_view name) const {
  auto it = table_.find(name);
  return it == table_.end() ? nullptr : &it->second;
}

std::vector<GlobalResources::Row> GlobalResources::list() const {
  std::vector<Row> rows;
  for (const auto& [name, c] : table_) rows.push_back(Row{name, c.total, c.used});
  return rows;
}

std::string GlobalResources::describe_wait(std::string_view name) const {
  const Counted* c = find(name);
  if (!c) return "waiting for " + std::string(name) + " (not defined: see qb resources)";
  return "waiting for " + std::string(name) + " (" + std::to_string(c->used) + "/" + std::to_string(c->total) + " in use)";
}

}  // namespace qube::placement
