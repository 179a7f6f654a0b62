#pragma once
// Caps on running instances per user and per process group (Qube's
// supervisor_default_user_subjob_limit and its per-pgrp sibling), from the
// supervisor's config. 0 means no cap; a user may have a cap of their own.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "qube/model.hpp"

namespace qube::placement {

struct LimitConfig {
  int per_user = 0;
  int per_pgrp = 0;
  std::map<std::string, int, std::less<>> users;  // overrides per_user for these users
};

class RunningLimits {
 public:
  explicit RunningLimits(LimitConfig c = {}) : config_(std::move(c)) {}
  void configure(LimitConfig c) { config_ = std::move(c); }

  bool user_may_start(std::string_view user) const;
  bool pgrp_may_start(JobId pgrp) const;
  void started(std::string_view user, JobId pgrp);
  void ended(std::string_view user, JobId pgrp);

  int user_limit(std::string_view user) const;
  int running_of_user(std::string_view user) const;
  int running_of_pgrp(JobId pgrp) const;
  // "user alice is at her limit of 50 running instances", or empty.
  std::string describe(std::string_view user, JobId pgrp) const;

 private:
  LimitConfig config_;
  std::map<std::string, int, std::less<>> users_;
  std::unordered_map<JobId, int> pgrps_;
};

}  // namespace qube::placement
