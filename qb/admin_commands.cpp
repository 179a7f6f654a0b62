#include "admin_commands.hpp"

#include <iostream>

#include "qube/json.hpp"

namespace qube::qb {

AdminCommands::AdminCommands(CLI::App& app, bool& json) : json_(json) {
  admin_ = app.add_subcommand("admin", "the farm's own housekeeping (admins, when keys are on)");
  admin_->require_subcommand(1);
  quarantine_ = admin_->add_subcommand("quarantine", "stored rows the supervisor could not load, moved aside");
}

int AdminCommands::run(Client& client) const {
  const Json reply = client.request("quarantine", Json{{"user", current_user()}});
  const Json rows = reply.value("rows", Json::array());
  if (json_) {
    std::cout << rows.dump(2) << "\n";
    return 0;
  }
  if (rows.empty()) std::cout << "no quarantined rows\n";
  // A raw row can be long: its start says what it was; --json has it whole.
  constexpr std::size_t kShown = 120;
  for (const auto& r : rows) {
    std::string raw = get_string(r, "raw");
    if (raw.size() > kShown) raw = raw.substr(0, kShown) + "...";
    std::cout << get_string(r, "table") << " " << get_string(r, "key") << ": " << get_string(r, "reason") << "\n    "
              << raw << "\n";
  }
  return 0;
}

}  // namespace qube::qb
