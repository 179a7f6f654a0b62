// MessagePack codec, model <-> JSON, and protocol framing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "qube/codec.hpp"
#include "qube/json.hpp"
#include "qube/model.hpp"
#include "qube/protocol.hpp"
#include "qube/validate.hpp"
#include "qube/version.hpp"

namespace {

using qube::decode;
using qube::encode;
using qube::FormatError;
using qube::Json;

Json round_trip(const Json& v) { return decode(encode(v)); }

// ---- codec: round trips ----------------------------------------------------

// decode_with_text writes a field's JSON text straight from MessagePack; it must
// be the very text nlohmann writes for the decoded value, whatever the value.
TEST(Codec, TextOfAFieldIsWhatDumpWrites) {
  Json tricky{{"b", {1, -2, 3.5, 1e300, 0.0, -0.0, 1795451126.3892074, nullptr, true, false}},
              {"a", "plain"},
              {"esc", "quote \" back \\ tab \t nl \n ctl \x01 del \x7f"},
              {"utf8", "Z\xc3\xbcrich \xe2\x9c\x93"},
              {"empty", {{"o", Json::object()}, {"a", Json::array()}, {"s", ""}}},
              {"bin", Json::binary({1, 2, 3})},
              {"nested", {{{"x", {{"y", {1, {{"z", "w"}}}}}}}, Json::array({Json::array()})}},
              {"big", std::numeric_limits<std::uint64_t>::max()},
              {"neg", std::numeric_limits<std::int64_t>::min()}};
  const Json body{{"ok", true}, {"jobs", tricky}, {"other", {1, 2}}};
  const std::string bytes = encode(body);
  for (int indent : {-1, 0, 2, 4}) {
    const auto d = qube::decode_with_text(bytes, "jobs", indent);
    // decode(), not `tricky`: MessagePack carries 0.0 as the integer 0.
    EXPECT_EQ(d.text, decode(bytes).at("jobs").dump(indent)) << "indent " << indent;
    EXPECT_EQ(d.fields, (Json{{"ok", true}, {"other", {1, 2}}}));
  }
  // A map whose keys are not in Json's order (hand-made MessagePack: {"b":1,"a":2})
  // reads as the sorted object decode() makes of it.
  const std::string unsorted = "\x81\xa4jobs\x82\xa1" "b\x01\xa1" "a\x02";
  EXPECT_EQ(qube::decode_with_text(unsorted, "jobs", 2).text, decode(unsorted).at("jobs").dump(2));
  EXPECT_EQ(qube::decode_with_text(encode(Json{{"ok", true}}), "jobs", 2).text, "");
  EXPECT_THROW(qube::decode_with_text("\xc1", "jobs", 2), FormatError);
}

// Found by fuzz_msgpack: a job name that is not UTF-8 made decode_with_text throw
// nlohmann's type_error instead of writing the reply (qb jobs --json).
TEST(Codec, TextOfAStringThatIsNotUtf8ReplacesTheBadBytes) {
  const std::string bytes = encode(Json{{"jobs", {{{"name", "a\xff\\b"}}}}});
  for (const int indent : {-1, 2}) {
    const auto d = qube::decode_with_text(bytes, "jobs", indent);
    EXPECT_EQ(d.text, decode(bytes).at("jobs").dump(indent, ' ', false, Json::error_handler_t::replace));
  }
  EXPECT_EQ(qube::decode_with_text(bytes, "jobs", -1).text, "[{\"name\":\"a\xef\xbf\xbd\\\\b\"}]");
}

TEST(Codec, Scalars) {
  EXPECT_EQ(round_trip(nullptr), Json(nullptr));
  EXPECT_TRUE(round_trip(nullptr).is_null());
  EXPECT_EQ(round_trip(true), Json(true));
  EXPECT_EQ(round_trip(false), Json(false));
  EXPECT_TRUE(round_trip(false).is_boolean());
  EXPECT_EQ(round_trip("hello"), Json("hello"));
  EXPECT_EQ(round_trip(""), Json(""));
  EXPECT_EQ(round_trip(std::string(70000, 'x')), Json(std::string(70000, 'x')));
  const std::string with_nul("a\0b\xff", 4);
  EXPECT_EQ(round_trip(with_nul).get<std::string>(), with_nul);
}

TEST(Codec, Integers) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{127},
                         std::int64_t{-32}, std::int64_t{-33}, std::int64_t{255}, std::int64_t{-129},
                         std::int64_t{65536}, std::int64_t{-70000}, std::int64_t{1} << 40,
                         -(std::int64_t{1} << 40), std::numeric_limits<std::int64_t>::max(),
                         std::numeric_limits<std::int64_t>::min()}) {
    const Json back = round_trip(Json(v));
    EXPECT_TRUE(back.is_number_integer()) << v;
    EXPECT_EQ(back.get<std::int64_t>(), v);
    EXPECT_EQ(back, Json(v));
  }
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
  const Json back = round_trip(Json(big));
  EXPECT_TRUE(back.is_number_unsigned());
  EXPECT_EQ(back.get<std::uint64_t>(), big);
  // Negative numbers stay signed.
  EXPECT_FALSE(round_trip(Json(-5)).is_number_unsigned());
  EXPECT_EQ(round_trip(Json(-5)).get<std::int64_t>(), -5);
}

