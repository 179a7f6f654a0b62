// Dependency strings (every error message), their states, and cycle detection.
#include <gtest/gtest.h>

#include <string>

#include "qube/dependency.hpp"

namespace {

using namespace qube;

TEST(DependencyParse, ParsesQubeForms) {
  const auto deps = parse_dependencies(
      "link-complete-job-12, link-done-job-render ,link-failed-work-7,link-killed-subjob-comp");
  ASSERT_EQ(deps.size(), 4u);
  EXPECT_EQ(deps[0].condition, EventName::complete);
  EXPECT_EQ(deps[0].kind, EventType::job);
  EXPECT_EQ(deps[0].target.kind, JobRef::Kind::id);
  EXPECT_EQ(deps[0].target.id, 12u);
  EXPECT_EQ(deps[1].condition, EventName::done);
  EXPECT_EQ(deps[1].target.kind, JobRef::Kind::label);
  EXPECT_EQ(deps[1].target.label, "render");
  EXPECT_EQ(deps[2].condition, EventName::failed);
  EXPECT_EQ(deps[2].kind, EventType::work);
  EXPECT_EQ(deps[3].condition, EventName::killed);
  EXPECT_EQ(deps[3].kind, EventType::subjob);
  EXPECT_EQ(dependency_text(deps),
            "link-complete-job-12,link-done-job-render,link-failed-work-7,link-killed-subjob-comp");
  EXPECT_EQ(dependency_text(parse_dependencies(dependency_text(deps))), dependency_text(deps));
  EXPECT_TRUE(parse_dependencies("").empty());
  EXPECT_TRUE(parse_dependencies("  ").empty());
}

TEST(DependencyParse, WaitforIsLinkDone) {
  EXPECT_EQ(waitfor_dependency(42), "link-done-job-42");
  const auto d = parse_dependencies(waitfor_dependency(42));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], (Dependency{EventName::done, EventType::job, JobRef{JobRef::Kind::id, 42, {}}}));
}

