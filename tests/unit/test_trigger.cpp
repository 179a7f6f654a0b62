// Trigger expressions: parsing (every error message), evaluation against events and
// state (level-triggered), and item overlap.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "qube/trigger.hpp"

namespace {

using namespace qube;

// ---- Parsing ----------------------------------------------------------------

struct Good {
  const char* text;
  const char* canonical;
};

TEST(TriggerParse, AcceptsAndPrintsCanonically) {
  const Good cases[] = {
      {"complete-job-self", "complete-job-self"},
      {"  failed-job-123  ", "failed-job-123"},
      {"done-work-self-*", "done-work-self-*"},
      {"complete-work-render-5", "complete-work-render-5"},
      {"complete-work-render-1-10", "complete-work-render-1-10"},
      {"complete-work-self--5", "complete-work-self--5"},
      {"complete-work-self-1-7x3", "complete-work-self-1-7x3"},
      {"running-subjob-self-0", "running-subjob-self-0"},
      {"killed-subjob-12-*", "killed-subjob-12-*"},
      {"submit-job-self", "submit-job-self"},
      {"blocked-job-a.b_c", "blocked-job-a.b_c"},
      {"unblocked-job-self||modified-job-self", "unblocked-job-self || modified-job-self"},
      {"retried-job-self && done-job-7", "retried-job-self && done-job-7"},
      // && binds tighter than ||.
      {"complete-job-1 || complete-job-2 && complete-job-3",
       "complete-job-1 || complete-job-2 && complete-job-3"},
      {"(complete-job-1 || complete-job-2) && complete-job-3",
       "(complete-job-1 || complete-job-2) && complete-job-3"},
      // Same-operator nesting flattens; redundant parentheses go.
      {"((complete-job-1))", "complete-job-1"},
      {"complete-job-1 && (complete-job-2 && complete-job-3)",
       "complete-job-1 && complete-job-2 && complete-job-3"},
      {"(complete-job-1&&complete-job-2)||(failed-job-1)",
       "complete-job-1 && complete-job-2 || failed-job-1"},
      {"\tcomplete-job-1\n&&\r\ncomplete-job-2", "complete-job-1 && complete-job-2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const Expr e = parse_trigger(c.text);
    EXPECT_EQ(e.text(), c.canonical);
    EXPECT_EQ(parse_trigger(e.text()).text(), c.canonical);  // round trip
  }
}

TEST(TriggerParse, BuildsTheTree) {
  const Expr e = parse_trigger("complete-job-1 || complete-work-render-5 && failed-subjob-self-2");
  ASSERT_EQ(e.op, Expr::Op::any);
  ASSERT_EQ(e.operands.size(), 2u);
  EXPECT_EQ(e.operands[0].op, Expr::Op::atom);
  EXPECT_EQ(e.operands[0].atom.job.kind, JobRef::Kind::id);
  EXPECT_EQ(e.operands[0].atom.job.id, 1u);
  const Expr& conj = e.operands[1];
  ASSERT_EQ(conj.op, Expr::Op::all);
  ASSERT_EQ(conj.operands.size(), 2u);
  const Atom& w = conj.operands[0].atom;
  EXPECT_EQ(w.name, EventName::complete);
  EXPECT_EQ(w.type, EventType::work);
  EXPECT_EQ(w.job.kind, JobRef::Kind::label);
  EXPECT_EQ(w.job.label, "render");
  EXPECT_EQ(w.extra, "5");
  const Atom& s = conj.operands[1].atom;
  EXPECT_EQ(s.type, EventType::subjob);
  EXPECT_EQ(s.job.kind, JobRef::Kind::self);
  EXPECT_EQ(s.extra, "2");
}

struct Bad {
  const char* text;
  const char* message;
  std::size_t position;
};

TEST(TriggerParse, RejectsWithPreciseMessages) {
  const Bad cases[] = {
      {"complete-jobb-self",
       "trigger 'complete-jobb-self': unknown type 'jobb' at position 9; expected job, work or subjob", 9},
      {"", "trigger '': empty expression at position 0; expected an atom such as complete-job-self", 0},
      {"   ", "trigger '   ': empty expression at position 3; expected an atom such as complete-job-self", 3},
      {"completed-job-self",
       "trigger 'completed-job-self': unknown event 'completed' at position 0; expected submit, running, "
       "complete, failed, killed, done, blocked, unblocked, modified or retried", 0},
      {"complete", "trigger 'complete': incomplete atom 'complete' at position 0; expected "
                   "name-type-context such as complete-job-self", 0},
      {"complete-job", "trigger 'complete-job': incomplete atom 'complete-job' at position 0; expected "
                       "name-type-context such as complete-job-self", 0},
      {"complete-job-", "trigger 'complete-job-': missing context at position 13; expected self, a job id "
                        "or a label", 13},
      {"complete-job-0", "trigger 'complete-job-0': job id '0' out of range at position 13", 13},
      {"complete-job-99999999999999999999999",
       "trigger 'complete-job-99999999999999999999999': job id '99999999999999999999999' out of range at "
       "position 13", 13},
      {"complete-job-re$nder", "trigger 'complete-job-re$nder': invalid context 're$nder' at position 13; "
                               "expected self, a job id or a label (letters, digits, '_' and '.')", 13},
      {"complete-job-self-5", "trigger 'complete-job-self-5': unexpected '-5' at position 17; expected "
                              "nothing after a job atom's context (labels cannot hold '-')", 17},
      {"complete-job-my-render", "trigger 'complete-job-my-render': unexpected '-render' at position 15; "
                                 "expected nothing after a job atom's context (labels cannot hold '-')", 15},
      {"complete-work-self", "trigger 'complete-work-self': missing work item at position 18; expected '*' "
                             "or an item name such as 5 or 1-10", 18},
      {"complete-work-self-", "trigger 'complete-work-self-': missing work item at position 19; expected "
                              "'*' or an item name such as 5 or 1-10", 19},
      {"done-subjob-self", "trigger 'done-subjob-self': missing subjob at position 16; expected '*' or a "
                           "subjob id", 16},
      {"done-subjob-self-x", "trigger 'done-subjob-self-x': invalid subjob 'x' at position 17; expected "
                             "'*' or a subjob id (digits)", 17},
      {"done-subjob-self-99999999999", "trigger 'done-subjob-self-99999999999': invalid subjob "
                                       "'99999999999' at position 17; expected '*' or a subjob id (digits)", 17},
      {"complete-job-1 &", "trigger 'complete-job-1 &': lone '&' at position 15; expected '&&'", 15},
      {"complete-job-1 | complete-job-2",
       "trigger 'complete-job-1 | complete-job-2': lone '|' at position 15; expected '||'", 15},
      {"complete-job-1 &&", "trigger 'complete-job-1 &&': found the end at position 17; expected an atom "
                            "or '('", 17},
      {"&& complete-job-1", "trigger '&& complete-job-1': found '&&' at position 0; expected an atom or '('", 0},
      {"complete-job-1 complete-job-2",
       "trigger 'complete-job-1 complete-job-2': unexpected 'complete-job-2' at position 15; expected "
       "'&&', '||' or the end", 15},
      {"(complete-job-1 complete-job-2)",
       "trigger '(complete-job-1 complete-job-2)': unexpected 'complete-job-2' at position 16; expected "
       "'&&', '||' or ')'", 16},
      {"complete-job-1 (complete-job-2)",
       "trigger 'complete-job-1 (complete-job-2)': unexpected '(' at position 15; expected '&&', '||' or "
       "the end", 15},
      {"(complete-job-1", "trigger '(complete-job-1': unclosed '(' at position 0; expected a matching ')'", 0},
      {"complete-job-1 && ((complete-job-2) || complete-job-3",
       "trigger 'complete-job-1 && ((complete-job-2) || complete-job-3': unclosed '(' at position 18; "
       "expected a matching ')'", 18},
      {"complete-job-1)", "trigger 'complete-job-1)': unmatched ')' at position 14", 14},
      {"()", "trigger '()': found ')' at position 1; expected an atom or '('", 1},
      {"complete-job-1 || ()", "trigger 'complete-job-1 || ()': found ')' at position 19; expected an atom "
                               "or '('", 19},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      parse_trigger(c.text);
      ADD_FAILURE() << "accepted";
    } catch (const TriggerError& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
      EXPECT_EQ(e.position, c.position);
    }
  }
}

TEST(TriggerParse, BoundsNestingAndLength) {
  std::string ok = std::string(kMaxTriggerDepth, '(') + "complete-job-1" + std::string(kMaxTriggerDepth, ')');
  EXPECT_EQ(parse_trigger(ok).text(), "complete-job-1");
  const std::string deep = "(" + ok + ")";
  try {
    parse_trigger(deep);
    ADD_FAILURE() << "accepted";
  } catch (const TriggerError& e) {
    EXPECT_NE(std::string(e.what()).find("parentheses nested deeper than 32 at position 32"), std::string::npos)
        << e.what();
  }
  // A hostile depth is refused without recursion.
  EXPECT_THROW(parse_trigger(std::string(100000, '(')), TriggerError);
  EXPECT_THROW(parse_trigger(std::string(kMaxTriggerLength + 1, 'a')), TriggerError);
}

TEST(TriggerParse, NeverCrashesOnNoise) {
  // Random strings over the trigger alphabet: each either parses (and then prints
  // back to something that parses the same) or throws TriggerError.
  const std::string alphabet = "()&|-* \t0123456789abcdejklmoprstwy.*_";
  const char* words[] = {"complete", "-job-", "work", "subjob", "self", "&&", "||", "(", ")", "-", "*", "7"};
  std::mt19937 rng(4);
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) {
      if (rng() % 2) s += alphabet[rng() % alphabet.size()];
      else s += words[rng() % std::size(words)];
    }
    try {
      const Expr e = parse_trigger(s);
      EXPECT_EQ(parse_trigger(e.text()).text(), e.text()) << s;
    } catch (const TriggerError& e) {
      EXPECT_LE(e.position, s.size()) << s;
    }
  }
}

