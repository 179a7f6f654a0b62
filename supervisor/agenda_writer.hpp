#pragma once
// Stores big agendas a slice per round. Submitting, killing or removing a job of
// a million items changes a million rows; written in one round they held the
// event loop for seconds, workers missed heartbeats and were marked down (issue
// 15). Here each round writes what fits in a time budget, inside the round's own
// transaction, and the request's reply waits until its job is done (Server).
#include <cstddef>
#include <map>
#include <vector>

#include "qube/clock.hpp"
#include "qube/model.hpp"
#include "store/store.hpp"

namespace qube::supervisor {

class Farm;

class AgendaWriter {
 public:
  // Writes the job's whole agenda, from its first item (again, if a write of it
  // was under way: the items changed since). `fresh`: a job just submitted,
  // whose job row is written after its last item row.
  void write(JobId id, bool fresh);
  // The job was removed (its other rows already deleted): deletes its `items`
  // item rows, and forgets any write of it.
  void erase(JobId id, std::size_t items);

  bool busy() const { return !writes_.empty() || !erases_.empty(); }
  // Something of the job is still to be written or deleted: a reply about it waits.
  bool holds(JobId id) const { return writes_.count(id) > 0 || erases_.count(id) > 0; }
  // A fresh job's row is written by the writer, with its last item.
  bool holds_job_row(JobId id) const;

  // Writes and deletes, in the store's open transaction, until `budget` seconds
  // have passed; returns the fresh jobs whose agenda and job row are now written.
  std::vector<JobId> step(Store& store, const Farm& farm, const Clock& clock, double budget);

 private:
  struct Write {
    std::size_t next = 0;
    bool fresh = false;
  };
  struct Erase {
    std::size_t next = 0, total = 0;
  };
  std::map<JobId, Write> writes_;
  std::map<JobId, Erase> erases_;
};

}  // namespace qube::supervisor
