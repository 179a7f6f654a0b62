#pragma once
// Client requests other than steering (steering.hpp), decoded once at the edge
// into values the Farm acts on: a submission, and the admin's host and
// resource changes. Decoding checks shapes and types and throws naming the
// field; what a request may do (who may submit for whom, which host exists) is
// the Farm's to decide.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qube/json.hpp"
#include "qube/model.hpp"

namespace qube::supervisor {

// submit: {jobs: [JobSpec + pid? + parent_label?], user, token?}
struct Submission {
  struct Entry {
    JobSpec spec;
    JobId pid = 0;             // the parent: an existing job ...
    std::string parent_label;  // ... or a job of this submission
    JobId pgrp = 0;            // an existing process group to join (qbsub --pgrp); 0: none
  };
  std::vector<Entry> jobs;
  std::string submitter;  // who submits (may differ from each spec's user for admins)
  // Names this submission for its client (qbsub makes one up): sent again by the
  // same submitter, it gets the jobs already made instead of new ones. Empty: none.
  std::string token;
  // Agendas built ahead, off the event loop (AgendaBuilds), by index of `jobs`;
  // a job without one gets its agenda built by Farm::submit.
  std::vector<std::optional<std::vector<AgendaItem>>> agendas;
};
// Throws for a token that is not 1 to 128 printable characters without spaces.
Submission submission_from_json(const Json& body);

// The jobs one submission made, under its submitter's token: kept with the jobs
// (Store::put_submission) so that a resent submission is recognised after a restart.
struct SubmissionRecord {
  std::string user, token;
  std::vector<JobId> ids;
};

// lock / unlock: {hosts, purge?, user}
struct HostLock {
  std::vector<std::string> hosts;
  bool purge = false;  // lock only: stop what runs there
  bool drain = false;  // lock only: running items finish, their instances take no other
  std::string who;
};
HostLock host_lock_from_json(const Json& body);

// host_set: {host, set: {groups, cluster, restrictions, properties, resources}, user}
struct HostChange {
  std::string host;
  Json set = Json::object();  // host facts in their wire form: placement reads them
  std::string who;
};
HostChange host_change_from_json(const Json& body);

// resource_set: {name, total, user}
struct ResourceTotal {
  std::string name;
  std::int64_t total = -1;
  std::string who;
};
ResourceTotal resource_total_from_json(const Json& body);

}  // namespace qube::supervisor
