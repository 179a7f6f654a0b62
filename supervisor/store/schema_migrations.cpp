#include "schema_migrations.hpp"

#include <spdlog/spdlog.h>

namespace qube::supervisor {

void upgrade_schema(const std::string& what, int current, int latest, const std::function<void(int version)>& apply) {
  if (current > latest)
    throw SchemaTooNew(what + " has schema version " + std::to_string(current) + ", newer than the " +
                       std::to_string(latest) + " this qbsupervisor knows: run a qbsupervisor at least as new as "
                       "the one that upgraded it (or restore a backup from before the upgrade)");
  if (current < latest && current > 0)
    spdlog::info("{}: upgrading the schema from version {} to {}", what, current, latest);
  for (int v = current + 1; v <= latest; ++v) apply(v);
}

}  // namespace qube::supervisor
