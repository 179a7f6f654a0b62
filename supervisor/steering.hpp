#pragma once
// The client verbs that steer jobs (kill, block, retry, ...), typed. A request
// is decoded once, at the edge (steering_from_json), into a Steering value; the
// Farm acts on that, and Qube-language callbacks build one directly instead of
// a wire request. The outcome is typed too and encoded once for the reply.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "qube/json.hpp"
#include "qube/model.hpp"

namespace qube::supervisor {

enum class SteerVerb {
  kill, block, unblock, suspend, resume, interrupt, modify, top, bottom,
  complete, retry, requeue, remove, satisfy, fail, append
};

// How a verb reads in replies and messages.
struct VerbWords {
  const char* done;    // the reply's key, past tense: "killed"
  const char* action;  // for messages: "only alice or an admin may kill it"
  bool ended_too;      // ended jobs may be acted on
};
const VerbWords& words(SteerVerb verb);

// Qube's job filters for listing and bulk operations: {user, name (a glob),
// status, pgrp, token, kind, account, domain}; an absent key matches everything.
class JobFilter {
 public:
  JobFilter() = default;
  explicit JobFilter(const Json& filter);  // throws for an unknown status
  bool any() const { return any_; }
  bool operator()(const Job& job) const;
  // The submission token asked for (qb jobs --token). A job does not know its
  // token, the Farm does: it hands over that token's jobs with token_jobs(), and
  // until then a token filter matches nothing.
  const std::string& token() const { return token_; }
  void token_jobs(const std::vector<JobId>& ids) { token_jobs_.insert(ids.begin(), ids.end()); }

 private:
  std::string user_, name_, status_, token_;
  std::string kind_, account_, domain_;  // Qube!'s bookkeeping fields: exact match
  JobId pgrp_ = 0;
  std::set<JobId> token_jobs_;
  bool any_ = false;
};

struct Steering {
  std::vector<JobId> ids;  // with a filter, the filter narrows them
  JobFilter filter;
  std::string who = "unknown";  // who asks: only the job's owner or an admin may steer it
  // A frame range: only items holding these frames. The item verbs (retry,
  // complete, requeue) take it, and so do kill, block and unblock, which then act
  // on those items instead of the whole job.
  std::string work;
  // Act on items without a range: every item the verb applies to (the callbacks'
  // VERB-work-TARGET codes when the event is about no item of that job).
  bool all_items = false;
  // Only the items last run by this instance (the callbacks' retry-subjob-self).
  std::int32_t subid = -1;
  bool on_items() const { return all_items || !work.empty() || subid >= 0; }
};
// Throws FormatError (ids that are not positive integers) or std::runtime_error.
Steering steering_from_json(const Json& body);
// body.ids alone (listing takes its filter its own way).
std::vector<JobId> ids_from_json(const Json& body);

// One job's outcome: done (with the number of items acted on, for item verbs),
// or an error in words.
struct StepResult {
  std::string error;
  std::optional<std::size_t> items;
  static StepResult done() { return {}; }
  static StepResult failed(std::string why) { return {std::move(why), std::nullopt}; }
  static StepResult done_items(std::size_t n) { return {{}, n}; }
};

struct StepOutcome {
  struct Done {
    JobId id = 0;
    std::optional<std::size_t> items;
  };
  SteerVerb verb = SteerVerb::kill;
  std::vector<Done> done;
  std::vector<std::string> errors;
};
// {<words(verb).done>: [id | {id, items}], errors: [text]}
Json to_json(const StepOutcome& outcome);

}  // namespace qube::supervisor
