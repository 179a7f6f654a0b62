#pragma once
// qbsub's options as data: where each value goes and how it is written. main.cpp
// hands them to CLI11, in this order (the order --help lists them in).
#include <string>
#include <variant>
#include <vector>

#include "qube/model.hpp"

namespace qube::qbsub {

// Everything qbsub's command line gives: the job itself, and what only qbsub reads.
struct Submission {
  JobSpec spec;
  std::string package_text, status, supervisor, type, for_user, file;
  std::string token;  // names the submission (default: a random one)
  std::vector<std::string> env, callbacks, mail;
  std::vector<std::string> addresses;  // --address: Qube!'s name for --mail's addresses
  std::vector<long long> waitfor;
  long long parent = -1;
  long long pgrp = 0;        // an existing process group to join (0: a new one, or the parent's)
  std::string parent_label;  // an imported HQueue child's parent (job files only)
  std::string export_file, import_file;  // --export writes the jobs instead; --import starts from a file
  std::vector<std::string> command;      // the command and its arguments
  bool json = false, waiton = false;
  bool reverse = false, binary = false;  // --reverse, --binary: spec.order
  int p_priority = 0, p_cpus = 0;        // > 0: the preview items become a job of their own
};

// One option of the command line: where its value goes and how it is written.
struct OptionSpec {
  const char* names;
  std::variant<std::string*, int*, double*, long long*, bool*, std::vector<std::string>*, std::vector<long long>*>
      target;
  const char* help;
  enum Shape { one, repeatable, comma_list } shape = one;  // comma_list: "a,b", also repeatable
};

// Every option, in order: what the job runs, placement, then the submission itself.
std::vector<OptionSpec> option_specs(Submission& s);

}  // namespace qube::qbsub
