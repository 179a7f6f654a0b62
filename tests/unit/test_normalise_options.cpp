// cli::normalise_options: Qube!'s option forms (one dash, unique prefixes)
// written out in full before CLI11 parses, from the options an app declares.
#include <gtest/gtest.h>

#include "normalise_options.hpp"

namespace {

using qube::cli::AmbiguousOption;
using qube::cli::normalise_options;
using qube::cli::Words;
using Args = std::vector<std::string>;

// A command line shaped like qbsub's: options with values, flags, two names
// for one option, a short option (-h, CLI11's help) and one that is the
// prefix of another (--cpus, --cpus_max).
struct Qbsub {
  CLI::App app{"qbsub"};
  std::string s;
  int n = 0;
  bool b = false;
  std::vector<std::string> list;
  Qbsub() {
    for (const char* text : {"--name", "--cluster", "--restrictions", "--range,--frames", "--requirements",
                             "--reservations"})
      app.add_option(text, s);
    for (const char* number : {"--priority", "--cpus", "--cpus_max"}) app.add_option(number, n);
    app.add_option("--service,--services", list);
    app.add_flag("--json", b);
    app.add_flag("--waiton", b);
    app.add_flag("-f,--follow", b);
    app.prefix_command();
  }
  Args operator()(Args args) const { return normalise_options(app, std::move(args), Words::end_options); }
};

TEST(NormaliseOptions, OneDashLongNamesAreWrittenWithTwo) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-priority", "10", "-cpus", "4", "echo"}), (Args{"--priority", "10", "--cpus", "4", "echo"}));
}

TEST(NormaliseOptions, UniquePrefixesAreWrittenOut) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-cl", "/show", "--restr", "/show/+", "-pri", "5", "echo"}),
            (Args{"--cluster", "/show", "--restrictions", "/show/+", "--priority", "5", "echo"}));
}

TEST(NormaliseOptions, ValueAfterEqualsSignIsKept) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-pri=5", "--cl=/a=b", "x"}), (Args{"--priority=5", "--cluster=/a=b", "x"}));
}

TEST(NormaliseOptions, AnExactNameWinsOverAPrefixOfAnother) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-cpus", "2", "x"}), (Args{"--cpus", "2", "x"}));
  EXPECT_EQ(qbsub({"-cpus_m", "2", "x"}), (Args{"--cpus_max", "2", "x"}));
}

TEST(NormaliseOptions, TwoNamesOfOneOptionAreNotAmbiguous) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-servic", "gpu", "x"}), (Args{"--service", "gpu", "x"}));
  EXPECT_EQ(qbsub({"-fra", "1-5", "x"}), (Args{"--frames", "1-5", "x"}));
}

TEST(NormaliseOptions, AmbiguousPrefixNamesEveryCandidate) {
  Qbsub qbsub;
  try {
    qbsub({"-re", "x", "echo"});
    FAIL() << "'-re' fits several options";
  } catch (const AmbiguousOption& e) {
    EXPECT_STREQ(e.what(), "option '-re' is ambiguous: --requirements, --reservations, --restrictions");
  }
  EXPECT_THROW(qbsub({"--c", "x", "echo"}), AmbiguousOption);
}

TEST(NormaliseOptions, RealShortOptionsStay) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-h"}), (Args{"-h"}));
  EXPECT_EQ(qbsub({"-f", "-json", "x"}), (Args{"-f", "--json", "x"}));
}

TEST(NormaliseOptions, AnOptionsValueIsNeverRewritten) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-name", "-pri", "-pri", "3", "echo"}), (Args{"--name", "-pri", "--priority", "3", "echo"}));
  EXPECT_EQ(qbsub({"-fr", "-10--1", "-json", "x"}), (Args{"--frames", "-10--1", "--json", "x"}));
}

TEST(NormaliseOptions, TheCommandAndItsOptionsAreLeftAlone) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-priority", "10", "render", "-s", "1", "-e", "5", "-pri", "3"}),
            (Args{"--priority", "10", "render", "-s", "1", "-e", "5", "-pri", "3"}));
  // A flag takes no value: the word after it is the command.
  EXPECT_EQ(qbsub({"-json", "-pri", "1", "sh", "-c", "true"}),
            (Args{"--json", "--priority", "1", "sh", "-c", "true"}));
}

TEST(NormaliseOptions, DoubleDashEndsTheOptions) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-pri", "1", "--", "-pri", "x"}), (Args{"--priority", "1", "--", "-pri", "x"}));
}

TEST(NormaliseOptions, UnknownOptionsAndNumbersAreLeftForCli11) {
  Qbsub qbsub;
  EXPECT_EQ(qbsub({"-bogus", "1", "x"}), (Args{"-bogus", "1", "x"}));
  EXPECT_EQ(qbsub({"-5", "x"}), (Args{"-5", "x"}));
  EXPECT_EQ(qbsub({"-", "x"}), (Args{"-", "x"}));
}

// qb: a subcommand's own options, and its positional ids among them.
TEST(NormaliseOptions, SubcommandsUseTheirOwnOptionsAndKeepGoingPastArguments) {
  CLI::App app{"qb"};
  std::string supervisor, name;
  int priority = 0;
  std::vector<long long> ids;
  app.add_option("--supervisor", supervisor);
  CLI::App* modify = app.add_subcommand("modify");
  modify->add_option("ids", ids);
  modify->add_option("--priority", priority);
  modify->add_option("--match-name", name);
  CLI::App* jobs = app.add_subcommand("jobs");
  jobs->add_option("--pgrp", priority);
  jobs->add_option("--priority_min", priority);  // a prefix clash in another subcommand only
  const auto qb = [&](Args args) { return normalise_options(app, std::move(args), Words::arguments); };
  EXPECT_EQ(qb({"-sup", "tcp://x", "modify", "-priority", "5", "12", "-pri", "6", "13"}),
            (Args{"--supervisor", "tcp://x", "modify", "--priority", "5", "12", "--priority", "6", "13"}));
  EXPECT_EQ(qb({"modify", "12", "-match", "a*"}), (Args{"modify", "12", "--match-name", "a*"}));
  EXPECT_EQ(qb({"jobs", "-pg", "3"}), (Args{"jobs", "--pgrp", "3"}));
  // --supervisor is the top level's, not modify's: left for CLI11 to refuse.
  EXPECT_EQ(qb({"modify", "-sup", "x"}), (Args{"modify", "-sup", "x"}));
}

}  // namespace
