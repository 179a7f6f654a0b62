#include "qube/validate.hpp"

#include <algorithm>
#include <functional>
#include <optional>

#include "qube/agenda_order.hpp"
#include "qube/hostorder.hpp"
#include "qube/range.hpp"

namespace qube {

bool is_valid_type_name(const std::string& type) {
  if (type.empty() || type.size() > 64) return false;
  for (char c : type)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

bool is_valid_env_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

namespace {

// Job types whose package needs a command line.
bool needs_cmdline(const std::string& type) { return type == "cmdline" || type == "cmdrange"; }

// The value of host.processors in Qube reservations ("host.processors=4,..."), if named.
std::optional<std::string> reserved_processors(const std::string& reservations) {
  std::size_t start = 0;
  while (start <= reservations.size()) {
    const auto comma = std::min(reservations.find(',', start), reservations.size());
    const std::string part = reservations.substr(start, comma - start);
    const auto eq = part.find('=');
    auto trimmed = [](std::string t) {
      t.erase(0, t.find_first_not_of(" \t"));
      t.erase(t.find_last_not_of(" \t") + 1);
      return t;
    };
    if (eq != std::string::npos && trimmed(part.substr(0, eq)) == "host.processors") return trimmed(part.substr(eq + 1));
    start = comma + 1;
  }
  return std::nullopt;
}

inline constexpr std::size_t kMaxHooks = 100;           // commands per hook list
inline constexpr std::size_t kMaxHookLength = 64 * 1024;

// The hooks (docs/usage.md "Hooks"): each a shell command that is not blank.
void check_hooks(const JobSpec& s, const std::function<void(std::string)>& err) {
  auto check = [&](const char* field, const std::string& command) {
    if (command.find_first_not_of(" \t\n") == std::string::npos) err(std::string(field) + ": the command is empty");
    else if (command.size() > kMaxHookLength) err(std::string(field) + ": longer than 65536 characters");
  };
  if (!s.preexec.empty()) check("preexec", s.preexec);
  if (!s.postexec.empty()) check("postexec", s.postexec);
  const std::pair<const char*, const std::vector<std::string>*> lists[] = {
      {"preflights", &s.preflights},
      {"postflights", &s.postflights},
      {"agenda_preflights", &s.agenda_preflights},
      {"agenda_postflights", &s.agenda_postflights}};
  for (const auto& [field, list] : lists) {
    if (list->size() > kMaxHooks) err(std::string(field) + ": more than 100 commands");
    for (const auto& command : *list) check(field, command);
  }
}

// --processors and --hostorder.
void check_placement_shorthands(const JobSpec& s, const std::function<void(std::string)>& err) {
  if (s.processors < 0 || s.processors > kMaxCpus)
    err("processors: must be between 1 and " + std::to_string(kMaxCpus) + ", got " + std::to_string(s.processors));
  if (s.processors > 0)
    if (auto named = reserved_processors(s.reservations); named && *named != std::to_string(s.processors))
      err("processors: " + std::to_string(s.processors) + " conflicts with reservations host.processors=" + *named +
          " (give one of them)");
  try {
    parse_hostorder(s.hostorder);
  } catch (const std::invalid_argument& e) {
    err(e.what());
  }
}

// --order and --preview (with --flags p_agenda).
void check_agenda_order(const JobSpec& s, const std::function<void(std::string)>& err) {
  try {
    parse_agenda_order(s.order);
  } catch (const std::invalid_argument& e) {
    err(e.what());
  }
  try {
    parse_preview(s.preview);
  } catch (const RangeError& e) {
    err(std::string(e.what()).rfind("preview", 0) == 0 ? e.what() : "preview: " + std::string(e.what()));
  }
  if (!effective_preview(s).empty() && s.range.empty() && s.agenda.empty())
    err("preview: only a job with an agenda (--range or agenda items) has frames to preview");
}

}  // namespace

std::string effective_reservations(const JobSpec& spec) {
  if (spec.processors <= 0 || reserved_processors(spec.reservations)) return spec.reservations;
  const std::string processors = "host.processors=" + std::to_string(spec.processors);
  return spec.reservations.find_first_not_of(" \t") == std::string::npos ? processors
                                                                          : processors + "," + spec.reservations;
}

std::string effective_preview(const JobSpec& spec) {
  if (!spec.preview.empty()) return spec.preview;
  const bool flagged = std::find(spec.flags.begin(), spec.flags.end(), "p_agenda") != spec.flags.end();
  return flagged ? std::string(kDefaultPreview) : std::string();
}

std::vector<std::string> validate(const JobSpec& s) {
  std::vector<std::string> errors;
  auto err = [&](std::string m) { errors.push_back(std::move(m)); };

  if (s.name.size() > kMaxNameLength)
    err("name: longer than " + std::to_string(kMaxNameLength) + " characters");
  if (!is_valid_type_name(s.type))
    err("type: '" + s.type + "' is not a job type name (letters, digits, '_', '-', '.')");
  if (s.priority < 1 || s.priority > 9999)
    err("priority: must be between 1 (most urgent) and 9999, got " + std::to_string(s.priority));
  if (s.cpus < 1 || s.cpus > kMaxCpus)
    err("cpus: must be between 1 and " + std::to_string(kMaxCpus) + ", got " +
        std::to_string(s.cpus));
  if (s.chunk < 1) err("chunk: must be at least 1, got " + std::to_string(s.chunk));
  if (s.partitions < 0) err("partitions: must not be negative, got " + std::to_string(s.partitions));
  if (s.padding < 0 || s.padding > 32)
    err("padding: must be between 0 and 32, got " + std::to_string(s.padding));
  if (s.retrywork < 0 || s.retrywork > 1000)
    err("retrywork: must be between 0 and 1000, got " + std::to_string(s.retrywork));
  if (!(s.retryworkdelay >= 0 && s.retryworkdelay <= 7 * 86400))
    err("retryworkdelay: must be between 0 and 604800 seconds");
  if (s.retrysubjob < 0 || s.retrysubjob > 1000)
    err("retrysubjob: must be between 0 and 1000, got " + std::to_string(s.retrysubjob));
  if (s.max_cpus < 0 || s.max_cpus > kMaxCpus)
    err("max_cpus: must be between 0 and " + std::to_string(kMaxCpus) + ", got " + std::to_string(s.max_cpus));
  if (!(s.timelimit >= 0)) err("timelimit: must not be negative");
  if (!(s.agendatimelimit >= 0)) err("agendatimelimit: must not be negative");
  if (s.label.size() > kMaxNameLength) err("label: longer than 255 characters");
  if (!s.range.empty() && !s.agenda.empty())
    err("agenda: give either a range or a list of agenda items, not both");
  if (!s.range.empty()) {
    try {
      parse_range(s.range);
    } catch (const RangeError& e) {
      err(std::string("range: ") + e.what());
    }
  }
  if (s.agenda.size() > kMaxFramesPerJob) err("agenda: too many items");
  for (const auto& name : s.agenda) {
    if (name.empty() || name.size() > kMaxAgendaNameLength) {
      err("agenda: item names must be 1 to 255 characters");
      break;
    }
  }
  if (!s.package.is_object()) err("package: must be a map");
  if (needs_cmdline(s.type)) {
    auto it = s.package.find("cmdline");
    if (it == s.package.end() || !it->is_string() || it->get<std::string>().empty())
      err("package: job type '" + s.type + "' needs a command ('cmdline')");
  }
  if (s.type == "cmdrange" && s.range.empty() && s.agenda.empty())
    err("range: job type 'cmdrange' needs a frame range");
  if (s.env.size() > kMaxEnvEntries) err("env: more than 1000 variables");
  for (const auto& [k, v] : s.env)
    if (!is_valid_env_name(k)) err("env: '" + k + "' is not a valid variable name");
  // Qube!'s bookkeeping strings travel in every listing: bounded like a name.
  for (const auto& [field, value] : {std::pair{"kind", &s.kind}, {"account", &s.account}, {"domain", &s.domain}})
    if (value->size() > kMaxNameLength) err(std::string(field) + ": longer than 255 characters");
  check_hooks(s, err);
  check_placement_shorthands(s, err);
  check_agenda_order(s, err);
  return errors;
}

}  // namespace qube
