#include "agenda_writer.hpp"

#include <algorithm>

#include "farm.hpp"

namespace qube::supervisor {

namespace {
// Rows between looks at the clock: a few milliseconds of work.
constexpr std::size_t kRowsBetweenChecks = 1000;
// Item rows one DELETE removes: a slice of the index, kept short for the same
// reason (2,000 take a few ms here; 20,000 overran the round's slice twice over).
constexpr std::size_t kRowsPerDelete = 2000;
}  // namespace

void AgendaWriter::write(JobId id, bool fresh) {
  Write& w = writes_[id];
  w.next = 0;
  w.fresh = w.fresh || fresh;
}

void AgendaWriter::erase(JobId id, std::size_t items) {
  writes_.erase(id);
  erases_[id] = Erase{0, items};
}

bool AgendaWriter::holds_job_row(JobId id) const {
  const auto it = writes_.find(id);
  return it != writes_.end() && it->second.fresh;
}

std::vector<JobId> AgendaWriter::step(Store& store, const Farm& farm, const Clock& clock, double budget) {
  const double until = clock.steady().seconds + budget;
  const auto out_of_time = [&] { return clock.steady().seconds >= until; };
  std::vector<JobId> stored;
  for (auto it = erases_.begin(); it != erases_.end() && !out_of_time();) {
    Erase& e = it->second;
    while (e.next < e.total && !out_of_time()) {
      store.remove_items(it->first, e.next, e.next + kRowsPerDelete);
      e.next += kRowsPerDelete;
    }
    it = e.next >= e.total ? erases_.erase(it) : std::next(it);
  }
  for (auto it = writes_.begin(); it != writes_.end() && !out_of_time();) {
    const JobState* js = farm.job(it->first);
    if (!js) {  // removed meanwhile: erase() took over
      it = writes_.erase(it);
      continue;
    }
    Write& w = it->second;
    const auto& agenda = js->job.agenda;
    while (w.next < agenda.size() && !out_of_time()) {
      const std::size_t end = std::min(agenda.size(), w.next + kRowsBetweenChecks);
      for (; w.next < end; ++w.next) store.put_item(it->first, w.next, agenda[w.next]);
    }
    if (w.next < agenda.size()) break;  // out of time
    if (w.fresh) {
      store.put_job(js->job);
      stored.push_back(it->first);
    }
    it = writes_.erase(it);
  }
  return stored;
}

}  // namespace qube::supervisor
