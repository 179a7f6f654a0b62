#include "preview_split.hpp"

#include <algorithm>

#include "qube/agenda_order.hpp"
#include "qube/range.hpp"
#include "qube/validate.hpp"

namespace qube::qbsub {

std::vector<JobSpec> split_preview(const JobSpec& spec, int p_priority, int p_cpus) {
  const std::string preview = effective_preview(spec);
  if (preview.empty() || (p_priority <= 0 && p_cpus <= 0)) return {spec};
  std::vector<std::string> names;
  if (!spec.range.empty())
    names = agenda_names(spec.range, static_cast<std::size_t>(spec.chunk), static_cast<std::size_t>(spec.partitions));
  names.insert(names.end(), spec.agenda.begin(), spec.agenda.end());
  const std::vector<bool> pick = preview_items(names, preview);

  // Both are plain agendas of the items they hold; --order still orders each.
  JobSpec rest = spec;
  rest.range.clear();
  rest.partitions = 0;
  rest.agenda.clear();
  rest.preview.clear();
  std::erase(rest.flags, "p_agenda");
  JobSpec first = rest;
  for (std::size_t i = 0; i < names.size(); ++i) (pick[i] ? first : rest).agenda.push_back(names[i]);
  first.name = spec.name + " (preview)";
  if (!spec.label.empty()) first.label = spec.label + "-preview";
  if (p_priority > 0) first.priority = p_priority;
  if (p_cpus > 0) first.cpus = p_cpus;
  if (rest.agenda.empty()) return {first};
  return {first, rest};
}

}  // namespace qube::qbsub
