#pragma once
// What a round of the Farm's transitions leaves for the server to carry out, as
// one value: rows to store, messages to workers, events for the history and the
// callbacks, scripts to run. The Farm never touches a socket or the store; the
// server commits the rows, then records the events, starts the scripts and
// sends the messages, so nothing is acted on before it is durable.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client_requests.hpp"
#include "farm_state.hpp"
#include "qube/protocol.hpp"

namespace qube::supervisor {

// Item rows one round writes at most for one job (Farm::mark_item): about 20 ms
// of SQLite. Past it a job's agenda is written whole, a slice per round
// (AgendaWriter), so that no request holds the loop (issue 15: 50 ms).
inline constexpr std::size_t kRowsPerRound = 20000;

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
  // Jobs whose items changed status but whose own row did not: their progress,
  // and so their summaries, moved (the store counts progress from the items).
  std::set<JobId> progressed_jobs;
  std::set<JobId> removed_jobs;  // rows to delete, then their logs and history
  // Jobs whose whole agenda is to be stored, a slice per round (AgendaWriter): a
  // change to more items than one round should write, such as submitting or
  // killing a job of a million items. Of those, `fresh_agendas` were just
  // submitted: their job row waits for their last item row, so that a crash
  // midway leaves no job with half an agenda.
  std::set<JobId> whole_agendas, fresh_agendas;
  // Removed jobs whose item rows are deleted a slice per round: id -> agenda size.
  std::map<JobId, std::size_t> removed_agendas;
  // Items marked this round, by job: past kRowsPerRound a job's agenda is stored whole.
  std::map<JobId, std::size_t> item_marks;
  bool settings_changed = false;  // the admin's farm settings (Farm::farm_settings)
  std::vector<SubmissionRecord> submissions;  // tokens of new submissions, with their jobs
  // What happened, for the history and the callbacks (after the rows).
  std::vector<FarmEvent> events;
  std::vector<ScriptRun> script_runs;
  // Messages to workers.
  std::vector<Outgoing> outbox;

  bool rows_to_store() const {
    return !dirty_jobs.empty() || !dirty_items.empty() || !dirty_instances.empty() || !removed_jobs.empty() ||
           !events.empty() || settings_changed || !submissions.empty() || !whole_agendas.empty();
  }
  // A later round's effects after these: while the store cannot write, each
  // round's wait with the earlier ones (StoreOutage). Rows are written from the
  // farm's current state, so a row dirty in both rounds is written once.
  void absorb(Effects&& later) {
    dirty_jobs.merge(later.dirty_jobs);
    dirty_items.merge(later.dirty_items);
    dirty_instances.merge(later.dirty_instances);
    removed_jobs.merge(later.removed_jobs);
    whole_agendas.merge(later.whole_agendas);
    fresh_agendas.merge(later.fresh_agendas);
    removed_agendas.merge(later.removed_agendas);
    settings_changed = settings_changed || later.settings_changed;
    std::move(later.submissions.begin(), later.submissions.end(), std::back_inserter(submissions));
    std::move(later.events.begin(), later.events.end(), std::back_inserter(events));
    std::move(later.script_runs.begin(), later.script_runs.end(), std::back_inserter(script_runs));
    std::move(later.outbox.begin(), later.outbox.end(), std::back_inserter(outbox));
  }
  // Messages that only keep a worker's session (registered, heartbeat_ack):
  // they acknowledge nothing stored, so they go out even while the store cannot write.
  std::vector<Outgoing> take_session() {
    std::vector<Outgoing> session, rest;
    for (auto& out : outbox)
      (out.msg.type == proto::kRegistered || out.msg.type == proto::kHeartbeatAck ? session : rest)
          .push_back(std::move(out));
    outbox = std::move(rest);
    return session;
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
