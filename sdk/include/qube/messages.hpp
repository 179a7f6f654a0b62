#pragma once
// The protocol's messages as structs: one per message between worker and
// supervisor, and one per message on the channel between a worker and its
// instance processes (docs/protocol.md has the wire form of each).
//
// Each struct X has one encoder, `Json to_json(const X&)`, giving the message
// body, and one decoder, `X decode_x(const Json& body)`. Decoding is where
// untrusted input is checked, once: a field of the wrong type or range, a
// missing required field, or a field the message does not have throws
// qube::FormatError naming the message and the field, e.g.
//   "work_result: 'peak_rss_kb' must be a non-negative integer".
// The wire form is the one the daemons have always spoken (same keys, same
// types, the same fields optional), so old and new peers interoperate.
//
// An item's result is one struct from the job type to the supervisor: the
// instance sends a WorkResult, the worker wraps it with the instance it came
// from (WorkResultReport) and forwards it untouched.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "qube/jobtype_interface.hpp"
#include "qube/model.hpp"
#include "qube/process.hpp"
#include "qube/protocol.hpp"

namespace qube::proto {

// The instance a worker <-> supervisor message is about: {job, subid}.
struct InstanceRef {
  JobId job = 0;
  std::int32_t subid = 0;
  bool operator==(const InstanceRef&) const = default;
};

// ---- what an instance reports, on its channel and (wrapped) to the supervisor

// The result of one item (or of the one run of a job without agenda).
struct WorkResult {
  std::int64_t index = -1;     // the agenda item; -1 for the run of a job without agenda
  std::uint64_t attempt = 0;   // the attempt id it was given in `work`
  double walltime = 0;         // seconds, measured by the instance around the run
  qube::WorkResult outcome;    // what the job type reported (status complete or failed)
};

// Output of a running instance.
struct LogOutput {
  Stream stream = Stream::out;
  std::string data;  // bytes; `bin` on the wire (a string is accepted)
};

// ---- worker -> supervisor

// An instance a worker still runs when it registers (again): a supervisor that
// took over, or restarted, adopts it instead of running its work again.
struct RunningReport {
  InstanceRef instance;
  std::int64_t index = -1;   // the item it was last given (-1: none)
  std::uint64_t attempt = 0; // that item's attempt id
  bool operator==(const RunningReport&) const = default;
};

struct Register {  // register: the host's facts
  static constexpr const char* kType = kRegister;
  Host host;                      // the supervisor uses name, slots, memory_mb, jobtypes
  Json facts = Json::object();    // placement facts (worker.yaml and detection); optional
  std::vector<RunningReport> running;  // optional: left out when none
};

struct Heartbeat {
  static constexpr const char* kType = kHeartbeat;
  std::string name;
  std::uint64_t instances = 0;
  bool ack = false;  // ask for a heartbeat_ack; sent only when true
};

struct WorkerStopping {
  static constexpr const char* kType = kWorkerStopping;
  bool finishing = false;  // true: draining, its items run to the end; false: gone
};

struct WorkRequest {
  static constexpr const char* kType = kWorkRequest;
  InstanceRef instance;
  // The instance is running an item: its next one is asked for now, and the
  // worker keeps it until the instance asks (docs/protocol.md, "Items asked for
  // ahead"). Sent only when true.
  bool ahead = false;
};

struct WorkResultReport {  // work_result: {job, subid} and the WorkResult's fields
  static constexpr const char* kType = kWorkResult;
  InstanceRef instance;
  WorkResult result;
  // And a request made ahead (WorkRequest::ahead) for the instance, in the same
  // message: its held item starts with this result, and the one after is asked
  // for. Sent only when true.
  bool ahead = false;
};

struct LogReport {  // log: {job, subid} and the LogOutput's fields, offset?
  static constexpr const char* kType = kLog;
  InstanceRef instance;
  LogOutput log;
  // Where `log.data` begins in the instance's stream: the bytes of it sent before.
  // A worker sends output again when it cannot know it was taken (a supervisor
  // restart, docs/daemons.md); the supervisor skips what it has.
  std::optional<std::uint64_t> offset;
};

struct InstanceDone {
  static constexpr const char* kType = kInstanceDone;
  InstanceRef instance;
  JobStatus status = JobStatus::failed;  // complete, failed or killed
  std::string reason;
  std::optional<int> exitcode;  // when the instance process exited (not signalled)
  // This host will never run this job (its user does not exist here, root jobs
  // are not allowed here ...): the supervisor does not place it here again.
  bool refused = false;
};

// ---- supervisor -> worker

struct Registered {
  static constexpr const char* kType = kRegistered;
  double heartbeat_interval = 2.0;
  std::string client_endpoint;
};

struct Reregister {  // {}: the supervisor does not know this worker
  static constexpr const char* kType = kReregister;
};

struct NotActive {  // a standby's answer to whatever a worker sends
  static constexpr const char* kType = kNotActive;
  std::string active;  // the active supervisor's worker endpoint; empty: unknown
};

struct HeartbeatAck {  // {}
  static constexpr const char* kType = kHeartbeatAck;
};

// Also the first message on an instance's channel, then with job.supervisor
// and job.host set (the supervisor leaves them out).
// The job's worker-side hooks, each one shell command (docs/usage.md "Hooks"):
// the instance runs them, not the job type. Sent only when there are some.
struct InstanceHooks {
  std::vector<std::string> preflights;          // as the instance starts
  std::vector<std::string> postflights;         // after its last item
  std::vector<std::string> agenda_preflights;   // before each item
  std::vector<std::string> agenda_postflights;  // after each item
  bool empty() const {
    return preflights.empty() && postflights.empty() && agenda_preflights.empty() && agenda_postflights.empty();
  }
  bool operator==(const InstanceHooks&) const = default;
};

struct StartInstance {
  static constexpr const char* kType = kStartInstance;
  JobInfo job;
  InstanceHooks hooks;  // {hooks: {preflights, postflights, agenda_preflights, agenda_postflights}}, if any
};

// An item handed to an instance.
struct Assignment {
  std::int64_t index = -1;  // -1: the one run of a job without agenda
  std::string item;
  std::uint64_t attempt = 0;
  bool operator==(const Assignment&) const = default;
};

struct Work {
  static constexpr const char* kType = kWork;
  InstanceRef instance;
  std::optional<Assignment> assignment;  // none: done, the instance ends
  // The answer to a request made ahead: the item is held for the instance, and
  // none only means that nothing is held (it asks again when it finishes).
  // Sent only when true.
  bool ahead = false;
};

struct KillInstance {
  static constexpr const char* kType = kKillInstance;
  InstanceRef instance;
};

struct SuspendInstance {
  static constexpr const char* kType = kSuspendInstance;
  InstanceRef instance;
  bool suspend = true;  // false: resume
};

// The item held ahead for an instance (Work::ahead), taken back: the supervisor
// asks with Revoke when the instance's current item runs long and nothing else
// of the job is pending; the worker answers Revoked if it still held the item.
struct HeldItem {
  InstanceRef instance;
  std::int64_t index = 0;
  std::uint64_t attempt = 0;
  bool operator==(const HeldItem&) const = default;
};
struct Revoke : HeldItem {
  static constexpr const char* kType = kRevoke;
};
struct Revoked : HeldItem {
  static constexpr const char* kType = kRevoked;
};

// ---- the channel between a worker and one instance process. Each message but
// the first (StartInstance) is tagged by its field `t`.

// Worker -> instance, the answer to each ItemRequest: {t: "work", index, item,
// attempt} or {t: "done"}.
struct WorkReply {
  std::optional<Assignment> assignment;
};

// Instance -> worker.
struct ItemRequest {};  // {t: "request"}
struct Fatal {          // {t: "fatal", reason}: sent before exiting on an error
  std::string reason;
};
// {t: "log", ...LogOutput} and {t: "result", ...WorkResult} complete the set.
using FromInstance = std::variant<ItemRequest, LogOutput, WorkResult, Fatal>;

// ---- encoders: the message body

Json to_json(const Register& m);
Json to_json(const Heartbeat& m);
Json to_json(const WorkerStopping& m);
Json to_json(const WorkRequest& m);
Json to_json(const WorkResultReport& m);
Json to_json(const LogReport& m);
Json to_json(const InstanceDone& m);
Json to_json(const Registered& m);
Json to_json(const Reregister& m);
Json to_json(const NotActive& m);
Json to_json(const HeartbeatAck& m);
Json to_json(const StartInstance& m);
Json to_json(const Work& m);
Json to_json(const KillInstance& m);
Json to_json(const SuspendInstance& m);
Json to_json(const HeldItem& m);  // Revoke and Revoked
// Channel messages, with their `t`.
Json to_json(const WorkReply& m);
Json to_json(const FromInstance& m);

// A whole message, for a struct with a kType: header type, id, body.
template <class M>
Message make_message(const M& m, std::uint64_t id = 0) {
  return Message{M::kType, id, to_json(m)};
}

// ---- decoders: throw FormatError naming the message and the field

Register decode_register(const Json& body);
Heartbeat decode_heartbeat(const Json& body);
WorkerStopping decode_worker_stopping(const Json& body);
WorkRequest decode_work_request(const Json& body);
WorkResultReport decode_work_result(const Json& body);
LogReport decode_log(const Json& body);
InstanceDone decode_instance_done(const Json& body);
Registered decode_registered(const Json& body);
Reregister decode_reregister(const Json& body);
NotActive decode_not_active(const Json& body);
HeartbeatAck decode_heartbeat_ack(const Json& body);
StartInstance decode_start_instance(const Json& body);
Work decode_work(const Json& body);
KillInstance decode_kill_instance(const Json& body);
SuspendInstance decode_suspend_instance(const Json& body);
Revoke decode_revoke(const Json& body);
Revoked decode_revoked(const Json& body);
// Channel messages.
WorkReply decode_work_reply(const Json& body);
FromInstance decode_from_instance(const Json& body);

}  // namespace qube::proto
