#include "qube/model.hpp"

#include <array>
#include "qube/clock.hpp"

namespace qube {

double now_seconds() { return Clock::system().wall().seconds; }

namespace {
constexpr std::array<std::string_view, 9> kJobStatusNames = {
    "pending", "blocked", "waiting", "running", "suspended",
    "complete", "failed", "killed", "dying"};
constexpr std::array<std::string_view, 9> kWorkStatusNames = {
    "pending", "blocked", "waiting", "running", "complete",
    "failed", "killed", "retrying", "skipped"};
constexpr std::array<std::string_view, 4> kHostStateNames = {"active", "down", "locked", "panic"};

template <typename E, std::size_t N>
std::optional<E> parse_enum(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(JobStatus s) { return kJobStatusNames.at(static_cast<std::size_t>(s)); }
std::string_view to_string(WorkStatus s) { return kWorkStatusNames.at(static_cast<std::size_t>(s)); }
std::string_view to_string(HostState s) { return kHostStateNames.at(static_cast<std::size_t>(s)); }
std::optional<JobStatus> parse_job_status(std::string_view s) {
  return parse_enum<JobStatus>(kJobStatusNames, s);
}
std::optional<WorkStatus> parse_work_status(std::string_view s) {
  return parse_enum<WorkStatus>(kWorkStatusNames, s);
}
std::optional<HostState> parse_host_state(std::string_view s) {
  return parse_enum<HostState>(kHostStateNames, s);
}

bool is_terminal(JobStatus s) {
  return s == JobStatus::complete || s == JobStatus::failed || s == JobStatus::killed;
}
bool is_terminal(WorkStatus s) {
  return s == WorkStatus::complete || s == WorkStatus::failed || s == WorkStatus::killed ||
         s == WorkStatus::skipped;
}

Progress progress_of(const Job& job) {
  Progress p;
  p.total = job.agenda.size();
  for (const auto& item : job.agenda) {
    switch (item.status) {
      case WorkStatus::pending: ++p.pending; break;
      case WorkStatus::running: ++p.running; break;
      case WorkStatus::complete:
      case WorkStatus::skipped: ++p.complete; break;
      case WorkStatus::failed:
      case WorkStatus::killed: ++p.failed; break;
      default: ++p.other; break;
    }
  }
  return p;
}

}  // namespace qube
