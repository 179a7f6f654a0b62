// qbsub and qb speak Qube!'s command line (issue 18, "qbsub speaks Qube!'s
// command line"): one-dash and abbreviated options, Qube!'s option names and
// aliases, process groups to join, and job archives (--export / --import).
// Everything through the real qbsub and qb, on a real farm.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class QubeCli : public FarmTest {
 protected:
  static constexpr const char* kAdmin = "boss";
  void SetUp() override {
    FarmTest::SetUp();
    SupervisorOptions o;
    o.extra_config = std::string("admins: [") + kAdmin + "]\n";
    start_supervisor(o);
  }
  static std::map<std::string, std::string> as(const std::string& user) { return {{"QB_USER", user}}; }
  static std::string id_text(std::uint64_t id) { return std::to_string(id); }

  // qbsub ARGS as USER: exit 0 expected, the job id returned.
  std::uint64_t submit_as(const std::string& user, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"qbsub"};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = run(argv, as(user));
    EXPECT_EQ(r.code, 0) << r.describe();
    return r.code == 0 ? std::stoull(r.out) : 0;
  }

  Json jobs_json(const std::vector<std::string>& filters = {}) {
    std::vector<std::string> argv{"qb", "jobs", "--json"};
    argv.insert(argv.end(), filters.begin(), filters.end());
    const RunResult r = run(argv);
    EXPECT_EQ(r.code, 0) << r.describe();
    return r.code == 0 ? Json::parse(r.out) : Json::array();
  }

  // What the user asked for: the keys of a job that an archive must carry over.
  static Json asked(const Json& job) {
    Json kept = Json::object();
    for (const char* key : {"name", "type", "user", "priority", "cpus", "label", "range", "chunk", "package", "env",
                            "callbacks", "dependency", "status", "mail", "cluster", "restrictions", "flags", "kind",
                            "account", "domain", "pgrp", "pid", "description", "hosts", "retrywork"})
      kept[key] = job.value(key, Json());
    return kept;
  }
};

TEST_F(QubeCli, OneDashAndAbbreviatedOptionsSubmitAndLeaveTheCommandAlone) {
  const auto id = submit({"-priority", "10", "-cpus", "2", "-cl", "/show", "--restr", "/show/+", "-fr", "1-2",
                          "echo", "-s", "QB_FRAME_START", "-e", "5", "-pri", "3"});
  const Json job = show(id);
  EXPECT_EQ(job.at("priority"), 10);
  EXPECT_EQ(job.at("cpus"), 2);
  EXPECT_EQ(job.at("cluster"), "/show");
  EXPECT_EQ(job.at("restrictions"), "/show/+");
  EXPECT_EQ(job.at("range"), "1-2");
  EXPECT_EQ(job.at("package").at("cmdline"), "echo -s QB_FRAME_START -e 5 -pri 3");
}

TEST_F(QubeCli, AmbiguousAbbreviationIsAUsageErrorNamingTheCandidates) {
  const RunResult r = run({"qbsub", "-re", "x", "echo", "hi"});
  EXPECT_EQ(r.code, 2) << r.describe();
  EXPECT_NE(r.err.find("qbsub: option '-re' is ambiguous: --requirements, --reservations, --restrictions, "),
            std::string::npos)
      << r.err;
  const RunResult unknown = run({"qbsub", "-bogus", "1", "echo"});
  EXPECT_EQ(unknown.code, 2) << unknown.describe();
  EXPECT_NE(unknown.err.find("-bogus"), std::string::npos) << unknown.err;
  EXPECT_TRUE(jobs_json().empty());
  const RunResult qb = run({"qb", "jobs", "-s", "x"});  // --status, --supervisor
  EXPECT_EQ(qb.code, 2) << qb.describe();
  EXPECT_NE(qb.err.find("qb: option '-s' is ambiguous: --status, --supervisor"), std::string::npos) << qb.err;
}