TEST(DependencyParse, RejectsWithPreciseMessages) {
  const std::pair<const char*, const char*> cases[] = {
      {"link-complete-jbo-12",
       "dependency 'link-complete-jbo-12': unknown type 'jbo' at position 14; expected job, work or subjob"},
      {"complete-job-12",
       "dependency 'complete-job-12': 'complete-job-12' does not start with 'link-' at position 0; expected "
       "link-<complete|done|failed|killed>-<job|work|subjob>-<id|label>"},
      {"link-running-job-12",
       "dependency 'link-running-job-12': unknown condition 'running' at position 5; expected complete, "
       "done, failed or killed"},
      {"link-completed-job-12",
       "dependency 'link-completed-job-12': unknown condition 'completed' at position 5; expected complete, "
       "done, failed or killed"},
      {"link-", "dependency 'link-': unknown condition '' at position 5; expected complete, done, failed or killed"},
      {"link-complete",
       "dependency 'link-complete': incomplete atom 'complete' at position 5; expected name-type-context "
       "such as complete-job-12"},
      {"link-complete-job-",
       "dependency 'link-complete-job-': missing context at position 18; expected self, a job id or a label"},
      {"link-complete-job-self",
       "dependency 'link-complete-job-self': a job cannot depend on itself at position 18; expected a job "
       "id or a label"},
      {"link-complete-work-12-5",
       "dependency 'link-complete-work-12-5': unexpected '-5' at position 21; expected the end of the "
       "dependency after its job id or label (labels cannot hold '-')"},
      {"link-complete-job-0", "dependency 'link-complete-job-0': job id '0' out of range at position 18"},
      {"link-complete-job-a b",
       "dependency 'link-complete-job-a b': invalid context 'a b' at position 18; expected self, a job id "
       "or a label (letters, digits, '_' and '.')"},
      {"link-complete-job-12,",
       "dependency 'link-complete-job-12,': empty dependency at position 21; expected "
       "link-<condition>-<type>-<id|label>"},
      {",link-complete-job-12",
       "dependency ',link-complete-job-12': empty dependency at position 0; expected "
       "link-<condition>-<type>-<id|label>"},
      {"link-complete-job-1, ,link-done-job-2",
       "dependency 'link-complete-job-1, ,link-done-job-2': empty dependency at position 21; expected "
       "link-<condition>-<type>-<id|label>"},
      {"link-complete-job-1,link-done-jobs-2",
       "dependency 'link-complete-job-1,link-done-jobs-2': unknown type 'jobs' at position 30; expected "
       "job, work or subjob"},
  };
  for (const auto& [text, message] : cases) {
    SCOPED_TRACE(text);
    try {
      parse_dependencies(text);
      ADD_FAILURE() << "accepted";
    } catch (const TriggerError& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
  EXPECT_THROW(parse_dependencies(std::string(kMaxTriggerLength + 1, ',')), TriggerError);
}

TEST(DependencyState, FollowsTheTargetsStatus) {
  using S = DependencyState;
  EXPECT_EQ(dependency_state(EventName::complete, JobStatus::complete), S::satisfied);
  EXPECT_EQ(dependency_state(EventName::complete, JobStatus::running), S::waiting);
  EXPECT_EQ(dependency_state(EventName::complete, JobStatus::dying), S::waiting);
  EXPECT_EQ(dependency_state(EventName::complete, JobStatus::failed), S::broken);
  EXPECT_EQ(dependency_state(EventName::complete, JobStatus::killed), S::broken);
  EXPECT_EQ(dependency_state(EventName::done, JobStatus::failed), S::satisfied);
  EXPECT_EQ(dependency_state(EventName::done, JobStatus::killed), S::satisfied);
  EXPECT_EQ(dependency_state(EventName::done, JobStatus::blocked), S::waiting);
  EXPECT_EQ(dependency_state(EventName::failed, JobStatus::failed), S::satisfied);
  EXPECT_EQ(dependency_state(EventName::failed, JobStatus::complete), S::broken);
  EXPECT_EQ(dependency_state(EventName::killed, JobStatus::killed), S::satisfied);
  EXPECT_EQ(dependency_state(EventName::killed, JobStatus::failed), S::broken);
  EXPECT_EQ(dependency_state(EventName::complete, WorkStatus::skipped), S::satisfied);
  EXPECT_EQ(dependency_state(EventName::complete, WorkStatus::retrying), S::waiting);
  EXPECT_EQ(dependency_state(EventName::complete, WorkStatus::failed), S::broken);
  EXPECT_EQ(to_string(S::broken), "broken");
}

TEST(DependencyState, CombinesLikeHQueueParents) {
  using S = DependencyState;
  EXPECT_EQ(combine({}), S::satisfied);
  EXPECT_EQ(combine({S::satisfied, S::satisfied}), S::satisfied);
  // A failed child does not fail the parent while another still runs.
  EXPECT_EQ(combine({S::broken, S::waiting}), S::waiting);
  EXPECT_EQ(combine({S::broken, S::satisfied}), S::broken);
}

TEST(DependencyCycle, FindsAndNamesCycles) {
  using Ids = std::map<JobId, std::vector<JobId>>;
  EXPECT_TRUE(find_cycle(Ids{}).empty());
  EXPECT_TRUE(find_cycle(Ids{{1, {2, 3}}, {2, {3}}, {3, {}}}).empty());  // a diamond is no cycle
  EXPECT_TRUE(find_cycle(Ids{{1, {99}}}).empty());                        // unknown targets: no edges
  EXPECT_EQ(find_cycle(Ids{{12, {13}}, {13, {12}}}), (std::vector<JobId>{12, 13, 12}));
  EXPECT_EQ(find_cycle(Ids{{7, {7}}}), (std::vector<JobId>{7, 7}));
  EXPECT_EQ(find_cycle(Ids{{1, {2}}, {2, {3}}, {3, {4}}, {4, {2}}}), (std::vector<JobId>{2, 3, 4, 2}));
  EXPECT_EQ(cycle_message(std::vector<JobId>{12, 13, 12}), "dependency cycle: 12 -> 13 -> 12");
  using Labels = std::map<std::string, std::vector<std::string>>;
  const auto c = find_cycle(Labels{{"comp", {"render"}}, {"render", {"prep", "comp"}}, {"prep", {}}});
  EXPECT_EQ(cycle_message(c), "dependency cycle: comp -> render -> comp");
}

TEST(DependencyCycle, DeepChainsDoNotRecurse) {
  std::map<JobId, std::vector<JobId>> chain;
  const JobId n = 50000;
  for (JobId i = 1; i < n; ++i) chain[i] = {i + 1};
  EXPECT_TRUE(find_cycle(chain).empty());
  chain[n] = {1};
  EXPECT_EQ(find_cycle(chain).size(), n + 1);
}

}  // namespace