TEST(TriggerParse, LabelsAndNames) {
  EXPECT_TRUE(is_valid_label("render"));
  EXPECT_TRUE(is_valid_label("hq1.2.3"));
  EXPECT_TRUE(is_valid_label("shot_010"));
  EXPECT_FALSE(is_valid_label(""));
  EXPECT_FALSE(is_valid_label("self"));
  EXPECT_FALSE(is_valid_label("123"));
  EXPECT_FALSE(is_valid_label("my-render"));
  EXPECT_FALSE(is_valid_label("a b"));
  EXPECT_FALSE(is_valid_label(std::string(256, 'a')));
  EXPECT_EQ(labels_of(parse_trigger("complete-job-a && (failed-job-b || done-work-a-*) && complete-job-7")),
            (std::vector<std::string>{"a", "b"}));
  for (auto n : {EventName::submit, EventName::retried, EventName::done})
    EXPECT_EQ(parse_event_name(to_string(n)), n);
  for (auto t : {EventType::job, EventType::work, EventType::subjob}) EXPECT_EQ(parse_event_type(to_string(t)), t);
  EXPECT_FALSE(parse_event_name("time"));
}

// ---- Evaluation -------------------------------------------------------------

// A farm's state as plain maps.
class FakeState final : public StateQuery {
 public:
  std::map<JobId, JobStatus> jobs;
  std::map<std::pair<JobId, std::string>, WorkStatus> items;
  std::map<std::pair<JobId, std::int32_t>, JobStatus> subjobs;

