// `qb show`: one job, its instances and its agenda, a page at a time. A job of a
// million items cannot go out in one reply: encoding it held the loop for
// seconds and took gigabytes (issue 15). A reply carries at most kShowPage
// items and says where the next page starts; it always carries a summary of the
// whole agenda (counts by status, what runs now, the first failures).
#include <algorithm>

#include "farm.hpp"
#include "qube/codec.hpp"
#include "work_selector.hpp"

namespace qube::supervisor {

namespace {

// Items in one reply: about 10 ms of encoding, so a page never holds the loop long.
constexpr std::size_t kShowPage = 10000;
// What the summary lists by name.
constexpr std::size_t kSummaryRunning = 50, kSummaryFailures = 20;

// Why a job that is not held itself runs nothing: every item left is held
// (qb block --work). It stays pending; empty if something else is left.
std::string items_blocked_reason(const JobState& js) {
  const std::size_t held_items = js.items(WorkStatus::blocked);
  const std::size_t ended = js.items(WorkStatus::complete) + js.items(WorkStatus::skipped) +
                            js.items(WorkStatus::failed) + js.items(WorkStatus::killed);
  if (held_items == 0 || held_items + ended != js.job.agenda.size()) return {};
  return "its remaining " + std::to_string(held_items) + " item(s) are blocked (qb unblock " +
         std::to_string(js.job.id) + " --work RANGE)";
}

bool ever_failed(const AgendaItem& item) { return item.failures > 0 || item.status == WorkStatus::failed; }

Json agenda_summary(const JobState& js) {
  Json running = Json::array(), failures = Json::array();
  for (const auto& item : js.job.agenda) {
    if (item.status == WorkStatus::running && running.size() < kSummaryRunning)
      running.push_back(Json{{"name", item.name}, {"host", item.host}, {"subid", item.subid},
                             {"timestart", opt_json(item.timestart)}});
    if (ever_failed(item) && failures.size() < kSummaryFailures)
      failures.push_back(Json{{"name", item.name},       {"status", std::string(to_string(item.status))},
                              {"host", item.host},       {"exitcode", opt_json(item.exitcode)},
                              {"failures", item.failures}, {"reason", item.reason}});
  }
  Json by_status = Json::object();
  for (std::size_t s = 0; s < kWorkStatuses; ++s)  // every status, in enum order
    if (const std::size_t n = js.items(static_cast<WorkStatus>(s)); n > 0)
      by_status[std::string(to_string(static_cast<WorkStatus>(s)))] = n;
  return Json{{"total", js.job.agenda.size()}, {"by_status", by_status}, {"running", running}, {"failures", failures}};
}

}  // namespace

// Body: {id, from?, count?, work?, failed?}. The page holds the items from
// position `from` on that the selection keeps (`work`: a frame range, as the work
// verbs take; `failed`: items that ever failed), at most `count` of them. The
// first page (from 0) also carries the agenda's summary and why the job waits.
// Returns the job's record encoded, its items encoded straight from memory.
std::string Farm::show_job(const Json& body) const {
  const auto id = static_cast<JobId>(get_int(body, "id"));
  const JobState* js = job(id);
  if (!js) throw std::runtime_error("no job " + std::to_string(id));
  const auto& agenda = js->job.agenda;
  const auto from = static_cast<std::size_t>(std::clamp<std::int64_t>(get_int(body, "from", 0), 0,
                                                                     static_cast<std::int64_t>(agenda.size())));
  const auto count = static_cast<std::size_t>(
      std::clamp<std::int64_t>(get_int(body, "count", kShowPage), 0, static_cast<std::int64_t>(kShowPage)));
  const WorkSelector selected(get_string(body, "work"), -1);
  const bool failed_only = get_bool(body, "failed");

  std::vector<std::string> items;
  std::size_t i = from;
  for (; i < agenda.size() && items.size() < count; ++i)
    if ((!failed_only || ever_failed(agenda[i])) && selected(agenda[i])) items.push_back(encode_item(agenda[i]));
  Json out = to_json_without_agenda(js->job, js->progress());
  out["agenda_total"] = agenda.size();
  // Where the next page starts; absent when this one reached the end.
  if (i < agenda.size()) out["agenda_next"] = i;
  if (from == 0) {
    out["agenda_summary"] = agenda_summary(*js);
    // Why it waits, as of now: hosts and resources change between passes.
    if (js->indexed && js->running.empty()) out["reason"] = scheduler_.explain(*js);
    if (js->job.status == JobStatus::pending)
      if (std::string held_items = items_blocked_reason(*js); !held_items.empty()) out["reason"] = std::move(held_items);
  }
  return encode_with_array(out, "agenda", {items.begin(), items.end()});
}

}  // namespace qube::supervisor
