#pragma once
// Each job's history: the events the Farm records (submitted, started on a host,
// item failed, modified by whom, callback ran ...), kept in their own SQLite file
// beside the store so that history never slows the jobs' group commits, and
// appended in one transaction per round of the event loop.
#include <memory>
#include <string>
#include <vector>

#include "qube/model.hpp"

namespace qube::supervisor {

struct FarmEvent;

class EventLog {
 public:
  virtual ~EventLog() = default;
  virtual void append(const std::vector<FarmEvent>& events) = 0;
  // The job's events, oldest first; at most the last `limit`.
  virtual Json read(JobId job, std::size_t limit) = 0;
  virtual void remove(JobId job) = 0;
};

std::unique_ptr<EventLog> open_event_log(const std::string& path);

}  // namespace qube::supervisor
