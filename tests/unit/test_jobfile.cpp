// Job files: Qube pipelines and HQueue job specs (both seed versions), including the
// examples under examples/ and every bad-input message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "qube/dependency.hpp"
#include "qube/jobfile.hpp"
#include "qube/validate.hpp"

namespace {

using namespace qube;

std::string read_example(const std::string& name) {
  // The source tree as CMake knows it: __FILE__ may be relative (ccache's base_dir).
  const auto path = std::filesystem::path(QUBE_SOURCE_DIR) / "examples" / name;
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_valid(const JobFile& f) {
  for (const auto& e : f.jobs)
    for (const auto& err : validate(e.spec)) ADD_FAILURE() << e.spec.label << ": " << err;
}

// Every error case: the text, and the message (a prefix when it ends in a long list).
struct BadFile {
  const char* text;
  const char* message;
};

void expect_rejected(const BadFile& c) {
  SCOPED_TRACE(c.text);
  try {
    parse_job_file(std::string(c.text));
    ADD_FAILURE() << "accepted";
  } catch (const FormatError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.substr(0, std::string(c.message).size()), c.message) << "full message: " << what;
  }
}

// ---- Qube pipelines ---------------------------------------------------------

TEST(JobFilePipeline, ParsesTheShotPipelineExample) {
  const JobFile f = parse_job_file(read_example("pipeline-shot.yaml"));
  EXPECT_EQ(f.format, JobFile::Format::qube);
  EXPECT_EQ(f.name, "sequential-pipeline-v001");
  ASSERT_EQ(f.jobs.size(), 3u);
  const JobSpec& prep = f.jobs[0].spec;
  const JobSpec& render = f.jobs[1].spec;
  const JobSpec& comp = f.jobs[2].spec;
  EXPECT_EQ(prep.label, "prep");
  EXPECT_EQ(render.label, "render");
  EXPECT_EQ(comp.label, "comp");
  EXPECT_EQ(render.name, "beauty-render");
  EXPECT_EQ(render.type, "cmdrange");
  EXPECT_EQ(render.range, "1-100");
  EXPECT_EQ(render.chunk, 5);
  EXPECT_EQ(render.services, std::vector<std::string>{"blender"});
  EXPECT_EQ(render.reservations, "host.processors=4,host.memory=8192");
  EXPECT_EQ(render.dependency, "link-complete-job-prep");
  EXPECT_EQ(comp.dependency, "link-complete-work-render");
  // Defaults reach every job.
  for (const auto& e : f.jobs) {
    EXPECT_EQ(e.spec.priority, 500);
    EXPECT_EQ(e.spec.retrywork, 2);
    EXPECT_EQ(e.spec.env.at("SHOT"), "shot010");
    EXPECT_EQ(e.spec.mail, std::vector<std::string>{"vfx-supervisor@example.com"});
    EXPECT_TRUE(e.parent_label.empty());
  }
  ASSERT_EQ(comp.callbacks.size(), 2u);
  EXPECT_EQ(comp.callbacks[0].triggers, "failed-work-self-*");
  EXPECT_EQ(comp.callbacks[0].language, "mail");
  EXPECT_EQ(comp.callbacks[1].language, "shell");
  // The frame-by-frame dependency parses to a work dependency on the render label.
  const auto deps = parse_dependencies(comp.dependency);
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0].kind, EventType::work);
  EXPECT_EQ(deps[0].target.label, "render");
  expect_valid(f);
}

