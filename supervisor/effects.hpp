#pragma once
// What a round of the Farm's transitions leaves for the server to carry out, as
// one value: rows to store, messages to workers, events for the history and the
// callbacks, scripts to run. The Farm never touches a socket or the store; the
// server commits the rows, then records the events, starts the scripts and
// sends the messages, so nothing is acted on before it is durable.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client_requests.hpp"
#include "farm_state.hpp"
#include "qube/protocol.hpp"

namespace qube::supervisor {

// A message to the worker at `routing_id`.
struct Outgoing {
  std::string routing_id;
  proto::Message msg;
};

struct Effects {
  // Rows to store.
  std::set<JobId> dirty_jobs;
  std::set<std::pair<JobId, std::size_t>> dirty_items;
  std::set<std::pair<JobId, std::int32_t>> dirty_instances;
  std::set<JobId> removed_jobs;  // rows to delete, then their logs and history
  bool settings_changed = false;  // the admin's farm settings (Farm::farm_settings)
  std::vector<SubmissionRecord> submissions;  // tokens of new submissions, with their jobs
  // What happened, for the history and the callbacks (after the rows).
  std::vector<FarmEvent> events;
  std::vector<ScriptRun> script_runs;
  // Messages to workers.
  std::vector<Outgoing> outbox;

  bool rows_to_store() const {
    return !dirty_jobs.empty() || !dirty_items.empty() || !dirty_instances.empty() || !removed_jobs.empty() ||
           !events.empty() || settings_changed ||
           !submissions.empty();
  }
  // The `work` messages, taken out of the outbox: they may go before the commit
  // (Server::send_work says why); everything else waits for it.
  std::vector<Outgoing> take_work() {
    std::vector<Outgoing> work, rest;
    for (auto& out : outbox) (out.msg.type == proto::kWork ? work : rest).push_back(std::move(out));
    outbox = std::move(rest);
    return work;
  }
};

}  // namespace qube::supervisor
