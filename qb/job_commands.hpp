#pragma once
// qb's job commands, apart from the command line that fills their options
// (main.cpp, the only file that knows CLI11 besides host_commands.cpp): jobs,
// show, out/err, history, wait, ping, and the verbs that steer jobs.
#include <string>
#include <vector>

#include "qube/client.hpp"
#include "usage_error.hpp"

namespace qube::qb {

// The options of the job commands; each command reads the ones it has.
struct JobOptions {
  std::vector<std::string> ids;
  std::string user, status, ref, work, name;
  std::string token;  // jobs only: the jobs of the submission qbsub sent with this token
  std::string kind, account, domain;  // jobs only: Qube!'s bookkeeping fields (qbsub --kind ...)
  long long pgrp = 0;
  double timeout = 0;
  bool follow = false;
  long long attempt = 0;
  bool failed_only = false;
  bool json = false;
  // append only: the items to add, as qbsub names them.
  std::string range;
  std::vector<std::string> items;
  long long chunk = 1;
};

// Verbs that steer jobs: ids and/or Qube's filters, e.g. "kill all my pending
// jobs": qb kill --user me --status pending. One request per verb; the reply
// lists the jobs acted on and the errors.
struct JobVerb {
  const char* name;
  const char* done;  // the reply's key, and the word printed
  const char* help;
  bool work = false;  // takes --work RANGE (item verbs)
};
const std::vector<JobVerb>& job_verbs();

// qb modify's fields: each option given becomes one field of the request's `set`.
struct ModifyField {
  const char* flag;
  const char* key;
  const char* help;
  enum Kind { integer, number, text, list, boolean, no_value } kind;  // no_value: a bare flag, sent as true
  std::string value{};
  bool given = false;
};
std::vector<ModifyField> modify_fields();

// Each runs one command and returns qb's exit code; a failed request throws, a
// mistake in the options throws UsageError.
int list_jobs(Client& client, const JobOptions& o);
int show_job(Client& client, const JobOptions& o);
int show_history(Client& client, const JobOptions& o);
int wait_for(Client& client, const JobOptions& o);
int ping(Client& client, const JobOptions& o);
// `modify`: the fields of qb modify, for that verb only.
int run_verb(Client& client, const JobVerb& verb, const JobOptions& o, const std::vector<ModifyField>* modify);
// qb out and qb err (output.cpp); `stream` is "out" or "err".
int print_output(Client& client, const JobOptions& o, const char* stream);

// "12" -> {12, -1}; "12.3" -> {12, 3}.
std::pair<JobId, int> parse_job_ref(const std::string& text, bool allow_sub);

}  // namespace qube::qb
