#include "admin_commands.hpp"

#include <iostream>

#include "qube/json.hpp"

namespace qube::qb {

AdminCommands::AdminCommands(CLI::App& app, bool& json) : json_(json) {
  admin_ = app.add_subcommand("admin", "the farm's own housekeeping (admins, when keys are on)");
  admin_->require_subcommand(1);
  quarantine_ = admin_->add_subcommand("quarantine", "stored rows the supervisor could not load, moved aside");
  status_ = admin_->add_subcommand("status", "which supervisor is active, its epoch, the store and the standbys");
}

int AdminCommands::run(Client& client) const { return status_->parsed() ? status(client) : quarantine(client); }

int AdminCommands::status(Client& client) const {
  Json reply = client.request("supervisor_status", Json::object());
  reply.erase("ok");
  if (json_) {
    std::cout << reply.dump(2) << "\n";
    return 0;
  }
  const auto where = [](const Json& s) {
    return get_string(s, "name") + " (clients " + get_string(s, "clients") + ", workers " + get_string(s, "workers") + ")";
  };
  const Json& active = reply["active"];
  std::cout << "store:    " << get_string(reply, "store") << "\n"
            << "active:   " << (active.is_object() ? where(active) : std::string("none just now (a standby takes over)"))
            << "\n";
  if (reply.value("lease", false)) {
    std::cout << "epoch:    " << reply.value("epoch", 0) << "\n";
    const Json standbys = reply.value("standbys", Json::array());
    std::cout << "standbys: " << (standbys.empty() ? "none" : "") << "\n";
    for (const auto& s : standbys) std::cout << "  " << where(s) << "\n";
  } else {
    std::cout << "epoch:    none (SQLite: one supervisor, no lease)\n";
  }
  return 0;
}

int AdminCommands::quarantine(Client& client) const {
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
