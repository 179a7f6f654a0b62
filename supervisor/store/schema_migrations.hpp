#pragma once
// Versioned schema upgrades, the same rules for every store: the schema's
// version is kept in the store itself (table schema_version); at open, each
// migration newer than it runs in order, each in its own transaction with the
// version it brings, so that an interrupted upgrade resumes where it stopped.
// A store newer than this program is refused: an old qbsupervisor must not
// write rows it does not understand.
#include <functional>
#include <stdexcept>
#include <string>

namespace qube::supervisor {

class SchemaTooNew : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs apply(v) for v = current + 1 ... latest. `what` names the store in the
// error ("store /var/lib/qube/qube.db"); throws SchemaTooNew when current > latest.
void upgrade_schema(const std::string& what, int current, int latest, const std::function<void(int version)>& apply);

}  // namespace qube::supervisor