TEST(Codec, Doubles) {
  for (double d : {-0.5, 3.141592653589793, 1e300, -1e-300, 2.5e-8}) {
    const Json back = round_trip(Json(d));
    EXPECT_TRUE(back.is_number_float()) << d;
    EXPECT_EQ(back.get<double>(), d);
  }
  // msgpack-c packs a double with an integral value as an integer, so 1.0 comes
  // back as the integer 1: the value survives (and get_double() reads it), the
  // JSON type does not.
  for (double d : {0.0, 1.0, -2.0, 1700000000.0}) {
    const Json back = round_trip(Json(d));
    EXPECT_TRUE(back.is_number()) << d;
    EXPECT_EQ(back.get<double>(), d);
  }
}

TEST(Codec, Binary) {
  const std::vector<std::uint8_t> bytes = {0, 1, 2, 0xff, 0x80, 0};
  const Json back = round_trip(Json::binary(bytes));
  ASSERT_TRUE(back.is_binary());
  EXPECT_EQ(std::vector<std::uint8_t>(back.get_binary().begin(), back.get_binary().end()), bytes);
  EXPECT_TRUE(round_trip(Json::binary(std::vector<std::uint8_t>{})).is_binary());
}

TEST(Codec, NestedStructures) {
  const Json v = {
      {"name", "job"},
      {"ids", {1, 2, 3, -4}},
      {"empty_map", Json::object()},
      {"empty_list", Json::array()},
      {"nested", {{"a", {{"b", {{"c", {true, nullptr, 2.5, "s"}}}}}}}},
      {"list_of_maps", {{{"x", 1}}, {{"y", Json::array({Json::array({1}), Json::object()})}}}},
      {"", "empty key"},
  };
  const Json back = round_trip(v);
  EXPECT_EQ(back, v);
  EXPECT_TRUE(back["empty_map"].is_object());
  EXPECT_TRUE(back["empty_list"].is_array());
  EXPECT_EQ(back["nested"]["a"]["b"]["c"][2].get<double>(), 2.5);
  EXPECT_EQ(round_trip(Json::array()), Json::array());
  EXPECT_EQ(round_trip(Json::object()), Json::object());
}

TEST(Codec, ModerateNestingIsAccepted) {
  Json v = 1;
  for (int i = 0; i < 16; ++i) v = Json::array({v});
  EXPECT_EQ(round_trip(v), v);
}

// ---- codec: hostile input --------------------------------------------------

TEST(CodecHostile, HugeArrayLengthPrefixThrowsQuickly) {
  // array32 claiming 4 billion elements in a 5-byte message.
  const std::string hostile("\xdd\xff\xff\xff\xff", 5);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(decode(hostile), FormatError);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(1));
}

