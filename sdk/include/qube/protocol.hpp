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

// A reply: {ok: true, ...fields} or {ok: false, error: "..."}.
Message reply_ok(const Message& request, Json fields = Json::object());
Message reply_error(const Message& request, const std::string& error);
inline constexpr const char* kReply = "reply";

// Client -> supervisor requests.
inline constexpr const char* kSubmit = "submit";   // {jobs:[JobSpec]} -> {ids:[..], warnings:[..]}
inline constexpr const char* kJobs = "jobs";       // {ids?, user?, status?} -> {jobs:[Job summary]}
inline constexpr const char* kShow = "show";       // {id} -> {job}
inline constexpr const char* kHosts = "hosts";     // {} -> {hosts:[Host]}
inline constexpr const char* kKill = "kill";       // {ids:[..], user} -> {killed:[..]}
inline constexpr const char* kOutput = "output";   // {id, subid?, stream, offset} -> {data, size}
inline constexpr const char* kPing = "ping";       // {} -> {version, time}

// Worker -> supervisor.
inline constexpr const char* kRegister = "register";    // Host facts + {running:[]}
inline constexpr const char* kHeartbeat = "heartbeat";  // {name}
inline constexpr const char* kWorkRequest = "work_request";  // {job, subid}
inline constexpr const char* kWorkResult = "work_result";    // {job, subid, item, attempt, result}
inline constexpr const char* kLog = "log";                   // {job, subid, stream, data}
inline constexpr const char* kInstanceDone = "instance_done";  // {job, subid, status, exitcode, reason}

// Supervisor -> worker.
inline constexpr const char* kRegistered = "registered";  // {heartbeat_interval}
inline constexpr const char* kReregister = "reregister";  // supervisor does not know this peer
inline constexpr const char* kHeartbeatAck = "heartbeat_ack";
inline constexpr const char* kStartInstance = "start_instance";  // {job: JobInfo}
inline constexpr const char* kWork = "work";           // {job, subid, item, attempt} or {job, subid, done: true}
inline constexpr const char* kKillInstance = "kill_instance";  // {job, subid}

}  // namespace qube::proto
