#include "log_backlog.hpp"

#include <algorithm>

namespace qube::worker {

bool LogBacklog::merges(const Entry& last, const proto::LogReport& report) const {
  const proto::LogReport& r = last.report;
  return unsent_ > 0 && r.instance == report.instance && r.log.stream == report.log.stream && r.offset &&
         report.offset && *r.offset + r.log.data.size() == *report.offset &&
         r.log.data.size() + report.log.data.size() <= kMergeUpTo;
}

void LogBacklog::add(proto::LogReport report) {
  if (!entries_.empty() && merges(entries_.back(), report)) {
    bytes_ += report.log.data.size();
    entries_.back().report.log.data += report.log.data;
  } else {
    entries_.push_back(Entry{0, std::move(report)});
    bytes_ += cost(entries_.back());
    ++unsent_;
  }
  while (bytes_ > max_bytes_ && entries_.size() > 1) {
    if (!entries_.front().id) dropped_bytes_ += entries_.front().report.log.data.size();
    forget_front();
  }
}

void LogBacklog::forget_front() {
  const Entry& e = entries_.front();
  bytes_ -= cost(e);
  --(e.id ? in_flight_ : unsent_);
  entries_.pop_front();
}

const proto::LogReport* LogBacklog::next_to_send() const {
  if (!unsent_ || in_flight_ >= kInFlightAtMost) return nullptr;
  return &entries_[entries_.size() - unsent_].report;
}

void LogBacklog::sent_next(std::uint64_t id) {
  if (!unsent_ || !id) return;
  entries_[entries_.size() - unsent_].id = id;
  --unsent_;
  ++in_flight_;
}

void LogBacklog::taken_before(std::uint64_t id) {
  // The sent are the front, ids rising.
  while (!entries_.empty() && entries_.front().id && entries_.front().id < id) forget_front();
}

void LogBacklog::send_all_again() {
  for (Entry& e : entries_) e.id = 0;
  unsent_ = entries_.size();
  in_flight_ = 0;
}

}  // namespace qube::worker