TEST(CodecHostile, HugeMapStrAndBinLengthPrefixesThrow) {
  EXPECT_THROW(decode(std::string("\xdf\xff\xff\xff\xff", 5)), FormatError);  // map32
  EXPECT_THROW(decode(std::string("\xdb\xff\xff\xff\xff", 5)), FormatError);  // str32
  EXPECT_THROW(decode(std::string("\xc6\xff\xff\xff\xff", 5)), FormatError);  // bin32
  EXPECT_THROW(decode(std::string("\xdc\xff\xff", 3)), FormatError);          // array16
}

TEST(CodecHostile, EmptyInputThrows) { EXPECT_THROW(decode(""), FormatError); }

TEST(CodecHostile, TruncatedInputThrows) {
  const std::string full = encode(Json{{"key", "a value long enough"}, {"list", {1, 2, 3}}});
  ASSERT_GT(full.size(), 4u);
  for (std::size_t n = 1; n < full.size(); ++n)
    EXPECT_THROW(decode(std::string_view(full).substr(0, n)), FormatError) << "length " << n;
}

TEST(CodecHostile, NonStringMapKeysThrow) {
  // {1: 2}
  EXPECT_THROW(decode(std::string("\x81\x01\x02", 3)), FormatError);
  // {nil: 1}
  EXPECT_THROW(decode(std::string("\x81\xc0\x01", 3)), FormatError);
  // {[]: 1}
  EXPECT_THROW(decode(std::string("\x81\x90\x01", 3)), FormatError);
  // nested: {"a": {true: 1}}
  EXPECT_THROW(decode(std::string("\x81\xa1" "a" "\x81\xc3\x01", 6)), FormatError);
  // sanity: {"a": 2} decodes
  EXPECT_EQ(decode(std::string("\x81\xa1" "a" "\x02", 4)), (Json{{"a", 2}}));
}

TEST(CodecHostile, TrailingBytesThrow) {
  const std::string one = encode(Json{{"a", 1}});
  EXPECT_NO_THROW(decode(one));
  EXPECT_THROW(decode(one + '\xc0'), FormatError);
  EXPECT_THROW(decode(one + one), FormatError);
  EXPECT_THROW(decode(std::string("\x01\x02", 2)), FormatError);
}

TEST(CodecHostile, ExtensionTypesThrow) {
  // fixext1, type 1, data 0
  EXPECT_THROW(decode(std::string("\xd4\x01\x00", 3)), FormatError);
}

TEST(CodecHostile, DeepNestingThrows) {
  // Well past kMaxNesting, built as raw bytes: [[[[...]]]]
  for (std::size_t depth : {qube::kMaxNesting + 2, std::size_t{100}, std::size_t{100000}}) {
    std::string deep(depth, '\x91');
    deep += '\x01';
    EXPECT_THROW(decode(deep), FormatError) << "depth " << depth;
  }
  // Same for maps: {"a": {"a": ...}}
  std::string deep_map;
  for (int i = 0; i < 200; ++i) deep_map += std::string("\x81\xa1" "a", 3);
  deep_map += '\x01';
  EXPECT_THROW(decode(deep_map), FormatError);
  // And when the nesting comes from encoding a Json value.
  Json v = 1;
  for (std::size_t i = 0; i < qube::kMaxNesting + 5; ++i) v = Json::array({v});
  EXPECT_THROW(decode(encode(v)), FormatError);
}

TEST(CodecHostile, InvalidBytesThrow) {
  // 0xc1 is never used in MessagePack.
  EXPECT_THROW(decode(std::string("\xc1", 1)), FormatError);
}

// ---- model <-> JSON --------------------------------------------------------