  bool job(JobId id, EventName name) const override {
    auto it = jobs.find(id);
    return it != jobs.end() && status_matches(name, it->second);
  }
  bool work(JobId id, std::string_view item, EventName name) const override {
    for (const auto& [key, status] : items)
      if (key.first == id && items_overlap(item, key.second) && status_matches(name, status)) return true;
    return false;
  }
  bool subjob(JobId id, std::int32_t subid, EventName name) const override {
    for (const auto& [key, status] : subjobs)
      if (key.first == id && (subid < 0 || key.second == subid) && status_matches(name, status)) return true;
    return false;
  }
};

TriggerContext context(JobId self) {
  TriggerContext ctx;
  ctx.self = self;
  ctx.resolve = [](const std::string& label) -> std::optional<JobId> {
    if (label == "render") return 12;
    if (label == "comp") return 13;
    return std::nullopt;
  };
  return ctx;
}

Event job_event(EventName n, JobId job) { return Event{n, EventType::job, job, {}, -1}; }
Event work_event(EventName n, JobId job, std::string work) { return Event{n, EventType::work, job, std::move(work), -1}; }
Event subjob_event(EventName n, JobId job, std::int32_t sub) { return Event{n, EventType::subjob, job, {}, sub}; }

TEST(TriggerEval, MatchesEventsToAtoms) {
  const TriggerContext ctx = context(20);
  struct Case {
    const char* atom;
    Event event;
    bool match;
  };
  const Case cases[] = {
      {"complete-job-self", job_event(EventName::complete, 20), true},
      {"complete-job-self", job_event(EventName::complete, 21), false},
      {"complete-job-self", job_event(EventName::failed, 20), false},
      {"complete-job-self", work_event(EventName::complete, 20, "1"), false},
      {"done-job-self", job_event(EventName::complete, 20), true},
      {"done-job-self", job_event(EventName::failed, 20), true},
      {"done-job-self", job_event(EventName::killed, 20), true},
      {"done-job-self", job_event(EventName::done, 20), true},
      {"done-job-self", job_event(EventName::running, 20), false},
      {"complete-job-self", job_event(EventName::done, 20), false},
      {"failed-job-12", job_event(EventName::failed, 12), true},
      {"failed-job-render", job_event(EventName::failed, 12), true},
      {"failed-job-render", job_event(EventName::failed, 13), false},
      {"failed-job-nosuch", job_event(EventName::failed, 12), false},
      {"done-work-self-*", work_event(EventName::failed, 20, "7"), true},
      {"complete-work-render-5", work_event(EventName::complete, 12, "5"), true},
      {"complete-work-render-5", work_event(EventName::complete, 12, "1-10"), true},
      {"complete-work-render-5", work_event(EventName::complete, 12, "1-10x2"), true},
      {"complete-work-render-6", work_event(EventName::complete, 12, "1-10x2"), false},
      {"complete-work-render-5", work_event(EventName::complete, 12, "6"), false},
      {"complete-work-render-intro", work_event(EventName::complete, 12, "intro"), true},
      {"running-subjob-self-*", subjob_event(EventName::running, 20, 3), true},
      {"running-subjob-self-3", subjob_event(EventName::running, 20, 3), true},
      {"running-subjob-self-2", subjob_event(EventName::running, 20, 3), false},
      {"submit-job-self", job_event(EventName::submit, 20), true},
      {"retried-work-self-*", work_event(EventName::retried, 20, "3"), true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.atom);
    const Expr e = parse_trigger(c.atom);
    EXPECT_EQ(matches(e.atom, c.event, ctx), c.match);
    EXPECT_EQ(mentions(e, c.event, ctx), c.match);
  }
}

