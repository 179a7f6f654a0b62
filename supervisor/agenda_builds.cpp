#include "agenda_builds.hpp"

#include <algorithm>

#include "effects.hpp"
#include "farm.hpp"
#include "qube/range.hpp"

namespace qube::supervisor {

namespace {

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
    std::size_t n = 0;
    for (const Json& job : get_array(body, "jobs")) n += items_asked(job);
    return n > kRowsPerRound;
  } catch (const std::exception&) {
    return false;  // a malformed body is refused on the loop, as any other
  }
}

std::future<Submission> build_apart(Json body) {
  return std::async(std::launch::async, [body = std::move(body)] {
    Submission s;
    try {
      s = submission_from_json(body);
    } catch (const std::exception&) {
      return Submission{};  // no jobs: the loop decodes it again and answers the error
    }
    for (const auto& entry : s.jobs) {
      try {
        s.agendas.emplace_back(build_agenda(entry.spec));
      } catch (const std::exception&) {
        s.agendas.emplace_back();  // Farm::submit builds it again and reports the error
      }
    }
    return s;
  });
}

}  // namespace qube::supervisor
