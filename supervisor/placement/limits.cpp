#include "placement/limits.hpp"

namespace qube::placement {

int RunningLimits::user_limit(std::string_view user) const {
  auto it = config_.users.find(user);
  return it == config_.users.end() ? config_.per_user : it->second;
}

int RunningLimits::running_of_user(std::string_view user) const {
  auto it = users_.find(user);
  return it == users_.end() ? 0 : it->second;
}

int RunningLimits::running_of_pgrp(JobId pgrp) const {
  auto it = pgrps_.find(pgrp);
  return it == pgrps_.end() ? 0 : it->second;
}

bool RunningLimits::user_may_start(std::string_view user) const {
  const int cap = user_limit(user);
  return cap <= 0 || running_of_user(user) < cap;
}

bool RunningLimits::pgrp_may_start(JobId pgrp) const {
  return config_.per_pgrp <= 0 || running_of_pgrp(pgrp) < config_.per_pgrp;
}

void RunningLimits::started(std::string_view user, JobId pgrp) {
  auto it = users_.find(user);
  if (it == users_.end()) it = users_.emplace(std::string(user), 0).first;
  ++it->second;
  ++pgrps_[pgrp];
}

void RunningLimits::ended(std::string_view user, JobId pgrp) {
  if (auto it = users_.find(user); it != users_.end() && --it->second <= 0) users_.erase(it);
  if (auto it = pgrps_.find(pgrp); it != pgrps_.end() && --it->second <= 0) pgrps_.erase(it);
}

std::string RunningLimits::describe(std::string_view user, JobId pgrp) const {
  if (!user_may_start(user))
    return "user " + std::string(user) + " is at the limit of " + std::to_string(user_limit(user)) + " running instances";
  if (!pgrp_may_start(pgrp))
    return "process group " + std::to_string(pgrp) + " is at the limit of " + std::to_string(config_.per_pgrp) +
           " running instances";
  return {};
}

}  // namespace qube::placement