TEST(TriggerEval, StatusMatchesNames) {
  EXPECT_TRUE(status_matches(EventName::submit, JobStatus::pending));
  EXPECT_TRUE(status_matches(EventName::running, JobStatus::running));
  EXPECT_TRUE(status_matches(EventName::done, JobStatus::complete));
  EXPECT_TRUE(status_matches(EventName::done, JobStatus::failed));
  EXPECT_TRUE(status_matches(EventName::done, JobStatus::killed));
  EXPECT_FALSE(status_matches(EventName::done, JobStatus::dying));
  EXPECT_FALSE(status_matches(EventName::complete, JobStatus::failed));
  EXPECT_TRUE(status_matches(EventName::blocked, JobStatus::blocked));
  EXPECT_FALSE(status_matches(EventName::unblocked, JobStatus::pending));
  EXPECT_FALSE(status_matches(EventName::modified, JobStatus::running));
  EXPECT_FALSE(status_matches(EventName::retried, JobStatus::pending));
  EXPECT_TRUE(status_matches(EventName::complete, WorkStatus::skipped));
  EXPECT_TRUE(status_matches(EventName::done, WorkStatus::skipped));
  EXPECT_FALSE(status_matches(EventName::failed, WorkStatus::retrying));
  EXPECT_FALSE(status_matches(EventName::done, WorkStatus::retrying));
}

