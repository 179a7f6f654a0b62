// Qube dependency strings, their evaluation against a status, and cycle detection.
#include "qube/dependency.hpp"

#include <algorithm>
#include <array>

namespace qube {

namespace {

constexpr const char* kWhat = "dependency";
constexpr std::string_view kPrefix = "link-";
constexpr std::array<EventName, 4> kConditions = {EventName::complete, EventName::done,
                                                  EventName::failed, EventName::killed};

[[noreturn]] void fail(std::string_view whole, const std::string& detail, std::size_t pos,
                       std::string_view expected) {
  throw TriggerError(std::string(kWhat) + " '" + std::string(whole) + "': " + detail +
                         " at position " + std::to_string(pos) + "; expected " + std::string(expected),
                     pos);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One `link-...` item starting at `offset` in `whole`.
Dependency parse_one(std::string_view item, std::string_view whole, std::size_t offset) {
  constexpr const char* shape = "link-<complete|done|failed|killed>-<job|work|subjob>-<id|label>";
  if (item.substr(0, kPrefix.size()) != kPrefix)
    fail(whole, std::string("'").append(item).append("' does not start with 'link-'"), offset, shape);
  const std::string_view rest = item.substr(kPrefix.size());
  const std::size_t rest_pos = offset + kPrefix.size();
  // The condition is checked here so the message lists the four a dependency allows.
  const std::string_view name = rest.substr(0, rest.find('-'));
  const auto cond = parse_event_name(name);
  if (!cond || std::find(kConditions.begin(), kConditions.end(), *cond) == kConditions.end())
    fail(whole, "unknown condition '" + std::string(name) + "'", rest_pos,
         "complete, done, failed or killed");
  const Atom a = parse_atom(rest, kWhat, whole, rest_pos, /*with_extra=*/false);
  if (a.job.kind == JobRef::Kind::self)
    fail(whole, "a job cannot depend on itself", rest_pos + rest.rfind('-') + 1,
         "a job id or a label");
  return Dependency{a.name, a.type, a.job};
}

// Iterative depth-first search for a back edge; returns the closing path.
template <typename Node>
std::vector<Node> find_cycle_in(const std::map<Node, std::vector<Node>>& edges) {
  enum class Mark : std::uint8_t { white, grey, black };
  std::map<Node, Mark> mark;
  static const std::vector<Node> none;
  auto out_of = [&](const Node& n) -> const std::vector<Node>& {
    auto it = edges.find(n);
    return it == edges.end() ? none : it->second;
  };
  for (const auto& [start, unused] : edges) {
    (void)unused;
    if (mark[start] != Mark::white) continue;
    std::vector<std::pair<Node, std::size_t>> stack{{start, 0}};  // node, next edge index
    mark[start] = Mark::grey;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& out = out_of(node);
      if (next == out.size()) {
        mark[node] = Mark::black;
        stack.pop_back();
        continue;
      }
      const Node to = out[next++];
      const Mark m = mark[to];
      if (m == Mark::grey) {
        std::vector<Node> cycle;
        auto it = std::find_if(stack.begin(), stack.end(), [&](const auto& e) { return e.first == to; });
        for (; it != stack.end(); ++it) cycle.push_back(it->first);
        cycle.push_back(to);
        return cycle;
      }
      if (m == Mark::white) {
        mark[to] = Mark::grey;
        stack.emplace_back(to, 0);  // invalidates node/next: not used again this round
      }
    }
  }
  return {};
}

std::string str(JobId id) { return std::to_string(id); }
const std::string& str(const std::string& s) { return s; }

template <typename Node>
std::string message_of(const std::vector<Node>& cycle) {
  std::string s = "dependency cycle: ";
  for (std::size_t i = 0; i < cycle.size(); ++i) s += (i ? " -> " : "") + str(cycle[i]);
  return s;
}

}  // namespace

std::string Dependency::text() const {
  return std::string(kPrefix) + std::string(to_string(condition)) + "-" +
         std::string(to_string(kind)) + "-" + target.text();
}

std::vector<Dependency> parse_dependencies(std::string_view text) {
  if (text.size() > kMaxTriggerLength)
    throw TriggerError("dependency is longer than " + std::to_string(kMaxTriggerLength) + " characters",
                       kMaxTriggerLength);
  std::vector<Dependency> deps;
  if (std::all_of(text.begin(), text.end(), is_space)) return deps;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    std::size_t b = pos, e = comma;
    while (b < e && is_space(text[b])) ++b;
    while (e > b && is_space(text[e - 1])) --e;
    if (b == e) fail(text, "empty dependency", b, "link-<condition>-<type>-<id|label>");
    deps.push_back(parse_one(text.substr(b, e - b), text, b));
    if (comma == text.size()) break;
    pos = comma + 1;
  }
  return deps;
}

std::string dependency_text(const std::vector<Dependency>& deps) {
  std::string s;
  for (const auto& d : deps) s.append(s.empty() ? "" : ",").append(d.text());
  return s;
}

std::string waitfor_dependency(JobId id) { return "link-done-job-" + std::to_string(id); }

DependencyState dependency_state(EventName condition, JobStatus target) {
  if (status_matches(condition, target)) return DependencyState::satisfied;
  return is_terminal(target) ? DependencyState::broken : DependencyState::waiting;
}

DependencyState dependency_state(EventName condition, WorkStatus target) {
  if (status_matches(condition, target)) return DependencyState::satisfied;
  return is_terminal(target) ? DependencyState::broken : DependencyState::waiting;
}

std::string_view to_string(DependencyState s) {
  switch (s) {
    case DependencyState::waiting: return "waiting";
    case DependencyState::satisfied: return "satisfied";
    case DependencyState::broken: return "broken";
  }
  return "waiting";
}

DependencyState combine(const std::vector<DependencyState>& states) {
  auto has = [&](DependencyState s) { return std::find(states.begin(), states.end(), s) != states.end(); };
  if (has(DependencyState::waiting)) return DependencyState::waiting;
  if (has(DependencyState::broken)) return DependencyState::broken;
  return DependencyState::satisfied;
}

std::vector<JobId> find_cycle(const std::map<JobId, std::vector<JobId>>& edges) {
  return find_cycle_in(edges);
}
std::vector<std::string> find_cycle(const std::map<std::string, std::vector<std::string>>& edges) {
  return find_cycle_in(edges);
}
std::string cycle_message(const std::vector<JobId>& cycle) { return message_of(cycle); }
std::string cycle_message(const std::vector<std::string>& cycle) { return message_of(cycle); }

}  // namespace qube
