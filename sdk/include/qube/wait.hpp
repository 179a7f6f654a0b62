#pragma once
// Waiting for jobs to finish, with a progress display: a bar on a terminal,
// a plain line per change otherwise. Used by `qb wait` and `qbsub --waiton`.
#include <chrono>
#include <ostream>
#include <vector>

#include "qube/client.hpp"

namespace qube {

struct WaitOptions {
  bool progress_bar = false;                 // redraw one line (a terminal)
  bool quiet = false;                        // print nothing
  std::chrono::milliseconds poll{200};       // how often to ask the supervisor
  std::chrono::milliseconds timeout{0};      // 0: wait forever
};

// Returns true when every job completed, false when any failed or was killed.
// Throws ClientError if the supervisor cannot be reached or the timeout passes.
bool wait_for_jobs(Client& client, const std::vector<JobId>& ids, std::ostream& out,
                   const WaitOptions& options);

}  // namespace qube
