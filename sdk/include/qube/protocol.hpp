#pragma once
// Messages between clients, supervisor and workers. On the wire each message is
// two ZeroMQ frames (after the routing id on a ROUTER): a header {v, type, id} and
// a body, both MessagePack maps. The header's `v` is kProtocolVersion.
#include <cstdint>
#include <string>
#include <string_view>

#include "qube/json.hpp"

namespace qube::proto {

struct Message {
  std::string type;
  std::uint64_t id = 0;  // correlates a reply with its request
  Json body = Json::object();
};

struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string encode_header(const Message& m);
// Decodes header and body frames; throws ProtocolError on a bad version, type or shape.
Message decode(std::string_view header, std::string_view body);
// The header alone (type and id; body left empty), for a reader that decodes the
// body its own way.
Message decode_header(std::string_view header);
// The body frame into `m.body` (an object); throws ProtocolError.
void decode_body(Message& m, std::string_view body);

// A reply: {ok: true, ...fields} or {ok: false, error: "..."}.
Message reply_ok(const Message& request, Json fields = Json::object());
Message reply_error(const Message& request, const std::string& error);
inline constexpr const char* kReply = "reply";

// Client -> supervisor requests (docs/protocol.md has every field). Verbs that
// act on jobs take `ids` and/or `filter` {user, name (glob), status, pgrp}, and
// `user`: who asks (only the job's owner or an admin may steer it).
inline constexpr const char* kSubmit = "submit";   // {jobs:[JobSpec]} -> {ids, warnings}
inline constexpr const char* kJobs = "jobs";       // {ids?, user?, status?} -> {jobs:[job summary]}
inline constexpr const char* kShow = "show";       // {id} -> {job}
inline constexpr const char* kHosts = "hosts";     // {} -> {hosts:[Host]}
inline constexpr const char* kKill = "kill";       // {ids, user} -> {killed, errors}
inline constexpr const char* kBlock = "block";     // {ids, user} -> {blocked, errors}
inline constexpr const char* kUnblock = "unblock"; // {ids, user} -> {unblocked, errors}
inline constexpr const char* kRetry = "retry";     // {ids, work?, user} -> {retried:[{id, items}], errors}
inline constexpr const char* kInterrupt = "interrupt";  // {ids, user} -> {interrupted, errors}
inline constexpr const char* kComplete = "complete";    // {ids, work?, user} -> {completed:[{id, items}], errors}
inline constexpr const char* kRemove = "remove";        // {ids, user} -> {removed, errors}
inline constexpr const char* kSuspend = "suspend";      // {ids|filter, user} -> {suspended, errors}
inline constexpr const char* kResume = "resume";        // {ids|filter, user} -> {resumed, errors}
inline constexpr const char* kModify = "modify";        // {ids|filter, user, set:{field: value}} -> {modified, errors}
inline constexpr const char* kTop = "top";              // {ids|filter, user} -> {moved, errors}
inline constexpr const char* kBottom = "bottom";        // {ids|filter, user} -> {moved, errors}
inline constexpr const char* kRequeue = "requeue";      // {ids|filter, work?, user} -> {requeued:[{id, items}], errors}
inline constexpr const char* kAppend = "append";        // {ids|filter, user, range?, chunk?, agenda?} -> {appended, errors}
inline constexpr const char* kSatisfy = "satisfy";      // {ids|filter, user} -> {satisfied, errors}
inline constexpr const char* kHistory = "history";      // {id, limit?} -> {events:[{time, event, type, text, ...}]}
inline constexpr const char* kOutput = "output";   // {id, subid?, stream, offset?} -> {parts:[{subid, size, data}], status}
inline constexpr const char* kLock = "lock";            // {hosts, purge?, user} -> {locked, errors}
inline constexpr const char* kUnlock = "unlock";        // {hosts, user} -> {unlocked, errors}
inline constexpr const char* kHostSet = "host_set";     // {host, set:{groups, properties, resources, ...}, user} -> {host}
inline constexpr const char* kResources = "resources";  // {} -> {resources:[{name, total, used}]}
inline constexpr const char* kKeys = "keys";              // {} -> {keys:[{name, kind, key}], required}
inline constexpr const char* kKeyAdd = "key_add";         // {name, key, worker, user} -> {name, kind, key}
inline constexpr const char* kKeyRevoke = "key_revoke";   // {name, worker, user} -> {name, kind, key}
// HTTP API tokens (docs/http-api.md): `name` defaults to the asker; only admins
// issue or revoke other users' tokens. The token is shown once, and only its hash kept.
inline constexpr const char* kTokenIssue = "token_issue";    // {name?, user} -> {name, token}
inline constexpr const char* kTokenRevoke = "token_revoke";  // {name?, user} -> {name, revoked}
inline constexpr const char* kResourceSet = "resource_set";  // {name, total, user} -> {resource}
// Which supervisor is active, its epoch, the store and the standbys (qb admin
// status; docs/high-availability.md). A standby answers it too.
inline constexpr const char* kSupervisorStatus = "supervisor_status";  // {} -> {active, epoch, store, standbys, ...}
inline constexpr const char* kPing = "ping";       // {} -> {version, protocol, time}
// Stored rows the supervisor could not load, moved aside (admins only when keys are on).
inline constexpr const char* kQuarantine = "quarantine";  // {user} -> {rows:[{table, key, raw, reason, time}]}
inline constexpr const char* kMetrics = "metrics";  // {} -> {text}: Prometheus exposition (GET /metrics)

// Worker <-> supervisor: each body below is a struct in qube/messages.hpp, with
// its encoder (to_json) and checking decoder (decode_<type>).
// Worker -> supervisor.
inline constexpr const char* kRegister = "register";    // Host facts {name, slots, memory_mb, jobtypes}
inline constexpr const char* kHeartbeat = "heartbeat";  // {name, instances, ack?}
inline constexpr const char* kWorkRequest = "work_request";  // {job, subid, ahead?}
inline constexpr const char* kWorkResult = "work_result";    // {job, subid, index, attempt, status, exitcode,
                                                             //  signal, walltime, cputime, peak_rss_kb, reason,
                                                             //  resultpackage, ahead?}
inline constexpr const char* kLog = "log";                   // {job, subid, stream, data}
inline constexpr const char* kInstanceDone = "instance_done";  // {job, subid, status, exitcode?, reason}
// The item held ahead for an instance, given back on `revoke`: it will not run there.
inline constexpr const char* kRevoked = "revoked";  // {job, subid, index, attempt}
// The worker is stopping (SIGTERM): finishing: true, it lets its running items
// finish and takes nothing new; false, it is gone and its running items go back
// to pending at once (docs/daemons.md, "Stopping a worker").
inline constexpr const char* kWorkerStopping = "worker_stopping";  // {finishing}

// Supervisor -> worker.
inline constexpr const char* kRegistered = "registered";  // {heartbeat_interval, client_endpoint}
inline constexpr const char* kReregister = "reregister";  // the supervisor does not know this peer
// A standby supervisor (docs/high-availability.md): it serves nothing; the
// active one's endpoint, as the lease names it, is `active` (empty: unknown yet).
// To a client it is the reply's type, with {ok: false, error, active}.
inline constexpr const char* kNotActive = "not_active";  // {active}
// How long the active supervisor's lease lasts unless renewed: how long a standby
// waits before it takes over, and so how long a worker sent back by a standby to
// a supervisor it left for silence stays on the standby (twice this).
inline constexpr double kLeaseSeconds = 3.0;
inline constexpr const char* kHeartbeatAck = "heartbeat_ack";  // only to a heartbeat with ack: true
inline constexpr const char* kStartInstance = "start_instance";  // {job: {id, subid, pgrp, name, type, user,
                                                                 //  package, env, padding, cwd},
                                                                 //  hooks?: {preflights, postflights,
                                                                 //  agenda_preflights, agenda_postflights}}
inline constexpr const char* kWork = "work";  // {job, subid, index, item, attempt} or {job, subid, done: true};
                                              // ahead?: true when it answers a request made ahead
inline constexpr const char* kKillInstance = "kill_instance";  // {job, subid}
inline constexpr const char* kSuspendInstance = "suspend_instance";  // {job, subid, suspend: bool}
// Give back the item held ahead for the instance, unless it was handed over
// (docs/protocol.md, "Items asked for ahead"): answered `revoked` if it was.
inline constexpr const char* kRevoke = "revoke";  // {job, subid, index, attempt}

}  // namespace qube::proto
