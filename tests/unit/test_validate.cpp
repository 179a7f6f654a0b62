// validate(JobSpec): one message per problem, each naming its field.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "qube/validate.hpp"

namespace {

using qube::JobSpec;
using qube::validate;

JobSpec valid_spec() {
  JobSpec s;
  s.name = "render";
  s.type = "cmdline";
  s.user = "alice";
  s.priority = 100;
  s.cpus = 2;
  s.range = "1-10";
  s.chunk = 2;
  s.package = {{"cmdline", "echo QB_FRAME_NUMBER"}};
  s.env = {{"PATH", "/bin"}, {"_X1", "y"}};
  return s;
}

// All messages joined, for failure output.
std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += "[" + e + "] ";
  return out;
}

// True if exactly one message exists and it starts with "field:".
::testing::AssertionResult rejects_only(const JobSpec& s, const std::string& field) {
  const auto errors = validate(s);
  if (errors.size() != 1)
    return ::testing::AssertionFailure()
           << "expected one error naming '" << field << "', got " << errors.size() << ": "
           << joined(errors);
  if (errors[0].rfind(field + ":", 0) != 0)
    return ::testing::AssertionFailure()
           << "error does not start with '" << field << ":': " << errors[0];
  return ::testing::AssertionSuccess();
}

TEST(Validate, ValidSpecHasNoErrors) {
  EXPECT_TRUE(validate(valid_spec()).empty()) << joined(validate(valid_spec()));
  JobSpec s = valid_spec();
  s.priority = 1;
  s.cpus = qube::kMaxCpus;
  EXPECT_TRUE(validate(s).empty()) << joined(validate(s));
  s.priority = 9999;
  s.range.clear();
  s.agenda = {"a", "b"};
  EXPECT_TRUE(validate(s).empty()) << joined(validate(s));
}

TEST(Validate, DefaultSpecNeedsOnlyACommand) {
  JobSpec s;
  s.package = {{"cmdline", "true"}};
  EXPECT_TRUE(validate(s).empty()) << joined(validate(s));
}

TEST(Validate, PriorityOutOfRange) {
  for (int p : {0, -1, 10000, 1000000}) {
    JobSpec s = valid_spec();
    s.priority = p;
    EXPECT_TRUE(rejects_only(s, "priority")) << "priority " << p;
    EXPECT_NE(validate(s)[0].find(std::to_string(p)), std::string::npos)
        << "message does not say the value: " << validate(s)[0];
  }
}

TEST(Validate, CpusOutOfRange) {
  JobSpec s = valid_spec();
  s.cpus = 0;
  EXPECT_TRUE(rejects_only(s, "cpus"));
  s.cpus = -3;
  EXPECT_TRUE(rejects_only(s, "cpus"));
  s.cpus = qube::kMaxCpus + 1;
  EXPECT_TRUE(rejects_only(s, "cpus"));
}

TEST(Validate, BadRange) {
  for (const char* r : {"1-", "abc", "1-5x0", "1,,2", "1-100000000"}) {
    JobSpec s = valid_spec();
    s.range = r;
    EXPECT_TRUE(rejects_only(s, "range")) << "range '" << r << "'";
  }
}

TEST(Validate, RangeAndAgendaTogether) {
  JobSpec s = valid_spec();
  s.agenda = {"1"};
  EXPECT_TRUE(rejects_only(s, "agenda"));
}

TEST(Validate, BadAgendaNames) {
  JobSpec s = valid_spec();
  s.range.clear();
  s.agenda = {"ok", ""};
  EXPECT_TRUE(rejects_only(s, "agenda"));
  s.agenda = {std::string(qube::kMaxAgendaNameLength + 1, 'a')};
  EXPECT_TRUE(rejects_only(s, "agenda"));
}

TEST(Validate, CmdlineTypeNeedsCommand) {
  JobSpec s = valid_spec();
  s.package = qube::Json::object();
  EXPECT_TRUE(rejects_only(s, "package"));
  EXPECT_NE(validate(s)[0].find("cmdline"), std::string::npos) << validate(s)[0];
  s.package = {{"cmdline", ""}};
  EXPECT_TRUE(rejects_only(s, "package"));
  s.package = {{"cmdline", 5}};
  EXPECT_TRUE(rejects_only(s, "package"));
  s.package = {{"command", "echo"}};
  EXPECT_TRUE(rejects_only(s, "package"));
}