TEST_F(QubeCli, QbVerbsTakeOneDashAndAbbreviatedOptions) {
  const auto id = submit({"--status", "blocked", "true"});
  const RunResult modify = run({"qbmodify", "-priority", "5", id_text(id)});
  ASSERT_EQ(modify.code, 0) << modify.describe();
  EXPECT_EQ(show(id).at("priority"), 5);
  const RunResult abbreviated = run({"qb", "modify", "-pri", "7", id_text(id)});
  ASSERT_EQ(abbreviated.code, 0) << abbreviated.describe();
  EXPECT_EQ(show(id).at("priority"), 7);
  const RunResult listed = run({"qbjobs", "-stat", "blocked", "-js"});
  ASSERT_EQ(listed.code, 0) << listed.describe();
  EXPECT_EQ(Json::parse(listed.out).size(), 1u) << listed.out;
}

TEST_F(QubeCli, KindAccountAndDomainAreKeptAndShown) {
  const auto id = submit({"-kind", "render", "-acc", "acme", "-dom", "vfx", "true"});
  const Json job = show(id);
  EXPECT_EQ(job.at("kind"), "render");
  EXPECT_EQ(job.at("account"), "acme");
  EXPECT_EQ(job.at("domain"), "vfx");
  const Json listed = jobs_json();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("account"), "acme");
  const RunResult text = run({"qb", "show", id_text(id)});
  ASSERT_EQ(text.code, 0) << text.describe();
  EXPECT_NE(text.out.find("kind      render   account acme   domain vfx"), std::string::npos) << text.out;
}

TEST_F(QubeCli, PgrpJoinsAnExistingGroupWhereLabelsResolve) {
  const auto first = submit_as("alice", {"--label", "a", "--status", "blocked", "true"});
  const auto pgrp = show(first).at("pgrp").get<std::uint64_t>();
  const auto joined = submit_as("alice", {"-pgrp", std::to_string(pgrp), "--dependency", "link-done-job-a", "true"});
  const Json job = show(joined);
  EXPECT_EQ(job.at("pgrp"), pgrp);
  EXPECT_EQ(job.at("dependency"), "link-done-job-" + id_text(first));
  const Json family = jobs_json({"--pgrp", std::to_string(pgrp)});
  ASSERT_EQ(family.size(), 2u) << family.dump(1);
  // The label is the group's: a second job labelled 'a' in it is refused.
  const RunResult twice = run({"qbsub", "--pgrp", std::to_string(pgrp), "--label", "a", "true"}, as("alice"));
  EXPECT_EQ(twice.code, 1) << twice.describe();
  EXPECT_NE(twice.err.find("already has a job labelled 'a'"), std::string::npos) << twice.err;
}

TEST_F(QubeCli, PgrpMustExistAndBeTheSubmittersUnlessAdmin) {
  const RunResult none = run({"qbsub", "--pgrp", "999", "true"}, as("alice"));
  EXPECT_EQ(none.code, 1) << none.describe();
  EXPECT_NE(none.err.find("there is no process group 999"), std::string::npos) << none.err;
  const auto alices = submit_as("alice", {"--status", "blocked", "true"});
  const std::string pgrp = show(alices).at("pgrp").dump();
  const RunResult bob = run({"qbsub", "--pgrp", pgrp, "true"}, as("bob"));
  EXPECT_EQ(bob.code, 1) << bob.describe();
  EXPECT_NE(bob.err.find("only an admin may join it"), std::string::npos) << bob.err;
  EXPECT_EQ(jobs_json({"--pgrp", pgrp}).size(), 1u);
  const auto admins = submit_as(kAdmin, {"--pgrp", pgrp, "true"});
  EXPECT_EQ(show(admins).at("pgrp").dump(), pgrp);
}

TEST_F(QubeCli, AddressMailsWhenTheJobEndsLikeMail) {
  const auto id = submit({"-address", "a@example.com,b@example.com", "--mail", "m@example.com", "true"});
  const Json job = show(id);
  EXPECT_EQ(job.at("mail"), Json::parse(R"(["m@example.com","a@example.com","b@example.com"])"));
  EXPECT_EQ(job.at("callbacks"),
            Json::parse(R"([{"triggers":"done-job-self","language":"mail","code":"m@example.com,a@example.com,b@example.com"}])"));
}