TEST(TriggerEval, HoldsIsLevelTriggered) {
  const TriggerContext ctx = context(20);
  FakeState st;
  st.jobs = {{12, JobStatus::complete}, {13, JobStatus::running}, {20, JobStatus::blocked}};
  st.items = {{{12, "1-10"}, WorkStatus::complete}, {{12, "11-20"}, WorkStatus::failed}};
  st.subjobs = {{{13, 0}, JobStatus::running}};
  const std::pair<const char*, bool> cases[] = {
      {"complete-job-12", true},
      {"complete-job-render", true},
      {"done-job-render", true},
      {"complete-job-13", false},
      {"complete-job-12 && complete-job-13", false},
      {"complete-job-12 || complete-job-13", true},
      {"complete-job-12 && running-job-comp", true},
      {"blocked-job-self", true},
      {"complete-job-nosuch", false},
      {"complete-job-99", false},
      {"complete-work-12-5", true},
      {"complete-work-12-15", false},
      {"failed-work-12-15", true},
      {"failed-work-12-*", true},
      {"running-subjob-13-*", true},
      {"running-subjob-13-1", false},
      {"(failed-job-12 || complete-job-13) && blocked-job-self", false},
      {"(complete-job-12 || complete-job-13) && blocked-job-self", true},
      {"modified-job-self", false},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(holds(parse_trigger(text), ctx, st), expected);
  }
}

TEST(TriggerEval, FiresOnTheSecondOfTwoCompletionsOnly) {
  const TriggerContext ctx = context(20);
  const Expr e = parse_trigger("complete-job-12 && complete-job-13");
  FakeState st;
  st.jobs = {{12, JobStatus::running}, {13, JobStatus::running}};
  // 12 completes first: 13 is still running.
  st.jobs[12] = JobStatus::complete;
  EXPECT_FALSE(fires(e, job_event(EventName::complete, 12), ctx, st));
  // 13 completes: 12 already is.
  st.jobs[13] = JobStatus::complete;
  EXPECT_TRUE(fires(e, job_event(EventName::complete, 13), ctx, st));
  // An unrelated event never fires it, though the expression holds.
  EXPECT_TRUE(holds(e, ctx, st));
  EXPECT_FALSE(fires(e, job_event(EventName::complete, 14), ctx, st));
  EXPECT_FALSE(fires(e, job_event(EventName::running, 12), ctx, st));
}

TEST(TriggerEval, EdgeEventsCountThroughTheEventOnly) {
  const TriggerContext ctx = context(20);
  FakeState st;
  st.jobs = {{20, JobStatus::pending}, {12, JobStatus::complete}};
  const Expr e = parse_trigger("modified-job-self && complete-job-render");
  EXPECT_FALSE(holds(e, ctx, st));
  EXPECT_TRUE(fires(e, job_event(EventName::modified, 20), ctx, st));
  EXPECT_FALSE(fires(e, job_event(EventName::modified, 21), ctx, st));
  // done matches a failure event even if the state was not yet updated.
  const Expr d = parse_trigger("done-job-self");
  EXPECT_TRUE(fires(d, job_event(EventName::failed, 20), ctx, st));
  // Frame-by-frame style: frame 5 of render completes inside chunk 1-10.
  const Expr w = parse_trigger("complete-work-render-5 && blocked-job-self");
  st.jobs[20] = JobStatus::blocked;
  EXPECT_TRUE(fires(w, work_event(EventName::complete, 12, "1-10"), ctx, st));
  EXPECT_FALSE(fires(w, work_event(EventName::complete, 12, "11-20"), ctx, st));
}

TEST(TriggerEval, ItemsOverlap) {
  const std::tuple<const char*, const char*, bool> cases[] = {
      {"5", "5", true},        {"5", "1-10", true},       {"1-10", "5", true},
      {"11", "1-10", false},   {"1-10x2", "5", true},     {"1-10x2", "4", false},
      {"1-100x3", "2-100x5", true},  // 7 is in both? 1,4,7 / 2,7: yes
      {"1-10x3", "2-10x3", false},   {"10-1", "3", true},  {"-10--1", "-5", true},
      {"*", "anything", true}, {"intro", "intro", true}, {"intro", "5", false},
      {"1,3,5", "2-4", true},  {"1,5", "2-4", false},     {"1-1000000", "999999", true},
      {"1-1000000x999999", "2-999999x999997", false}, {"1-1000000x999999", "1000000", true},
  };
  for (const auto& [a, b, expected] : cases) {
    SCOPED_TRACE(std::string(a) + " vs " + b);
    EXPECT_EQ(items_overlap(a, b), expected);
    EXPECT_EQ(items_overlap(b, a), expected);
  }
}

}  // namespace