TEST(JobFilePipeline, DefaultsTypesNamesAndDependencyLists) {
  const JobFile f = parse_job_file(std::string(R"({
    "defaults": {"priority": 10, "env": {"A": "1"}},
    "jobs": [
      {"label": "a", "package": {"cmdline": "true"}},
      {"label": "b", "range": "1-3", "package": {"cmdline": "echo QB_FRAME_NUMBER"}, "priority": 3,
       "env": {"B": "2"}, "dependency": ["link-complete-job-a", "link-done-job-12,link-failed-job-a"]},
      {"name": "explicit", "type": "maya", "blocked": true}
    ]})"));
  ASSERT_EQ(f.jobs.size(), 3u);
  EXPECT_EQ(f.name, "");
  EXPECT_EQ(f.jobs[0].spec.name, "a");  // the label names an unnamed job
  EXPECT_EQ(f.jobs[0].spec.type, "cmdline");
  EXPECT_EQ(f.jobs[0].spec.priority, 10);
  EXPECT_EQ(f.jobs[1].spec.type, "cmdrange");  // a range makes it cmdrange, as qbsub does
  EXPECT_EQ(f.jobs[1].spec.priority, 3);
  // A job's key replaces the default's whole: env is not merged.
  EXPECT_EQ(f.jobs[1].spec.env, (std::map<std::string, std::string>{{"B", "2"}}));
  EXPECT_EQ(f.jobs[1].spec.dependency, "link-complete-job-a,link-done-job-12,link-failed-job-a");
  EXPECT_EQ(f.jobs[2].spec.name, "explicit");
  EXPECT_EQ(f.jobs[2].spec.type, "maya");
  EXPECT_TRUE(f.jobs[2].spec.blocked);
  EXPECT_TRUE(f.jobs[2].spec.label.empty());
}

