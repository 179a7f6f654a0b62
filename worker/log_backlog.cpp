#include "log_backlog.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace qube::worker {

void LogBacklog::add(proto::LogReport report) {
  bytes_ += report.log.data.size();
  entries_.push_back(Entry{0, false, std::move(report)});
  ++unsent_;
  while (bytes_ > max_bytes_ && entries_.size() > 1) {
    dropped_bytes_ += entries_.front().report.log.data.size();
    forget_front();
  }
}

void LogBacklog::forget_front() {
  const Entry& e = entries_.front();
  bytes_ -= e.report.log.data.size();
  if (sent_unrefused(e)) --sent_unacked_;
  if (!e.id) --unsent_;
  entries_.pop_front();
}

const proto::LogReport* LogBacklog::next_to_send() const {
  return unsent_ ? &entries_[entries_.size() - unsent_].report : nullptr;
}

void LogBacklog::sent_next(std::uint64_t id) {
  if (!unsent_ || !id) return;
  entries_[entries_.size() - unsent_].id = id;
  --unsent_;
  ++sent_unacked_;
}

void LogBacklog::refused(std::uint64_t id) {
  if (!id) return;
  const auto it = std::find_if(entries_.begin(), entries_.end(), [id](const Entry& e) { return e.id == id; });
  if (it == entries_.end() || it->refused) return;
  it->refused = true;
  --sent_unacked_;
}

void LogBacklog::taken_before(std::uint64_t id) {
  const auto taken = [this, id](const Entry& e) { return sent_unrefused(e) && e.id < id; };
  for (const Entry& e : entries_)
    if (taken(e)) {
      bytes_ -= e.report.log.data.size();
      --sent_unacked_;
    }
  std::erase_if(entries_, taken);
}

void LogBacklog::all_refused() {
  for (Entry& e : entries_)
    if (sent_unrefused(e)) e.refused = true;
  sent_unacked_ = 0;
}

void LogBacklog::registered() {
  taken_before(std::numeric_limits<std::uint64_t>::max());
  for (Entry& e : entries_) e = Entry{0, false, std::move(e.report)};
  unsent_ = entries_.size();
}

}  // namespace qube::worker