qube::Job sample_job() {
  qube::Job job;
  job.id = 1234;
  job.pgrp = 1200;
  job.pid = 7;
  job.status = qube::JobStatus::running;
  job.timesubmit = 1700000000.25;
  job.timestart = 1700000010.5;
  job.reason = "some reason";
  auto& s = job.spec;
  s.name = "render shot 10";
  s.type = "cmdrange";
  s.user = "alice";
  s.priority = 42;
  s.cpus = 3;
  s.label = "lbl";
  s.range = "1-10";
  s.chunk = 2;
  s.padding = 4;
  s.package = {{"cmdline", "render -s QB_FRAME_START"}, {"extra", {1, 2}}};
  s.env = {{"FOO", "bar"}, {"EMPTY", ""}};
  s.cwd = "/tmp";

  qube::AgendaItem a;
  a.name = "1-2";
  a.status = qube::WorkStatus::complete;
  a.attempts = 2;
  a.attempt_id = 99;
  a.host = "node1";
  a.subid = 0;
  a.exitcode = 0;
  a.timestart = 1700000011.0;
  a.timecomplete = 1700000020.75;
  a.walltime = 9.75;
  a.cputime = 8.5;
  a.peak_rss_kb = 123456;
  a.reason = "";
  a.resultpackage = {{"out", "file.exr"}};
  qube::AgendaItem b;
  b.name = "3-4";
  b.status = qube::WorkStatus::failed;
  b.signal = 9;
  b.exitcode = 137;
  b.reason = "killed by signal 9";
  qube::AgendaItem c;
  c.name = "5-6";  // all defaults: pending, no host, subid -1
  job.agenda = {a, b, c};

  qube::Instance i0;
  i0.subid = 0;
  i0.host = "node1";
  i0.status = qube::JobStatus::running;
  i0.timestart = 1700000010.5;
  qube::Instance i1;
  i1.subid = 1;
  i1.status = qube::JobStatus::failed;
  i1.exitcode = 2;
  i1.reason = "crashed";
  job.instances = {i0, i1};
  return job;
}

void expect_same_item(const qube::AgendaItem& x, const qube::AgendaItem& y) {
  EXPECT_EQ(x.name, y.name);
  EXPECT_EQ(x.status, y.status);
  EXPECT_EQ(x.attempts, y.attempts);
  EXPECT_EQ(x.attempt_id, y.attempt_id);
  EXPECT_EQ(x.host, y.host);
  EXPECT_EQ(x.subid, y.subid);
  EXPECT_EQ(x.exitcode, y.exitcode);
  EXPECT_EQ(x.signal, y.signal);
  EXPECT_EQ(x.timestart, y.timestart);
  EXPECT_EQ(x.timecomplete, y.timecomplete);
  EXPECT_EQ(x.walltime, y.walltime);
  EXPECT_EQ(x.cputime, y.cputime);
  EXPECT_EQ(x.peak_rss_kb, y.peak_rss_kb);
  EXPECT_EQ(x.reason, y.reason);
  EXPECT_EQ(x.resultpackage, y.resultpackage);
}

void expect_same_job(const qube::Job& x, const qube::Job& y) {
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.pgrp, y.pgrp);
  EXPECT_EQ(x.pid, y.pid);
  EXPECT_EQ(x.status, y.status);
  EXPECT_EQ(x.timesubmit, y.timesubmit);
  EXPECT_EQ(x.timestart, y.timestart);
  EXPECT_EQ(x.timecomplete, y.timecomplete);
  EXPECT_EQ(x.reason, y.reason);
  EXPECT_EQ(x.spec.name, y.spec.name);
  EXPECT_EQ(x.spec.type, y.spec.type);
  EXPECT_EQ(x.spec.user, y.spec.user);
  EXPECT_EQ(x.spec.priority, y.spec.priority);
  EXPECT_EQ(x.spec.cpus, y.spec.cpus);
  EXPECT_EQ(x.spec.label, y.spec.label);
  EXPECT_EQ(x.spec.range, y.spec.range);
  EXPECT_EQ(x.spec.chunk, y.spec.chunk);
  EXPECT_EQ(x.spec.padding, y.spec.padding);
  EXPECT_EQ(x.spec.package, y.spec.package);
  EXPECT_EQ(x.spec.env, y.spec.env);
  EXPECT_EQ(x.spec.cwd, y.spec.cwd);
  ASSERT_EQ(x.agenda.size(), y.agenda.size());
  for (std::size_t i = 0; i < x.agenda.size(); ++i) {
    SCOPED_TRACE("agenda item " + std::to_string(i));
    expect_same_item(x.agenda[i], y.agenda[i]);
  }
  ASSERT_EQ(x.instances.size(), y.instances.size());
  for (std::size_t i = 0; i < x.instances.size(); ++i) {
    SCOPED_TRACE("instance " + std::to_string(i));
    EXPECT_EQ(x.instances[i].subid, y.instances[i].subid);
    EXPECT_EQ(x.instances[i].host, y.instances[i].host);
    EXPECT_EQ(x.instances[i].status, y.instances[i].status);
    EXPECT_EQ(x.instances[i].timestart, y.instances[i].timestart);
    EXPECT_EQ(x.instances[i].timecomplete, y.instances[i].timecomplete);
    EXPECT_EQ(x.instances[i].exitcode, y.instances[i].exitcode);
    EXPECT_EQ(x.instances[i].reason, y.instances[i].reason);
  }
}