TEST(JobFilePipeline, RejectsBadFilesNamingJobAndKey) {
  const BadFile cases[] = {
      {"42", "not a job file: expected a map with 'jobs' (a Qube pipeline) or an HQueue job spec"},
      {"{}", "not a job file: expected a map with 'jobs'"},
      {"[]", "not a job file: expected a map with 'jobs'"},
      {"jobs: [\n  - {label: a\n", "line "},
      {"jobs: []", "pipeline file: 'jobs' is empty"},
      {"jobs: {a: 1}", "pipeline file: field 'jobs' must be a list"},
      {"name: [x]\njobs: [{}]", "pipeline file: field 'name' must be a string"},
      {"jobz: []\njobs: [{}]", "pipeline file: unknown top-level key 'jobz'; expected name, defaults or jobs"},
      {"defaults: 3\njobs: [{}]", "pipeline file: field 'defaults' must be a map"},
      {"defaults: {prio: 3}\njobs: [{}]", "defaults: unknown key 'prio'; expected "},
      {"jobs: [3]", "job jobs[0]: must be a map"},
      {"jobs: [{label: a}, {name: comp, dependancy: x}]", "job 'comp' (jobs[1]): unknown key 'dependancy'; expected "},
      {"jobs: [{label: a, priority: high}]", "job 'a' (jobs[0]): field 'priority' must be an integer"},
      {"jobs: [{label: a, env: {X: [1]}}]", "job 'a' (jobs[0]): field 'env.X' must be a string"},
      {"jobs: [{label: a, dependency: [1]}]",
       "job 'a' (jobs[0]): field 'dependency' must be a string or a list of strings"},
      {"jobs: [{label: a}, {label: b, dependency: link-complete-jbo-a}]",
       "job 'b' (jobs[1]): dependency 'link-complete-jbo-a': unknown type 'jbo' at position 14; expected job, "
       "work or subjob"},
      {"jobs: [{label: a}, {label: b, dependency: link-complete-job-x}]",
       "job 'b' (jobs[1]): dependency names label 'x', which no job in this file has"},
      {"jobs: [{label: a}, {label: a}]", "job 'a' (jobs[1]): label 'a' is also used by job 'a' (jobs[0])"},
      {"jobs: [{label: my-render}]",
       "job 'my-render' (jobs[0]): label 'my-render' is not valid; use letters, digits, '_' and '.', not "
       "digits alone, not 'self'"},
      {"jobs: [{label: '12'}]", "job '12' (jobs[0]): label '12' is not valid"},
      {"jobs: [{label: a, dependency: link-done-job-b}, {label: b, dependency: link-complete-work-a}]",
       "dependency cycle: a -> b -> a"},
      // A job that depends on itself by label is a cycle of one.
      {"jobs: [{label: a, dependency: link-done-job-a}]", "dependency cycle: a -> a"},
      {"jobs: [{label: a, callbacks: [{triggers: complete-jobb-self, language: shell, code: x}]}]",
       "job 'a' (jobs[0]): callbacks[0]: trigger 'complete-jobb-self': unknown type 'jobb' at position 9; "
       "expected job, work or subjob"},
      {"jobs: [{label: a, callbacks: [{triggers: complete-job-nope, language: shell, code: x}]}]",
       "job 'a' (jobs[0]): callback trigger names label 'nope', which no job in this file has"},
      {"jobs: [{label: a, callbacks: [{triggers: complete-job-self, language: perl, code: x}]}]",
       "job 'a' (jobs[0]): callbacks[0]: unknown language 'perl'; expected qube, shell, python or mail"},
      {"jobs: [{label: a, callbacks: [{trigger: complete-job-self, language: shell}]}]",
       "job 'a' (jobs[0]): callback: unknown key 'trigger'; expected triggers, language or code"},
      {"jobs: [{label: a, callbacks: [{language: shell, code: x}]}]",
       "job 'a' (jobs[0]): callbacks[0]: trigger '': empty expression at position 0"},
      {"jobs: [{label: a, callbacks: [3]}]", "job 'a' (jobs[0]): a callback must be a map"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(JobFilePipeline, BoundsTheNumberOfJobs) {
  std::string text = "jobs:\n";
  for (std::size_t i = 0; i <= kMaxJobsPerFile; ++i) text += "- {}\n";
  expect_rejected({text.c_str(), "pipeline file: more than 10000 jobs"});
}

TEST(JobFilePipeline, DetectsTheFormat) {
  using F = JobFile::Format;
  EXPECT_EQ(detect_job_file_format(Json{{"jobs", Json::array()}, {"name", "x"}}), F::qube);
  EXPECT_EQ(detect_job_file_format(Json{{"name", "x"}}), F::hqueue);
  EXPECT_EQ(detect_job_file_format(Json{{"command", "x"}}), F::hqueue);
  EXPECT_EQ(detect_job_file_format(Json{{"children", Json::array()}}), F::hqueue);
  EXPECT_EQ(detect_job_file_format(Json::array({Json{{"name", "x"}}})), F::hqueue);
  EXPECT_THROW(detect_job_file_format(Json("jobs")), FormatError);
  EXPECT_THROW(detect_job_file_format(Json{{"priority", 1}}), FormatError);
}

// ---- HQueue -----------------------------------------------------------------

TEST(JobFileHQueue, ParsesTheEncodeVideoExample) {
  const JobFile f = parse_job_file(read_example("hqueue-encode-video.json"));
  EXPECT_EQ(f.format, JobFile::Format::hqueue);
  EXPECT_EQ(f.name, "Encode Video");
  ASSERT_EQ(f.jobs.size(), 4u);
  const JobFileEntry& parent = f.jobs[0];
  EXPECT_EQ(parent.spec.name, "Encode Video");
  EXPECT_EQ(parent.spec.label, "hq1");
  EXPECT_TRUE(parent.parent_label.empty());
  EXPECT_EQ(parent.spec.type, "cmdline");
  EXPECT_EQ(parent.spec.agenda, std::vector<std::string>{"1"});
  EXPECT_EQ(parent.spec.package.at("cmdline"),
            "bash -c 'myEncoderApp --input=$HQROOT/path/to/output/frame*.png "
            "--output=$HQROOT/path/to/output/myVideo.avi'");
  EXPECT_EQ(parent.spec.priority, 9999);
  EXPECT_EQ(parent.spec.dependency, "link-complete-job-hq1.1,link-complete-job-hq1.2,link-complete-job-hq1.3");
  EXPECT_EQ(parent.spec.extra.at("hqueue").at("shell"), "bash");
  for (int i = 1; i <= 3; ++i) {
    const JobFileEntry& child = f.jobs[static_cast<std::size_t>(i)];
    EXPECT_EQ(child.spec.name, "Render Frame " + std::to_string(i));
    EXPECT_EQ(child.spec.label, "hq1." + std::to_string(i));
    EXPECT_EQ(child.parent_label, "hq1");
    EXPECT_TRUE(child.spec.dependency.empty());
  }
  expect_valid(f);
}

TEST(JobFileHQueue, ParentWaitsForChildrenAndFailsIfOneFailed) {
  const JobFile f = parse_job_file(read_example("hqueue-encode-video.json"));
  const auto deps = parse_dependencies(f.jobs[0].spec.dependency);
  ASSERT_EQ(deps.size(), 3u);
  auto verdict = [&](JobStatus a, JobStatus b, JobStatus c) {
    const JobStatus st[] = {a, b, c};
    std::vector<DependencyState> states;
    for (std::size_t i = 0; i < deps.size(); ++i) states.push_back(dependency_state(deps[i].condition, st[i]));
    return combine(states);
  };
  using J = JobStatus;
  EXPECT_EQ(verdict(J::complete, J::running, J::pending), DependencyState::waiting);
  EXPECT_EQ(verdict(J::complete, J::failed, J::running), DependencyState::waiting);
  EXPECT_EQ(verdict(J::complete, J::failed, J::complete), DependencyState::broken);
  EXPECT_EQ(verdict(J::complete, J::killed, J::complete), DependencyState::broken);
  EXPECT_EQ(verdict(J::complete, J::complete, J::complete), DependencyState::satisfied);
}

TEST(JobFileHQueue, CommandlessJobSucceedsAtOnce) {
  const JobFile f = parse_job_file(std::string(R"({ "name": "Print Hello World", })"));
  ASSERT_EQ(f.jobs.size(), 1u);
  const JobSpec& s = f.jobs[0].spec;
  EXPECT_EQ(s.type, "cmdline");
  EXPECT_EQ(s.package.at("cmdline"), "true");
  EXPECT_EQ(s.extra.at("hqueue").at("commandless"), true);
  EXPECT_EQ(s.reservations, "host.processors=1");
  EXPECT_TRUE(s.callbacks.empty());
  expect_valid(f);
  // Without a shell the command is kept as written (the cmdline type uses /bin/sh
  // when it needs a shell).
  const JobFile g = parse_job_file(std::string(R"({"name": "x", "command": "echo 'Hello World!'"})"));
  EXPECT_EQ(g.jobs[0].spec.package.at("cmdline"), "echo 'Hello World!'");
  EXPECT_FALSE(g.jobs[0].spec.extra.at("hqueue").contains("commandless"));
}

TEST(JobFileHQueue, ConvertsPriority) {
  const std::pair<std::int64_t, int> cases[] = {{0, 9999},    {1, 9998}, {100, 9899}, {9998, 1},
                                                {9999, 1},    {1000000, 1}, {-5, 9999},
                                                {INT64_MIN, 9999}, {INT64_MAX, 1}};
  for (const auto& [hq, qube] : cases) EXPECT_EQ(priority_from_hqueue(hq), qube) << hq;
  // Higher HQueue priority stays more urgent.
  EXPECT_LT(priority_from_hqueue(50), priority_from_hqueue(49));
}

TEST(JobFileHQueue, MapsTheSeedsPropertiesExample) {
  // "The Main Job" from the seed's Job Properties Example (JSON, not Python, quoting).
  const JobFile f = parse_job_file(std::string(R"({
    "name": "The Main Job",
    "shell": "bash",
    "environment": {"SHOW_MSG": "1", "MSG": "Hello World!", "THREADS": 4},
    "command": "if [ $SHOW_MSG = 1 ]; then\n  echo $MSG;\nfi",
    "tags": ["single"],
    "maxHosts": 1,
    "minHosts": 1,
    "priority": 0,
    "children": [{"name": "The Child Job", "shell": "bash", "command": "echo 'Hello World!'"}]
  })"));
  ASSERT_EQ(f.jobs.size(), 2u);
  const JobSpec& s = f.jobs[0].spec;
  EXPECT_EQ(s.env.at("MSG"), "Hello World!");
  EXPECT_EQ(s.env.at("THREADS"), "4");
  EXPECT_EQ(s.tags, std::vector<std::string>{"single"});
  EXPECT_EQ(s.extra.at("hqueue").at("maxHosts"), 1);
  EXPECT_EQ(s.extra.at("hqueue").at("minHosts"), 1);
  EXPECT_EQ(s.priority, 9999);
  EXPECT_EQ(s.dependency, "link-complete-job-hq1.1");
  EXPECT_EQ(f.jobs[1].parent_label, "hq1");
  expect_valid(f);
}

TEST(JobFileHQueue, MapsEveryOtherProperty) {
  const JobFile f = parse_job_file(std::string(R"({
    "name": "root", "command": "run", "submittedBy": "alice", "description": "the root",
    "priority": 100, "cpus": 0, "host": "node7", "maxTime": 3600, "triesLeft": 3,
    "triesDifferentClient": true, "resources": {"sidefx.license.houdini": 1},
    "emailTo": "a@x.org, b@x.org", "emailReasons": "succeeded, failed,cancelled,waiting",
    "onSuccess": "echo ok", "onError": "echo err", "onCancel": "echo cancel",
    "onReschedule": "echo again", "onChildError": "echo child",
    "childrenIds": [41, 42],
    "children": [{"name": "kid", "cpus": 8, "maxTime": -1,
                  "children": [{"name": "grandkid", "submittedBy": "bob"}]}]
  })"));
  ASSERT_EQ(f.jobs.size(), 3u);
  const JobFileEntry& root = f.jobs[0];
  const JobSpec& s = root.spec;
  EXPECT_EQ(s.user, "alice");
  EXPECT_EQ(s.description, "the root");
  EXPECT_EQ(s.priority, 9899);
  EXPECT_EQ(s.reservations, "host.processors=0");
  EXPECT_EQ(s.extra.at("hqueue").at("cpus"), 0);
  EXPECT_EQ(s.hosts, std::vector<std::string>{"node7"});
  EXPECT_EQ(s.timelimit, 3600);
  EXPECT_EQ(s.retrywork, 3);
  EXPECT_TRUE(s.retrydifferenthost);
  EXPECT_EQ(s.extra.at("hqueue").at("resources").at("sidefx.license.houdini"), 1);
  EXPECT_EQ(root.children_ids, (std::vector<JobId>{41, 42}));
  EXPECT_EQ(s.dependency, "link-complete-job-hq1.1,link-complete-job-41,link-complete-job-42");
  EXPECT_TRUE(s.mail.empty());  // mail goes through the callback, on the reasons asked for
  std::map<std::string, std::pair<std::string, std::string>> cbs;  // triggers -> language, code
  for (const auto& cb : s.callbacks) cbs[cb.triggers] = {cb.language, cb.code};
  EXPECT_EQ(cbs.at("complete-job-self || failed-job-self || killed-job-self"),
            std::make_pair(std::string("mail"), std::string("a@x.org,b@x.org")));
  EXPECT_EQ(cbs.at("complete-job-self").second, "echo ok");
  EXPECT_EQ(cbs.at("complete-job-self").first, "shell");
  EXPECT_EQ(cbs.at("failed-job-self").second, "echo err");
  EXPECT_EQ(cbs.at("killed-job-self").second, "echo cancel");
  EXPECT_EQ(cbs.at("retried-job-self").second, "echo again");
  const std::string child_error =
      "failed-job-self && (failed-job-hq1.1 || killed-job-hq1.1 || failed-job-41 || killed-job-41 || "
      "failed-job-42 || killed-job-42)";
  EXPECT_EQ(cbs.at(child_error).second, "echo child");
  EXPECT_EQ(s.callbacks.size(), 6u);

  const JobSpec& kid = f.jobs[1].spec;
  EXPECT_EQ(kid.user, "alice");  // inherited
  EXPECT_EQ(kid.reservations, "host.processors=8");
  EXPECT_EQ(kid.timelimit, 0);   // HQueue: below zero is no limit
  EXPECT_EQ(kid.dependency, "link-complete-job-hq1.1.1");
  EXPECT_EQ(f.jobs[2].spec.label, "hq1.1.1");
  EXPECT_EQ(f.jobs[2].parent_label, "hq1.1");
  EXPECT_EQ(f.jobs[2].spec.user, "bob");
  expect_valid(f);
}

TEST(JobFileHQueue, OnChildErrorFiresWhenTheParentFailsBecauseOfAChild) {
  const JobFile f = parse_job_file(std::string(
      R"({"name": "p", "onChildError": "echo child", "children": [{"name": "a"}, {"name": "b"}]})"));
  const Expr e = parse_trigger(f.jobs[0].spec.callbacks.at(0).triggers);
  struct State final : StateQuery {
    std::map<JobId, JobStatus> jobs;
    bool job(JobId id, EventName n) const override { return jobs.count(id) && status_matches(n, jobs.at(id)); }
    bool work(JobId, std::string_view, EventName) const override { return false; }
    bool subjob(JobId, std::int32_t, EventName) const override { return false; }
  } st;
  TriggerContext ctx;
  ctx.self = 10;
  ctx.resolve = [](const std::string& l) -> std::optional<JobId> {
    if (l == "hq1.1") return 11;
    if (l == "hq1.2") return 12;
    return std::nullopt;
  };
  st.jobs = {{10, JobStatus::waiting}, {11, JobStatus::failed}, {12, JobStatus::running}};
  EXPECT_FALSE(fires(e, Event{EventName::failed, EventType::job, 11, {}, -1}, ctx, st));
  st.jobs[12] = JobStatus::complete;
  st.jobs[10] = JobStatus::failed;
  EXPECT_TRUE(fires(e, Event{EventName::failed, EventType::job, 10, {}, -1}, ctx, st));
  // A parent that fails on its own, children all complete: no onChildError.
  st.jobs[11] = JobStatus::complete;
  EXPECT_FALSE(fires(e, Event{EventName::failed, EventType::job, 10, {}, -1}, ctx, st));
  // Without children onChildError cannot happen: kept for display only.
  const JobFile g = parse_job_file(std::string(R"({"name": "p", "onChildError": "echo child"})"));
  EXPECT_TRUE(g.jobs[0].spec.callbacks.empty());
  EXPECT_EQ(g.jobs[0].spec.extra.at("hqueue").at("onChildError"), "echo child");
}

TEST(JobFileHQueue, InheritsConditionsFromTheRoot) {
  const JobFile f = parse_job_file(std::string(R"({
    "name": "root",
    "conditions": [{"type": "client", "name": "group", "op": "==", "value": "Simulation"}],
    "children": [
      {"name": "inherits", "children": [{"name": "grandchild"}]},
      {"name": "own", "conditions": [{"name": "hostname", "op": "in", "value": "machine1,machine2"}]},
      {"name": "none", "inherit_conditions": false}
    ]})"));
  ASSERT_EQ(f.jobs.size(), 5u);
  const Json root = f.jobs[0].spec.conditions;
  ASSERT_EQ(root.size(), 1u);
  EXPECT_EQ(root.at(0).at("value"), "Simulation");
  EXPECT_EQ(f.jobs[1].spec.conditions, root);
  EXPECT_EQ(f.jobs[2].spec.conditions, root);  // the root's, not only the parent's
  ASSERT_EQ(f.jobs[3].spec.conditions.size(), 1u);
  EXPECT_EQ(f.jobs[3].spec.conditions.at(0).at("type"), "client");  // defaulted
  EXPECT_EQ(f.jobs[3].spec.conditions.at(0).at("op"), "in");
  EXPECT_TRUE(f.jobs[4].spec.conditions.empty());
  EXPECT_EQ(f.jobs[4].spec.extra.at("hqueue").at("inherit_conditions"), false);
}

TEST(JobFileHQueue, AcceptsAListOfSpecs) {
  const JobFile f = parse_job_file(std::string(R"([{"name": "one", "children": [{"name": "c"}]}, {"name": "two"}])"));
  ASSERT_EQ(f.jobs.size(), 3u);
  EXPECT_EQ(f.name, "one");
  EXPECT_EQ(f.jobs[0].spec.label, "hq1");
  EXPECT_EQ(f.jobs[1].spec.label, "hq1.1");
  EXPECT_EQ(f.jobs[2].spec.label, "hq2");
  EXPECT_TRUE(f.jobs[2].parent_label.empty());
}

TEST(JobFileHQueue, RejectsBadSpecsNamingTheJob) {
  const BadFile cases[] = {
      {R"({"command": "x"})", "HQueue job hq1: 'name' is required"},
      {R"({"name": ""})", "HQueue job '' (hq1): 'name' is required"},
      {R"({"name": "a", "comand": "x"})", "HQueue job 'a' (hq1): unknown property 'comand'; expected name, "},
      {R"({"name": "a", "children": [{"name": "b", "priority": "high"}]})",
       "HQueue job 'b' (hq1.1): field 'priority' must be an integer"},
      {R"({"name": "a", "children": [3]})", "HQueue job hq1.1: must be a map"},
      {R"({"name": "a", "children": {"name": "b"}})", "HQueue job 'a' (hq1): field 'children' must be a list"},
      {R"({"name": "a", "cpus": -1})", "HQueue job 'a' (hq1): field 'cpus' must not be negative"},
      {R"({"name": "a", "triesLeft": -1})", "HQueue job 'a' (hq1): field 'triesLeft' must not be negative"},
      {R"({"name": "a", "maxHosts": -2})", "HQueue job 'a' (hq1): field 'maxHosts' must not be negative"},
      {R"({"name": "a", "environment": {"X": [1]}})",
       "HQueue job 'a' (hq1): field 'environment.X' must be a string or a number"},
      {R"({"name": "a", "tags": [1]})", "HQueue job 'a' (hq1): field 'tags' must hold strings"},
      {R"({"name": "a", "childrenIds": [0]})",
       "HQueue job 'a' (hq1): field 'childrenIds' must hold job ids (positive integers)"},
      {R"({"name": "a", "childrenIds": ["7"]})",
       "HQueue job 'a' (hq1): field 'childrenIds' must hold job ids (positive integers)"},
      {R"({"name": "a", "resources": {"lic": "one"}})",
       "HQueue job 'a' (hq1): field 'resources.lic' must be a non-negative number"},
      {R"({"name": "a", "conditions": [{"name": "ram", "op": "==", "value": "1"}]})",
       "HQueue job 'a' (hq1): condition name 'ram' is not hostname, hostname:name or group"},
      {R"({"name": "a", "conditions": [{"name": "group", "op": ">", "value": "1"}]})",
       "HQueue job 'a' (hq1): condition op '>' is not ==, !=, in, not_in or any"},
      {R"({"name": "a", "conditions": [{"type": "server", "name": "group", "op": "==", "value": "1"}]})",
       "HQueue job 'a' (hq1): condition type 'server' is not 'client'"},
      {R"({"name": "a", "conditions": [{"name": "group", "op": "==", "value": "1", "x": 1}]})",
       "HQueue job 'a' (hq1): condition: unknown key 'x'; expected type, name, op or value"},
      {R"({"name": "a", "conditions": ["hostname == x"]})", "HQueue job 'a' (hq1): a condition must be a map"},
      {R"({"name": "a", "emailTo": "x@y", "emailReasons": "exploded"})",
       "HQueue job 'a' (hq1): emailReasons: unknown reason 'exploded'"},
      {R"({"name": "a", "triesDifferentClient": "yes"})",
       "HQueue job 'a' (hq1): field 'triesDifferentClient' must be true or false"},
      {R"([{"name": "a"}, 3])", "HQueue job hq2: must be a map"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(JobFileHQueue, BoundsNestingAndCount) {
  // parse_yaml stops hostile nesting first; below its bound, kMaxChildDepth does.
  std::string deep = R"({"name": "n")";
  for (int i = 0; i <= kMaxChildDepth; ++i) deep += R"(, "children": [{"name": "n")";
  for (int i = 0; i <= kMaxChildDepth; ++i) deep += "}]";
  deep += "}";
  try {
    parse_job_file(deep);
    ADD_FAILURE() << "accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("children nested deeper than 10"), std::string::npos) << e.what();
  }
  std::string wide = R"({"name": "n", "children": [)";
  for (std::size_t i = 0; i < kMaxJobsPerFile; ++i) wide += std::string(i ? "," : "") + R"({"name": "c"})";
  wide += "]}";
  expect_rejected({wide.c_str(), "HQueue spec: more than 10000 jobs"});
  std::string hostile(100000, '[');
  EXPECT_THROW(parse_job_file(hostile), FormatError);
}

}  // namespace