TEST_F(QubeCli, ExportEnvironmentGivesTheJobTheSubmittersEnvironmentUnderExplicitEnv) {
  start_worker("w1");
  const std::string out = path("env.out");
  const RunResult r = run({"qbsub", "-flags", "export_environment", "--env", "FOO=explicit", "sh", "-c",
                           "echo \"$FOO $BAR\" > " + out},
                          {{"FOO", "from-shell"}, {"BAR", "from-shell"}});
  ASSERT_EQ(r.code, 0) << r.describe();
  const auto id = std::stoull(r.out);
  EXPECT_EQ(wait_terminal(id), "complete");
  EXPECT_EQ(read_file(out), "explicit from-shell\n");
  EXPECT_EQ(show(id).at("env").at("BAR"), "from-shell");
  // Without the flag, the job gets only what --env says.
  const auto plain = submit({"--env", "FOO=x", "true"});
  EXPECT_FALSE(show(plain).at("env").contains("BAR"));
}

TEST_F(QubeCli, PrototypeDataAndFramesAreAliases) {
  const auto id = submit({"--prototype", "cmdrange", "--data", "{cmdline: 'echo QB_FRAME_NUMBER'}", "--frames", "1-3"});
  const Json job = show(id);
  EXPECT_EQ(job.at("type"), "cmdrange");
  EXPECT_EQ(job.at("package").at("cmdline"), "echo QB_FRAME_NUMBER");
  EXPECT_EQ(job.at("range"), "1-3");
  EXPECT_EQ(job.at("agenda").size(), 3u);
}

TEST_F(QubeCli, AnExportedJobIsNotSubmittedAndImportingItSubmitsTheSameJob) {
  const std::vector<std::string> options{"--name", "shot", "-pri", "42", "--range", "1-4", "--env", "A=1",
                                         "--mail", "x@example.com", "--kind", "render", "--account", "acme",
                                         "--status", "blocked", "--flags", "uninterruptible",
                                         "echo", "QB_FRAME_NUMBER"};
  const auto direct = submit(options);
  for (const std::string file : {"job.json", "job.yaml"}) {
    std::vector<std::string> exporting{"qbsub", "--export", path(file)};
    exporting.insert(exporting.end(), options.begin(), options.end());
    const std::size_t before = jobs_json().size();
    const RunResult exported = run(exporting);
    ASSERT_EQ(exported.code, 0) << exported.describe();
    EXPECT_EQ(exported.out, "");
    EXPECT_EQ(jobs_json().size(), before) << "--export submitted a job";
    const auto imported = submit({"--import", path(file)});
    Json want = asked(show(direct)), got = asked(show(imported));
    want.erase("pgrp");
    got.erase("pgrp");
    EXPECT_EQ(got, want) << file;
  }
}

TEST_F(QubeCli, OptionsOverrideImportedValues) {
  const RunResult exported = run({"qbsub", "--export", path("job.yml"), "--name", "shot", "--priority", "42",
                                  "--mail", "x@example.com", "--status", "blocked", "echo", "one"});
  ASSERT_EQ(exported.code, 0) << exported.describe();
  const auto id = submit({"-import", path("job.yml"), "-pri", "7", "--mail", "y@example.com", "echo", "two"});
  const Json job = show(id);
  EXPECT_EQ(job.at("priority"), 7);
  EXPECT_EQ(job.at("name"), "shot");
  EXPECT_EQ(job.at("status"), "blocked");
  EXPECT_EQ(job.at("package").at("cmdline"), "echo two");
  EXPECT_EQ(job.at("mail"), Json::array({"y@example.com"}));
  // The imported mail callback gave way to the new one.
  EXPECT_EQ(job.at("callbacks").size(), 1u) << job.at("callbacks").dump();
  EXPECT_EQ(job.at("callbacks")[0].at("code"), "y@example.com");
}

TEST_F(QubeCli, BadArchivesAreUsageErrors) {
  const RunResult extension = run({"qbsub", "--export", path("job.txt"), "true"});
  EXPECT_EQ(extension.code, 2) << extension.describe();
  EXPECT_NE(extension.err.find(".json, .yaml or .yml"), std::string::npos) << extension.err;
  std::ofstream(path("bad.json")) << "{\"not\": \"jobs\"}";
  const RunResult bad = run({"qbsub", "--import", path("bad.json")});
  EXPECT_EQ(bad.code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("expected {jobs: [...]}"), std::string::npos) << bad.err;
  const RunResult missing = run({"qbsub", "--import", path("missing.json")});
  EXPECT_EQ(missing.code, 2) << missing.describe();
  EXPECT_TRUE(jobs_json().empty());
}

