#include "host_commands.hpp"

#include <iomanip>
#include <iostream>

#include "exit_codes.hpp"
#include "format.hpp"

namespace qube::qb {

namespace {

// "key=value" pairs of --property / --resource into a map; numbers for resources.
Json key_values(const std::vector<std::string>& pairs, const char* flag, bool numeric) {
  Json out = Json::object();
  for (const auto& kv : pairs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError(std::string(flag) + " needs KEY=VALUE, got '" + kv + "'");
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (!numeric) {
      out[key] = value;
      continue;
    }
    try {
      std::size_t used = 0;
      const long long n = std::stoll(value, &used);
      if (used != value.size()) throw std::invalid_argument(value);
      out[key] = n;
    } catch (const std::logic_error&) {
      throw UsageError(std::string(flag) + " '" + kv + "': the quantity must be a whole number");
    }
  }
  return out;
}

int print_outcome(const Json& reply, const char* done, bool json) {
  if (json) {
    std::cout << reply.dump(2) << "\n";
  } else {
    for (const auto& name : get_array(reply, done)) std::cout << done << " host " << name.get<std::string>() << "\n";
    for (const auto& e : get_array(reply, "errors")) std::cerr << "qb: " << e.get<std::string>() << "\n";
  }
  return get_array(reply, "errors").empty() ? 0 : kFailed;
}

}  // namespace

HostCommands::HostCommands(CLI::App& app, bool& json, std::string&) : json_(json) {
  hosts_ = app.add_subcommand("hosts", "list workers (qbhosts)");
  hosts_->add_flag("--long,-l", long_, "with each host's placement facts: groups, cluster, properties, resources");
  lock_ = app.add_subcommand("lock", "hosts take no new work (qblock; admins)");
  lock_->add_option("hosts", names_, "host names")->required();
  lock_->add_flag("--purge", purge_, "also stop what runs there now (its items go back to pending)");
  lock_->add_flag("--drain", drain_,
                  "let the items running there finish, then end their instances (no new item, no new instance)");
  unlock_ = app.add_subcommand("unlock", "hosts take work again (qbunlock; admins)");
  unlock_->add_option("hosts", names_, "host names")->required();
  host_ = app.add_subcommand("host", "change a running worker's facts (admins)");
  host_->require_subcommand(1);
  host_set_ = host_->add_subcommand("set", "qb host set HOST --group render --property maya2024=1 --resource host.gpu=2");
  host_set_->add_option("host", host_name_, "host name")->required();
  host_set_->add_option("--groups,--group", groups_, "its groups (replaces them; comma separated)")->delimiter(',');
  host_set_->add_option("--cluster", cluster_, "its cluster, e.g. /show/seq");
  host_set_->add_option("--restrictions", restrictions_, "clusters of jobs it accepts");
  host_set_->add_option("--property", properties_, "KEY=VALUE (host.KEY in requirements; repeatable)")
      ->allow_extra_args(false);
  host_set_->add_option("--resource", resources_set_, "NAME=N, e.g. host.gpu_mem=2 (repeatable)")
      ->allow_extra_args(false);
  resources_ = app.add_subcommand("resources", "farm-wide resources (licenses) with their use");
  resource_ = app.add_subcommand("resource", "change a farm-wide resource (admins)");
  resource_->require_subcommand(1);
  resource_set_ = resource_->add_subcommand("set", "qb resource set license.nuke 20");
  resource_set_->add_option("name", resource_name_, "global.<x> or license.<x>")->required();
  resource_set_->add_option("total", total_, "how many exist")->required();
}

std::vector<CLI::App*> HostCommands::commands() const {
  return {hosts_, lock_, unlock_, host_set_, resources_, resource_set_};
}

bool HostCommands::parsed() const {
  for (auto* c : commands())
    if (c->parsed()) return true;
  return false;
}

int HostCommands::run(Client& client) const {
  if (hosts_->parsed()) {
    const Json reply = client.request("hosts", Json{{"long", long_}});
    if (json_) std::cout << get_array(reply, "hosts").dump(2) << "\n";
    else print_hosts(std::cout, get_array(reply, "hosts"), long_);
    return 0;
  }
  if (lock_->parsed() || unlock_->parsed()) {
    const bool lock = lock_->parsed();
    const Json reply = client.request(lock ? "lock" : "unlock",
                                      Json{{"hosts", names_}, {"purge", purge_}, {"drain", drain_}, {"user", current_user()}});
    return print_outcome(reply, lock ? "locked" : "unlocked", json_);
  }
  if (host_set_->parsed()) {
    Json set = Json::object();
    if (host_set_->count("--groups")) set["groups"] = groups_;
    if (host_set_->count("--cluster")) set["cluster"] = cluster_;
    if (host_set_->count("--restrictions")) set["restrictions"] = restrictions_;
    if (!properties_.empty()) set["properties"] = key_values(properties_, "--property", false);
    if (!resources_set_.empty()) set["resources"] = key_values(resources_set_, "--resource", true);
    if (set.empty()) throw UsageError("host set: nothing to change (e.g. --property maya2024=1)");
    const Json reply =
        client.request("host_set", Json{{"host", host_name_}, {"set", set}, {"user", current_user()}});
    if (json_) std::cout << reply.dump(2) << "\n";
    else std::cout << "host " << get_string(reply, "host") << " changed\n";
    return 0;
  }
  if (resources_->parsed()) {
    const Json reply = client.request("resources", Json::object());
    const Json& rows = get_array(reply, "resources");
    if (json_) {
      std::cout << rows.dump(2) << "\n";
    } else {
      std::cout << std::left << std::setw(24) << "NAME" << std::setw(8) << "USED" << "TOTAL\n";
      for (const auto& r : rows)
        std::cout << std::setw(24) << get_string(r, "name") << std::setw(8) << get_int(r, "used") << get_int(r, "total")
                  << "\n";
    }
    return 0;
  }
  const Json reply = client.request(
      "resource_set", Json{{"name", resource_name_}, {"total", total_}, {"user", current_user()}});
  if (json_) std::cout << get_object(reply, "resource").dump(2) << "\n";
  else std::cout << "resource " << resource_name_ << " set to " << total_ << "\n";
  return 0;
}

}  // namespace qube::qb