// Regression test for a bug found and fixed while this suite was written.
TEST(ModelJson, JobRoundTrip) {
  const qube::Job job = sample_job();
  const Json j = qube::to_json(job);
  EXPECT_EQ(j["id"], 1234);
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["agenda"].size(), 3u);
  EXPECT_EQ(j["agenda"][1]["status"], "failed");
  EXPECT_TRUE(j["agenda"][2]["host"].is_null());
  EXPECT_TRUE(j["timecomplete"].is_null());
  EXPECT_EQ(j["progress"]["total"], 3);
  EXPECT_EQ(j["progress"]["complete"], 1);
  EXPECT_EQ(j["progress"]["failed"], 1);
  EXPECT_EQ(j["progress"]["pending"], 1);
  expect_same_job(qube::job_from_json(j), job);
}

TEST(ModelJson, JobRoundTripThroughMessagePack) {
  const qube::Job job = sample_job();
  expect_same_job(qube::job_from_json(decode(encode(qube::to_json(job)))), job);
}

TEST(ModelJson, JobWithoutAgendaRoundTrip) {
  qube::Job job = sample_job();
  job.agenda.clear();
  expect_same_job(qube::job_from_json(decode(encode(qube::to_json(job)))), job);
}

TEST(ModelJson, AgendaItemAndInstanceRoundTrip) {
  const qube::Job job = sample_job();
  for (const auto& item : job.agenda) {
    SCOPED_TRACE(item.name);
    expect_same_item(qube::item_from_json(decode(encode(qube::to_json(item)))), item);
  }
  for (const auto& inst : job.instances) {
    const auto back = qube::instance_from_json(decode(encode(qube::to_json(inst))));
    EXPECT_EQ(back.subid, inst.subid);
    EXPECT_EQ(back.host, inst.host);
    EXPECT_EQ(back.status, inst.status);
    EXPECT_EQ(back.timestart, inst.timestart);
    EXPECT_EQ(back.exitcode, inst.exitcode);
    EXPECT_EQ(back.reason, inst.reason);
  }
}

// decode_item reads what encode_item writes as item_from_json(decode()) does:
// the same item, history and all, and for a value of another type the same
// error (it takes the long way).
TEST(ModelJson, DecodeItemReadsWhatEncodeItemWrites) {
  qube::Job job = sample_job();
  qube::Attempt earlier;
  earlier.attempt_id = 98;
  earlier.host = "node2";
  earlier.subid = 1;
  earlier.status = qube::WorkStatus::failed;
  earlier.exitcode = 3;
  earlier.timestart = 1700000001.5;
  earlier.reason = "exit 3";
  earlier.out_begin = 10;
  earlier.out_end = 20;
  job.agenda[0].history = {earlier};
  for (const auto& item : job.agenda) {
    SCOPED_TRACE(item.name);
    const std::string bytes = qube::encode_item(item);
    const qube::AgendaItem fast = qube::decode_item(bytes);
    expect_same_item(fast, item);
    EXPECT_EQ(qube::to_json(fast), qube::to_json(qube::item_from_json(decode(bytes))));
    EXPECT_EQ(decode(bytes), qube::to_json(item));  // the Json writer's record, field for field
  }
  // A row written before encode_item (through Json), with fields left out.
  const auto sparse = qube::decode_item(encode(Json{{"name", "7"}, {"host", nullptr}}));
  EXPECT_EQ(sparse.name, "7");
  EXPECT_EQ(sparse.status, qube::WorkStatus::pending);
  EXPECT_EQ(sparse.subid, -1);
  EXPECT_FALSE(sparse.exitcode.has_value());
}

