// The protocol's message structs: every message survives the wire (to_json,
// MessagePack and back), keeps the wire form the daemons have always spoken, and
// a bad body is rejected at decoding with the message and the field named.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "qube/codec.hpp"
#include "qube/messages.hpp"

namespace {

using namespace qube::proto;  // proto::WorkResult, not the job type's qube::WorkResult
using qube::FormatError;
using qube::Host;
using qube::JobId;
using qube::JobStatus;
using qube::Json;
using qube::Stream;
using qube::WorkStatus;

// Through MessagePack, as on the wire.
Json wire(const Json& body) { return qube::decode(qube::encode(body)); }

// Decoding the encoded message gives a message that encodes the same.
template <class M, class Decode>
M round_trip(const M& m, Decode decode) {
  const Json body = to_json(m);
  const M back = decode(wire(body));
  EXPECT_EQ(to_json(back), body);
  return back;
}

// The FormatError `decode(body)` throws; fails the test if it throws none.
template <class Decode>
std::string rejection(Decode decode, const Json& body) {
  try {
    decode(wire(body));
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << body.dump();
  return {};
}

WorkResult sample_result() {
  WorkResult r;
  r.index = 7;
  r.attempt = 3;
  r.walltime = 1.5;
  r.outcome.status = WorkStatus::failed;
  r.outcome.exitcode = 2;
  r.outcome.signal = 9;
  r.outcome.cputime = 1.25;
  r.outcome.peak_rss_kb = 2048;
  r.outcome.reason = "exit code 2";
  r.outcome.resultpackage = Json{{"outputPaths", "/tmp/a.exr"}};
  return r;
}

Json work_result_body() { return to_json(WorkResultReport{{13, 1}, sample_result()}); }

// ---- round trips -------------------------------------------------------------

TEST(Messages, WorkerToSupervisorRoundTrip) {
  Register reg;
  reg.host.name = "w1";
  reg.host.slots = 4;
  reg.host.memory_mb = 16000;
  reg.host.jobtypes = {"cmdline", "maya"};
  reg.facts = Json{{"groups", {"gpu"}}};
  EXPECT_EQ(round_trip(reg, decode_register).host.jobtypes, reg.host.jobtypes);

  EXPECT_EQ(round_trip(Heartbeat{"w1", 2, false}, decode_heartbeat).instances, 2u);
  EXPECT_TRUE(round_trip(Heartbeat{"w1", 0, true}, decode_heartbeat).ack);
  EXPECT_EQ(round_trip(WorkRequest{{13, 2}}, decode_work_request).instance, (InstanceRef{13, 2}));
  // `ahead` is on the wire only when true: an ordinary request is what it always was.
  EXPECT_FALSE(to_json(WorkRequest{{13, 2}}).contains("ahead"));
  EXPECT_TRUE(round_trip(WorkRequest{{13, 2}, true}, decode_work_request).ahead);

  EXPECT_FALSE(to_json(WorkResultReport{{13, 1}, sample_result()}).contains("ahead"));
  EXPECT_TRUE(round_trip(WorkResultReport{{13, 1}, sample_result(), true}, decode_work_result).ahead);
  const WorkResultReport back = round_trip(WorkResultReport{{13, 1}, sample_result()}, decode_work_result);
  EXPECT_EQ(back.result.outcome.peak_rss_kb, 2048u);
  EXPECT_EQ(back.result.outcome.signal, 9);
  EXPECT_EQ(back.result.outcome.status, WorkStatus::failed);

  const LogReport log = round_trip(LogReport{{13, 0}, LogOutput{Stream::err, std::string("a\0b", 3)}, std::nullopt}, decode_log);
  EXPECT_EQ(log.log.data, std::string("a\0b", 3));
  EXPECT_EQ(log.log.stream, Stream::err);
  EXPECT_FALSE(log.offset);
  EXPECT_EQ(round_trip(LogReport{{13, 0}, LogOutput{Stream::out, "x"}, 4096}, decode_log).offset, 4096u);
  EXPECT_EQ(rejection(decode_log, Json{{"job", 1}, {"subid", 0}, {"stream", "out"}, {"data", "x"}, {"offset", -1}}),
            "log: 'offset' must be a non-negative integer");

  EXPECT_EQ(round_trip(InstanceDone{{13, 0}, JobStatus::killed, "killed", std::nullopt}, decode_instance_done).status,
            JobStatus::killed);
  EXPECT_EQ(round_trip(InstanceDone{{13, 0}, JobStatus::failed, "", 3}, decode_instance_done).exitcode, 3);
}

TEST(Messages, SupervisorToWorkerRoundTrip) {
  EXPECT_EQ(round_trip(Registered{0.5, "tcp://0.0.0.0:50002"}, decode_registered).client_endpoint,
            "tcp://0.0.0.0:50002");
  round_trip(Reregister{}, decode_reregister);
  round_trip(HeartbeatAck{}, decode_heartbeat_ack);

  StartInstance start;
  start.job.id = 13;
  start.job.subid = 1;
  start.job.pgrp = 12;
  start.job.name = "render";
  start.job.type = "cmdline";
  start.job.user = "ann";
  start.job.package = Json{{"cmdline", "echo hi"}};
  start.job.env = {{"QB_JOBSLOTS", "1"}};
  start.job.padding = 4;
  start.job.cwd = "/tmp";
  EXPECT_EQ(round_trip(start, decode_start_instance).job.env, start.job.env);
  start.job.supervisor = "tcp://farm:50002";  // as the worker sends it to the instance
  start.job.host = "w1";
  EXPECT_EQ(round_trip(start, decode_start_instance).job.host, "w1");

  const Work work = round_trip(Work{{13, 1}, Assignment{3, "7-9", 2}}, decode_work);
  EXPECT_EQ(work.assignment, (Assignment{3, "7-9", 2}));
  EXPECT_FALSE(round_trip(Work{{13, 1}, std::nullopt}, decode_work).assignment);
  const Work held = round_trip(Work{{13, 1}, Assignment{4, "10", 1}, true}, decode_work);
  EXPECT_TRUE(held.ahead);
  EXPECT_EQ(held.assignment->index, 4);
  EXPECT_TRUE(round_trip(Work{{13, 1}, std::nullopt, true}, decode_work).ahead);
  round_trip(KillInstance{{13, 1}}, decode_kill_instance);
  EXPECT_FALSE(round_trip(SuspendInstance{{13, 1}, false}, decode_suspend_instance).suspend);
  const HeldItem held_item{{13, 1}, 4, 2};
  EXPECT_EQ(static_cast<const HeldItem&>(round_trip(Revoke{held_item}, decode_revoke)), held_item);
  EXPECT_EQ(static_cast<const HeldItem&>(round_trip(Revoked{held_item}, decode_revoked)), held_item);
  EXPECT_EQ(rejection(decode_revoked, Json{{"job", 1}, {"subid", 0}, {"index", -1}, {"attempt", 1}}),
            "revoked: 'index' must be a non-negative integer");
}

TEST(Messages, ChannelRoundTrip) {
  EXPECT_EQ(round_trip(WorkReply{Assignment{-1, "", 1}}, decode_work_reply).assignment, (Assignment{-1, "", 1}));
  EXPECT_FALSE(round_trip(WorkReply{}, decode_work_reply).assignment);
  EXPECT_TRUE(std::holds_alternative<ItemRequest>(round_trip(FromInstance{ItemRequest{}}, decode_from_instance)));
  EXPECT_EQ(std::get<LogOutput>(round_trip(FromInstance{LogOutput{Stream::out, "hi"}}, decode_from_instance)).data,
            "hi");
  EXPECT_EQ(std::get<WorkResult>(round_trip(FromInstance{sample_result()}, decode_from_instance)).index, 7);
  EXPECT_EQ(std::get<Fatal>(round_trip(FromInstance{Fatal{"no module"}}, decode_from_instance)).reason, "no module");
}

// ---- the wire form is today's ------------------------------------------------

TEST(Messages, WireFormIsUnchanged) {
  EXPECT_EQ(work_result_body(), (Json{{"job", 13},
                                      {"subid", 1},
                                      {"index", 7},
                                      {"attempt", 3},
                                      {"status", "failed"},
                                      {"exitcode", 2},
                                      {"signal", 9},
                                      {"walltime", 1.5},
                                      {"cputime", 1.25},
                                      {"peak_rss_kb", 2048},
                                      {"reason", "exit code 2"},
                                      {"resultpackage", {{"outputPaths", "/tmp/a.exr"}}}}));
  // The channel's result is the same fields with its tag; the worker adds job and subid.
  Json channel = to_json(FromInstance{sample_result()});
  EXPECT_EQ(channel.at("t"), "result");
  channel.erase("t");
  channel["job"] = 13;
  channel["subid"] = 1;
  EXPECT_EQ(channel, work_result_body());

  EXPECT_EQ(to_json(Work{{13, 1}, std::nullopt}), (Json{{"job", 13}, {"subid", 1}, {"done", true}}));
  EXPECT_EQ(to_json(WorkReply{}), (Json{{"t", "done"}}));
  EXPECT_EQ(to_json(Heartbeat{"w1", 2, false}), (Json{{"name", "w1"}, {"instances", 2}}));
  EXPECT_EQ(to_json(InstanceDone{{13, 0}, JobStatus::complete, "", std::nullopt}),
            (Json{{"job", 13}, {"subid", 0}, {"status", "complete"}, {"reason", ""}}));
  EXPECT_FALSE(to_json(StartInstance{}).at("job").contains("supervisor")) << "the supervisor does not send it";
  EXPECT_TRUE(to_json(LogReport{{1, 0}, LogOutput{Stream::out, "x"}, std::nullopt}).at("data").is_binary());
}

// What today's peers send, fields left out included, is accepted.
TEST(Messages, OptionalFieldsMayBeLeftOutOrNull) {
  const auto r = decode_work_result(Json{{"job", 1}, {"subid", 0}, {"index", -1}, {"attempt", 1}, {"status", "complete"},
                                         {"exitcode", nullptr}, {"signal", nullptr}});
  EXPECT_FALSE(r.result.outcome.exitcode);
  EXPECT_EQ(r.result.outcome.resultpackage, Json::object());
  Host host;
  host.name = "w1";
  EXPECT_EQ(decode_register(qube::to_json(host)).facts, Json::object());  // as the simulator registers
  EXPECT_EQ(decode_log(Json{{"job", 1}, {"subid", 0}, {"stream", "out"}, {"data", "text"}}).log.data, "text");
  EXPECT_EQ(decode_start_instance(Json{{"job", {{"id", 1}, {"subid", 0}, {"type", "cmdline"}}}}).job.type, "cmdline");
  EXPECT_EQ(decode_instance_done(Json{{"job", 1}, {"subid", 0}, {"status", "failed"}}).reason, "");
}

// ---- rejections name the message and the field -------------------------------

TEST(Messages, UnknownFieldsAreRejected) {
  Json body = work_result_body();
  body["peak_rss"] = 1;
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: unknown field 'peak_rss'");
  EXPECT_EQ(rejection(decode_reregister, Json{{"x", 1}}), "reregister: unknown field 'x'");
  EXPECT_EQ(rejection(decode_start_instance, Json{{"job", {{"id", 1}, {"subid", 0}, {"type", "t"}, {"ids", 2}}}}),
            "start_instance: unknown field 'job.ids'");
  EXPECT_EQ(rejection(decode_work, Json{{"job", 1}, {"subid", 0}, {"done", true}, {"index", 3}}),
            "work: unknown field 'index'")
      << "done carries no item";
  EXPECT_EQ(rejection(decode_from_instance, Json{{"t", "request"}, {"index", 3}}), "request: unknown field 'index'");
  EXPECT_EQ(rejection(decode_from_instance, Json{{"t", "shout"}}),
            "message from the instance: 't' has unknown value 'shout'");
  EXPECT_EQ(rejection(decode_work_reply, Json{{"t", "result"}}),
            "message to the instance: 't' has unknown value 'result'");
}

TEST(Messages, IllTypedFieldsAreRejected) {
  Json body = work_result_body();
  body["peak_rss_kb"] = -1;
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: 'peak_rss_kb' must be a non-negative integer");
  body = work_result_body();
  body["status"] = "skipped";
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: 'status' must be complete or failed");
  body["status"] = "bogus";
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: 'status' has unknown value 'bogus'");
  body = work_result_body();
  body["walltime"] = "long";
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: 'walltime' must be a number");
  body = work_result_body();
  body["resultpackage"] = Json::array();
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: 'resultpackage' must be a map");
  body = work_result_body();
  body["index"] = -2;
  EXPECT_EQ(rejection(decode_work_result, body),
            "work_result: 'index' must be an integer from -1 to 9223372036854775807");

  EXPECT_EQ(rejection(decode_work_request, Json{{"job", "x"}, {"subid", Json::array()}}),
            "work_request: 'job' must be a non-negative integer");
  EXPECT_EQ(rejection(decode_work_request, Json{{"job", 1}, {"subid", 0}, {"ahead", 1}}),
            "work_request: 'ahead' must be true or false");
  EXPECT_EQ(rejection(decode_work, Json{{"job", 1}, {"subid", 0}, {"done", true}, {"ahead", "yes"}}),
            "work: 'ahead' must be true or false");
  EXPECT_EQ(rejection(decode_kill_instance, Json{{"job", 1}, {"subid", -1}}),
            "kill_instance: 'subid' must be an integer from 0 to 2147483647");
  EXPECT_EQ(rejection(decode_suspend_instance, Json{{"job", 1}, {"subid", 0}, {"suspend", 1}}),
            "suspend_instance: 'suspend' must be true or false");
  EXPECT_EQ(rejection(decode_log, Json{{"job", 1}, {"subid", 0}, {"stream", "out"}, {"data", 5}}),
            "log: 'data' must be bytes");
  EXPECT_EQ(rejection(decode_log, Json{{"job", 1}, {"subid", 0}, {"stream", "both"}}), "log: 'stream' must be out or err");
  EXPECT_EQ(rejection(decode_instance_done, Json{{"job", 1}, {"subid", 0}, {"status", "running"}}),
            "instance_done: 'status' must be complete, failed or killed");
  EXPECT_EQ(rejection(decode_registered, Json{{"heartbeat_interval", "2"}, {"client_endpoint", "tcp://x:1"}}),
            "registered: 'heartbeat_interval' must be a number");
  EXPECT_EQ(rejection(decode_register, Json{{"name", 5}, {"slots", -3}}), "register: 'name' must be a string");
  EXPECT_EQ(rejection(decode_register, Json{{"name", ""}}), "register: 'name' must be 1 to 255 characters");
  EXPECT_EQ(rejection(decode_register, Json{{"name", "w"}, {"slots", -3}}),
            "register: 'slots' must be an integer from 0 to 100000");
  EXPECT_EQ(rejection(decode_register, Json{{"name", "w"}, {"jobtypes", {"a", 1}}}),
            "register: 'jobtypes' must be a list of strings");
  EXPECT_EQ(rejection(decode_heartbeat, Json{{"name", "w"}, {"instances", 1}, {"ack", "yes"}}),
            "heartbeat: 'ack' must be true or false");
  EXPECT_EQ(rejection(decode_start_instance, Json{{"job", {{"id", 1}, {"subid", 0}, {"type", "t"}, {"env", {{"A", 1}}}}}}),
            "start_instance: 'job.env.A' must be a string");
  EXPECT_EQ(rejection(decode_start_instance, Json{{"job", "x"}}), "start_instance: 'job' must be a map");
  EXPECT_EQ(rejection(decode_work, Json::array()), "work: the body must be a map");
}

TEST(Messages, MissingRequiredFieldsAreRejected) {
  for (const char* key : {"job", "subid", "index", "attempt", "status"}) {
    Json body = work_result_body();
    body.erase(key);
    EXPECT_EQ(rejection(decode_work_result, body), std::string("work_result: '") + key + "' is missing");
  }
  Json null_status = work_result_body();
  null_status["status"] = nullptr;
  EXPECT_EQ(rejection(decode_work_result, null_status), "work_result: 'status' is missing");
  EXPECT_EQ(rejection(decode_work, Json{{"job", 1}, {"subid", 0}, {"index", 1}, {"attempt", 1}}),
            "work: 'item' is missing");
  EXPECT_EQ(rejection(decode_start_instance, Json::object()), "start_instance: 'job' is missing");
  EXPECT_EQ(rejection(decode_start_instance, Json{{"job", {{"id", 1}, {"subid", 0}}}}),
            "start_instance: 'job.type' is missing");
  EXPECT_EQ(rejection(decode_registered, Json{{"heartbeat_interval", 1}}), "registered: 'client_endpoint' is missing");
  EXPECT_EQ(rejection(decode_heartbeat, Json{{"name", "w"}}), "heartbeat: 'instances' is missing");
  EXPECT_EQ(rejection(decode_suspend_instance, Json{{"job", 1}, {"subid", 0}}), "suspend_instance: 'suspend' is missing");
  EXPECT_EQ(rejection(decode_log, Json{{"job", 1}, {"subid", 0}}), "log: 'stream' is missing");
  EXPECT_EQ(rejection(decode_from_instance, Json{{"index", 1}}), "message from the instance: 't' is missing");
  EXPECT_EQ(rejection(decode_from_instance, Json{{"t", "result"}, {"index", 1}, {"attempt", 1}}),
            "result: 'status' is missing");
}

// ---- hostile sizes -----------------------------------------------------------

TEST(Messages, HostileSizesAreRejectedOrKept) {
  Json body = work_result_body();
  body["exitcode"] = std::int64_t{1} << 40;
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: 'exitcode' must be a 32-bit integer");
  body = work_result_body();
  body["subid"] = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: 'subid' must be an integer from 0 to 2147483647");
  body = work_result_body();
  body["index"] = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(rejection(decode_work_result, body),
            "work_result: 'index' must be an integer from -1 to 9223372036854775807");

  // The largest ids and a large item survive.
  const Assignment big{std::numeric_limits<std::int64_t>::max(), std::string(1 << 20, 'x'),
                       std::numeric_limits<std::uint64_t>::max()};
  const Work work{{std::numeric_limits<JobId>::max(), std::numeric_limits<std::int32_t>::max()}, big};
  EXPECT_EQ(round_trip(work, decode_work).assignment, big);

  // Many unknown fields: the first is named; a huge tag or name is cut short in the message.
  body = work_result_body();
  for (int i = 0; i < 10000; ++i) body["extra" + std::to_string(100000 + i)] = i;
  EXPECT_EQ(rejection(decode_work_result, body), "work_result: unknown field 'extra100000'");
  const std::string huge(1 << 20, 'z');
  const std::string said = rejection(decode_from_instance, Json{{"t", huge}});
  EXPECT_LT(said.size(), 200u) << "the error quotes a bounded part of the value";
  EXPECT_NE(said.find("'zzz"), std::string::npos) << said;
  Json unknown = work_result_body();
  unknown[huge] = 1;
  EXPECT_LT(rejection(decode_work_result, unknown).size(), 200u);
}

}  // namespace
