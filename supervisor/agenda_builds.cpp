#include "agenda_builds.hpp"

#include <algorithm>

#include "effects.hpp"
#include "farm.hpp"
#include "qube/codec.hpp"
#include "qube/range.hpp"
#include "security.hpp"

namespace qube::supervisor {

namespace {

// Jobs of one submission the loop decodes itself: past this, their specs are
// decoded and their agendas built apart.
constexpr std::size_t kJobsDecodedOnTheLoop = 100;

std::size_t items_asked(const Json& job) {
  std::size_t n = 0;
  if (const auto agenda = job.find("agenda"); agenda != job.end() && agenda->is_array()) n += agenda->size();
  const std::string range = get_string(job, "range");
  if (range.empty()) return n;
  std::size_t frames = 0;
  for (const auto& run : parse_range(range)) frames += run.count();
  const std::int64_t partitions = get_int(job, "partitions");
  if (partitions > 0) return n + std::min(frames, static_cast<std::size_t>(partitions));
  return n + frames / static_cast<std::size_t>(std::max<std::int64_t>(1, get_int(job, "chunk", 1)));
}

}  // namespace

bool worth_building_apart(const Json& body) {
  try {
    const Json& jobs = get_array(body, "jobs");
    if (jobs.size() > kJobsDecodedOnTheLoop) return true;
    std::size_t n = 0;
    for (const Json& job : jobs) n += items_asked(job);
    return n > kRowsPerRound;
  } catch (const std::exception&) {
    return false;  // a malformed body is refused on the loop, as any other
  }
}

namespace {

// Takes the body, and frees it here rather than on the loop.
BuiltSubmission build(Json body) {
  BuiltSubmission built;
  try {
    built.submission = submission_from_json(body);
  } catch (const std::exception& e) {
    built.error = e.what();
  }
  body = Json();
  Submission& s = built.submission;
  for (const auto& entry : s.jobs) {
    try {
      s.agendas.emplace_back(build_agenda(entry.spec));
    } catch (const std::exception&) {
      s.agendas.emplace_back();  // Farm::submit builds it again and reports the error
    }
  }
  return built;
}

}  // namespace

std::future<BuiltSubmission> build_apart(Json body) {
  return std::async(std::launch::async, [body = std::move(body)]() mutable { return build(std::move(body)); });
}

std::future<BuiltSubmission> decode_and_build_apart(std::string body, std::string holder) {
  return std::async(std::launch::async, [body = std::move(body), holder = std::move(holder)] {
    proto::Message msg;
    msg.type = proto::kSubmit;
    try {
      msg.body = decode(body);
      require_object(msg.body, "message body");
    } catch (const std::exception& e) {
      BuiltSubmission refused;
      refused.error = e.what();
      return refused;
    }
    const std::string who = Security::as_asker(msg, holder);
    BuiltSubmission built = build(std::move(msg.body));
    built.who = who;
    return built;
  });
}

}  // namespace qube::supervisor