TEST(ModelJson, DecodeItemRefusesWhatItemFromJsonRefuses) {
  for (const Json& bad : {Json{{"name", 7}}, Json{{"status", "sleeping"}}, Json{{"status", nullptr}},
                          Json{{"attempts", "two"}}, Json{{"timestart", "noon"}}, Json{{"history", {1}}},
                          Json{{"resultpackage", "x"}}, Json::array({1, 2})}) {
    SCOPED_TRACE(bad.dump());
    const std::string bytes = encode(bad);
    std::string expected;
    try {
      qube::item_from_json(decode(bytes));
    } catch (const FormatError& e) {
      expected = e.what();
    }
    ASSERT_FALSE(expected.empty());
    try {
      qube::decode_item(bytes);
      ADD_FAILURE() << "accepted";
    } catch (const FormatError& e) {
      EXPECT_EQ(e.what(), expected);
    }
  }
}

TEST(ModelJson, JobSummaryLeavesOutAgenda) {
  const Json j = qube::to_json(sample_job(), /*with_agenda=*/false);
  EXPECT_FALSE(j.contains("agenda"));
  EXPECT_FALSE(j.contains("instances"));
  EXPECT_EQ(j["progress"]["total"], 3);
  const qube::Job back = qube::job_from_json(j);
  EXPECT_TRUE(back.agenda.empty());
  EXPECT_EQ(back.spec.name, "render shot 10");
}

// The store's row of a job: its own fields and spec; progress is the items'
// (a row that kept it would be rewritten with every result).
TEST(ModelJson, StoredJobRowRoundTripsWithoutProgress) {
  const qube::Job job = sample_job();
  const Json row = qube::to_stored_json(job);
  EXPECT_FALSE(row.contains("progress"));
  EXPECT_FALSE(row.contains("agenda"));
  const qube::Job back = qube::stored_job_from_json(row);
  EXPECT_EQ(back.id, job.id);
  EXPECT_EQ(back.status, job.status);
  EXPECT_EQ(qube::to_json(back.spec), qube::to_json(job.spec));
  EXPECT_THROW(qube::stored_job_from_json(Json{{"id", 1}}), FormatError) << "a row without its spec is bad";
}

TEST(ModelJson, SpecRoundTrip) {
  qube::JobSpec s = sample_job().spec;
  s.range.clear();
  s.agenda = {"a", "b"};
  s.partitions = 5;
  s.dependency = "link-done-job-1";
  s.blocked = true;
  s.callbacks = {{"done-job-self", "qube", "mail"}};
  const qube::JobSpec back = qube::spec_from_json(decode(encode(qube::to_json(s))));
  EXPECT_EQ(back.name, s.name);
  EXPECT_EQ(back.agenda, s.agenda);
  EXPECT_EQ(back.partitions, 5);
  EXPECT_EQ(back.dependency, s.dependency);
  EXPECT_TRUE(back.blocked);
  ASSERT_EQ(back.callbacks.size(), 1u);
  EXPECT_EQ(back.callbacks[0].triggers, "done-job-self");
  EXPECT_EQ(back.callbacks[0].language, "qube");
  EXPECT_EQ(back.callbacks[0].code, "mail");
  EXPECT_EQ(back.env, s.env);
  EXPECT_EQ(back.package, s.package);
}

TEST(ModelJson, SpecDefaultsForMissingFields) {
  const qube::JobSpec s = qube::spec_from_json(Json::object());
  EXPECT_EQ(s.type, "cmdline");
  EXPECT_EQ(s.priority, qube::kDefaultPriority);
  EXPECT_EQ(s.cpus, 1);
  EXPECT_EQ(s.chunk, 1);
  EXPECT_TRUE(s.package.is_object());
}

