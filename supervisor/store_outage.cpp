#include "store_outage.hpp"

#include <spdlog/spdlog.h>

namespace qube::supervisor {

bool StoreOutage::failed(double now, const std::string& why) {
  next_try_ = now + retry_every_;
  ++failures_;
  if (since_) return false;
  since_ = now;
  why_ = why;
  spdlog::critical("STORE CANNOT WRITE ({}). Is the disk under {} full? Until it can: new submissions and other "
                   "changes are refused, results are held in memory (not acknowledged), no new instance starts; "
                   "retrying every {:.0f} s",
                   why, where_, retry_every_);
  return true;
}

void StoreOutage::recovered(double now) {
  if (!since_) return;
  spdlog::warn("store writes again after {:.1f} s ({} failed attempt(s)); what was held is stored, changes accepted",
               now - *since_, failures_);
  since_.reset();
  failures_ = 0;
  why_.clear();
}

std::string StoreOutage::refusal() const {
  return "refused: the supervisor cannot write its store (" + why_ + "; a full disk under " + where_ +
         ", or its database away?); nothing was changed. Try again once it takes writes again.";
}

}  // namespace qube::supervisor