TEST(Validate, CmdrangeNeedsCommandAndRange) {
  JobSpec s = valid_spec();
  s.type = "cmdrange";
  EXPECT_TRUE(validate(s).empty()) << joined(validate(s));
  s.range.clear();
  EXPECT_TRUE(rejects_only(s, "range"));
  s.package = qube::Json::object();
  const auto errors = validate(s);
  EXPECT_EQ(errors.size(), 2u) << joined(errors);
}

TEST(Validate, OtherTypesNeedNoCommand) {
  JobSpec s = valid_spec();
  s.type = "maya";
  s.package = {{"scene", "/a.mb"}};
  EXPECT_TRUE(validate(s).empty()) << joined(validate(s));
}

TEST(Validate, PackageMustBeMap) {
  JobSpec s = valid_spec();
  s.type = "maya";
  s.package = qube::Json::array({"x"});
  EXPECT_TRUE(rejects_only(s, "package"));
}

TEST(Validate, BadTypeName) {
  for (const char* t : {"", "a b", "../evil", "x/y"}) {
    JobSpec s = valid_spec();
    s.type = t;
    const auto errors = validate(s);
    ASSERT_FALSE(errors.empty()) << "type '" << t << "'";
    EXPECT_EQ(errors[0].rfind("type:", 0), 0u) << errors[0];
  }
  JobSpec s = valid_spec();
  s.type = std::string(65, 'a');
  EXPECT_TRUE(rejects_only(s, "type"));
}

TEST(Validate, BadEnvName) {
  for (const char* name : {"1ABC", "A-B", "A B", "A=B", "", "Ä"}) {
    JobSpec s = valid_spec();
    s.env[name] = "value";
    EXPECT_TRUE(rejects_only(s, "env")) << "env name '" << name << "'";
  }
  JobSpec s = valid_spec();
  s.env["A-B"] = "1";
  EXPECT_NE(validate(s)[0].find("A-B"), std::string::npos) << validate(s)[0];
}

TEST(Validate, TooManyEnvEntries) {
  JobSpec s = valid_spec();
  s.env.clear();
  for (std::size_t i = 0; i <= qube::kMaxEnvEntries; ++i) s.env.emplace(std::string("V").append(std::to_string(i)), "x");
  EXPECT_TRUE(rejects_only(s, "env"));
}

TEST(Validate, OtherNumericFields) {
  JobSpec s = valid_spec();
  s.chunk = 0;
  EXPECT_TRUE(rejects_only(s, "chunk"));
  s = valid_spec();
  s.partitions = -1;
  EXPECT_TRUE(rejects_only(s, "partitions"));
  s = valid_spec();
  s.padding = 33;
  EXPECT_TRUE(rejects_only(s, "padding"));
  s.padding = -1;
  EXPECT_TRUE(rejects_only(s, "padding"));
}

TEST(Validate, LongNameAndLabel) {
  JobSpec s = valid_spec();
  s.name = std::string(qube::kMaxNameLength + 1, 'n');
  EXPECT_TRUE(rejects_only(s, "name"));
  s = valid_spec();
  s.label = std::string(qube::kMaxNameLength + 1, 'l');
  EXPECT_TRUE(rejects_only(s, "label"));
}

TEST(Validate, ReportsEveryProblem) {
  JobSpec s = valid_spec();
  s.priority = 0;
  s.cpus = 0;
  s.range = "abc";
  s.env["9X"] = "1";
  const auto errors = validate(s);
  ASSERT_EQ(errors.size(), 4u) << joined(errors);
  for (const char* field : {"priority:", "cpus:", "range:", "env:"}) {
    bool found = false;
    for (const auto& e : errors) found = found || e.rfind(field, 0) == 0;
    EXPECT_TRUE(found) << field << " missing from " << joined(errors);
  }
}

TEST(Validate, NameHelpers) {
  EXPECT_TRUE(qube::is_valid_env_name("PATH"));
  EXPECT_TRUE(qube::is_valid_env_name("_a1"));
  EXPECT_FALSE(qube::is_valid_env_name("1A"));
  EXPECT_FALSE(qube::is_valid_env_name("A.B"));
  EXPECT_TRUE(qube::is_valid_type_name("cmd-line_2.0"));
  EXPECT_FALSE(qube::is_valid_type_name("a/b"));
}

}  // namespace