// Expects spec_from_json(j) to throw a FormatError whose message contains `field`.
void expect_format_error(const Json& j, const std::string& field) {
  try {
    qube::spec_from_json(j);
    ADD_FAILURE() << "no FormatError for " << j.dump();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos)
        << "message '" << e.what() << "' does not name '" << field << "'";
  }
}

TEST(ModelJson, SpecTypeErrorsNameTheField) {
  expect_format_error({{"priority", "high"}}, "priority");
  expect_format_error({{"priority", 1.5}}, "priority");
  expect_format_error({{"cpus", true}}, "cpus");
  expect_format_error({{"name", 5}}, "name");
  expect_format_error({{"range", {1, 2}}}, "range");
  expect_format_error({{"package", "x"}}, "package");
  expect_format_error({{"env", {{"A", 1}}}}, "env");
  expect_format_error({{"env", "A=1"}}, "env");
  expect_format_error({{"agenda", {1, 2}}}, "agenda");
  expect_format_error({{"blocked", "yes"}}, "blocked");
  expect_format_error({{"callbacks", {1}}}, "callback");
  EXPECT_THROW(qube::spec_from_json(Json::array()), FormatError);
  EXPECT_THROW(qube::spec_from_json("job"), FormatError);
}

TEST(ModelJson, EnumAndShapeErrors) {
  Json j = qube::to_json(sample_job(), /*with_agenda=*/false);
  EXPECT_NO_THROW(qube::job_from_json(j));
  j["status"] = "exploded";
  EXPECT_THROW(qube::job_from_json(j), FormatError);
  EXPECT_THROW(qube::item_from_json(Json{{"name", "1"}, {"status", 3}}), FormatError);
  EXPECT_THROW(qube::item_from_json(Json{{"name", "1"}, {"status", "exploded"}}), FormatError);
  EXPECT_THROW(qube::item_from_json(Json{{"name", "1"}, {"exitcode", "0"}}), FormatError);
  EXPECT_THROW(qube::item_from_json(Json("not a map")), FormatError);
  EXPECT_THROW(qube::instance_from_json(Json{{"status", "complete!"}}), FormatError);
  EXPECT_THROW(qube::instance_from_json(Json::array()), FormatError);
}

// Regression test for a bug found and fixed while this suite was written.
TEST(ModelJson, OutOfRangeIntegersAreNotTruncated) {
  const Json j = {{"priority", 4294967297LL}, {"package", {{"cmdline", "true"}}}};
  bool rejected = false;
  try {
    const qube::JobSpec s = qube::spec_from_json(j);
    rejected = !qube::validate(s).empty();
    EXPECT_NE(s.priority, 1) << "priority 2^32+1 was truncated to 1";
  } catch (const FormatError&) {
    rejected = true;
  }
  EXPECT_TRUE(rejected) << "priority 4294967297 was accepted";
}

// ---- protocol --------------------------------------------------------------

TEST(Protocol, HeaderAndBodyRoundTrip) {
  qube::proto::Message m;
  m.type = qube::proto::kSubmit;
  m.id = 77;
  m.body = {{"jobs", Json::array({{{"name", "x"}}})}};
  const auto back = qube::proto::decode(qube::proto::encode_header(m), encode(m.body));
  EXPECT_EQ(back.type, "submit");
  EXPECT_EQ(back.id, 77u);
  EXPECT_EQ(back.body, m.body);
  const Json header = decode(qube::proto::encode_header(m));
  EXPECT_EQ(header["v"], qube::kProtocolVersion);
  EXPECT_EQ(header["type"], "submit");
  EXPECT_EQ(header["id"], 77);
}

TEST(Protocol, VersionMismatchThrows) {
  const std::string body = encode(Json::object());
  for (const Json& header :
       {Json{{"v", qube::kProtocolVersion + 1}, {"type", "ping"}, {"id", 1}},
        Json{{"v", 0}, {"type", "ping"}, {"id", 1}},
        Json{{"type", "ping"}, {"id", 1}},
        Json{{"v", "1"}, {"type", "ping"}, {"id", 1}}}) {
    EXPECT_THROW(qube::proto::decode(encode(header), body), qube::proto::ProtocolError)
        << header.dump();
  }
  try {
    qube::proto::decode(encode(Json{{"v", 99}, {"type", "ping"}, {"id", 1}}), body);
    FAIL() << "no ProtocolError";
  } catch (const qube::proto::ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  }
}

