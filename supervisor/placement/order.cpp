#include "placement/order.hpp"

#include <cmath>

namespace qube::placement {

double FairShare::usage_at(const Account& a, double now) const {
  const double dt = now - a.at;
  if (dt <= 0) return a.usage;
  const double h = config_.half_life > 0 ? config_.half_life : 1;
  const double decay = std::exp2(-dt / h);
  // Past usage decays; cores running since `at` add their decayed integral.
  return a.usage * decay + a.running * (h / std::log(2.0)) * (1 - decay);
}

FairShare::Account& FairShare::account(std::string_view user, double now) {
  auto it = users_.find(user);
  if (it == users_.end()) it = users_.emplace(std::string(user), Account{0, now, 0}).first;
  Account& a = it->second;
  a.usage = usage_at(a, now);
  a.at = std::max(a.at, now);
  return a;
}

void FairShare::started(std::string_view user, int cores, double now) { account(user, now).running += cores; }

void FairShare::ended(std::string_view user, int cores, double now) {
  Account& a = account(user, now);
  a.running = std::max(0, a.running - cores);
}

double FairShare::usage(std::string_view user, double now) const {
  auto it = users_.find(user);
  return it == users_.end() ? 0 : usage_at(it->second, now);
}

double FairShare::key(std::string_view user, double now) const {
  if (!config_.enabled) return 0;
  auto it = users_.find(user);
  if (it == users_.end()) return 0;
  return usage_at(it->second, now) + it->second.running * config_.lookahead;
}

int FairShare::running(std::string_view user) const {
  auto it = users_.find(user);
  return it == users_.end() ? 0 : it->second.running;
}

}  // namespace qube::placement