// --binary / --reverse / --preview: the agenda is laid out in dispatch order, and
// with one slot the frames run in exactly that order.
TEST_F(QubeCli, AgendaOrderAndPreviewFramesDecideWhatRunsFirst) {
  start_worker("w1", 1);
  const std::string ran = path("ran.txt");
  const auto binary = submit({"--range", "1-9", "-binary", "sh", "-c", "echo QB_FRAME_START >> " + ran});
  ASSERT_EQ(wait_terminal(binary), "complete");
  EXPECT_EQ(read_lines(ran), (std::vector<std::string>{"1", "9", "5", "3", "7", "2", "4", "6", "8"}));
  const Json laid_out = show(binary);
  Json names = Json::array();
  for (const auto& item : laid_out.at("agenda")) names.push_back(item.at("name"));
  EXPECT_EQ(names, Json::array({"1", "9", "5", "3", "7", "2", "4", "6", "8"}));

  const std::string previewed = path("previewed.txt");
  const auto preview = submit({"--range", "1-12", "--chunk", "2", "--preview", "6,11", "--reverse", "sh", "-c",
                               "echo QB_FRAME_START >> " + previewed});
  ASSERT_EQ(wait_terminal(preview), "complete");
  EXPECT_EQ(read_lines(previewed), (std::vector<std::string>{"11", "5", "9", "7", "3", "1"}));
  EXPECT_EQ(show(preview).at("flags"), Json::array({"p_agenda"}));

  const RunResult both = run({"qbsub", "--reverse", "--binary", "--range", "1-3", "true"});
  EXPECT_EQ(both.code, 2) << both.describe();
  const RunResult bad = run({"qbsub", "--order", "sideways", "--range", "1-3", "true"});
  EXPECT_EQ(bad.code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("order: 'sideways' is not one of as-written, reverse, binary"), std::string::npos) << bad.err;
  const RunResult nothing = run({"qbsub", "--flags", "p_agenda", "true"});
  EXPECT_EQ(nothing.code, 2) << nothing.describe();
  EXPECT_NE(nothing.err.find("only a job with an agenda"), std::string::npos) << nothing.err;
}

// --p_priority / --p_cpus: the preview items become a job of their own, at their
// own priority, in the same process group as the job of the rest.
TEST_F(QubeCli, PreviewPriorityMakesAPreviewJobInTheSameGroup) {
  const RunResult made = run({"qbsub", "--name", "shot", "--label", "comp", "--range", "1-10", "--flags", "p_agenda",
                              "--p_priority", "5", "--p_cpus", "2", "--kind", "comp", "true"});
  ASSERT_EQ(made.code, 0) << made.describe();
  ASSERT_EQ(made.out, "1\n2\n");  // the preview job first
  const std::uint64_t first = 1;
  const Json preview = show(first), group = jobs_json({"--pgrp", std::to_string(preview.at("pgrp").get<long>())});
  ASSERT_EQ(group.size(), 2u) << group.dump();
  EXPECT_EQ(preview.at("name"), "shot (preview)");
  EXPECT_EQ(preview.at("label"), "comp-preview");
  EXPECT_EQ(preview.at("priority"), 5);
  EXPECT_EQ(preview.at("cpus"), 2);
  Json names = Json::array();
  for (const auto& item : preview.at("agenda")) names.push_back(item.at("name"));
  EXPECT_EQ(names, Json::array({"1", "5", "10"}));
  const Json rest = show(first + 1);
  EXPECT_EQ(rest.at("name"), "shot");
  EXPECT_EQ(rest.at("priority"), 9999);
  EXPECT_EQ(rest.at("agenda").size(), 7u);
  // qb jobs filters by Qube!'s bookkeeping fields.
  EXPECT_EQ(jobs_json({"--kind", "comp"}).size(), 2u);
  EXPECT_TRUE(jobs_json({"--kind", "fx"}).empty());
}

}  // namespace
}  // namespace qube_it