TEST(Protocol, BadShapesThrowProtocolError) {
  using qube::proto::ProtocolError;
  const int v = qube::kProtocolVersion;
  const std::string body = encode(Json::object());
  // No type, empty type, overlong type.
  EXPECT_THROW(qube::proto::decode(encode(Json{{"v", v}, {"id", 1}}), body), ProtocolError);
  EXPECT_THROW(qube::proto::decode(encode(Json{{"v", v}, {"type", ""}}), body), ProtocolError);
  EXPECT_THROW(qube::proto::decode(encode(Json{{"v", v}, {"type", std::string(65, 't')}}), body),
               ProtocolError);
  // Header or body not a map, or not MessagePack at all.
  const std::string header = encode(Json{{"v", v}, {"type", "ping"}, {"id", 1}});
  EXPECT_THROW(qube::proto::decode(encode(Json::array({1})), body), ProtocolError);
  EXPECT_THROW(qube::proto::decode(header, encode(Json::array())), ProtocolError);
  EXPECT_THROW(qube::proto::decode(header, encode(Json("x"))), ProtocolError);
  EXPECT_THROW(qube::proto::decode(header, std::string("\xdd\xff\xff\xff\xff", 5)), ProtocolError);
  EXPECT_THROW(qube::proto::decode("", body), ProtocolError);
  EXPECT_NO_THROW(qube::proto::decode(header, body));
}

TEST(Protocol, ReplyOk) {
  qube::proto::Message req;
  req.type = qube::proto::kPing;
  req.id = 5;
  const auto r = qube::proto::reply_ok(req, {{"version", "0.1.0"}});
  EXPECT_EQ(r.type, qube::proto::kReply);
  EXPECT_EQ(r.type, "reply");
  EXPECT_EQ(r.id, 5u);
  EXPECT_EQ(r.body, (Json{{"ok", true}, {"version", "0.1.0"}}));
  const auto bare = qube::proto::reply_ok(req);
  EXPECT_EQ(bare.body, (Json{{"ok", true}}));
}

TEST(Protocol, ReplyError) {
  qube::proto::Message req;
  req.type = qube::proto::kShow;
  req.id = 9;
  const auto r = qube::proto::reply_error(req, "no such job");
  EXPECT_EQ(r.type, "reply");
  EXPECT_EQ(r.id, 9u);
  EXPECT_EQ(r.body, (Json{{"ok", false}, {"error", "no such job"}}));
  // Survives the wire.
  const auto back = qube::proto::decode(qube::proto::encode_header(r), encode(r.body));
  EXPECT_EQ(back.body["ok"], false);
  EXPECT_EQ(back.body["error"], "no such job");
  EXPECT_EQ(back.id, 9u);
}

}  // namespace

// Replies assembled from kept encodings (a `jobs` reply, a `show` page) decode as
// if built whole.
TEST(Codec, ReplyAssembledFromEncodedElementsDecodesAsBuiltWhole) {
  const Json a{{"id", 1}, {"name", "a"}}, b{{"id", 2}, {"frames", {1, 2, 3}}};
  const std::string ea = encode(a), eb = encode(b);
  const Json fields{{"ok", true}, {"id", "r7"}};
  const Json whole{{"ok", true}, {"id", "r7"}, {"jobs", {a, b}}};
  EXPECT_EQ(decode(qube::encode_with_array(fields, "jobs", {ea, eb})), whole);
  EXPECT_EQ(decode(qube::encode_with_field(fields, "jobs", encode(Json::array({a, b})))), whole);
  EXPECT_EQ(decode(qube::encode_with_array(fields, "jobs", {})), (Json{{"ok", true}, {"id", "r7"}, {"jobs", Json::array()}}));
  EXPECT_THROW(qube::encode_with_array(Json::array(), "jobs", {ea}), FormatError);
}
