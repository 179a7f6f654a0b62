#include "qube/wait.hpp"

#include <thread>

namespace qube {

namespace {

std::string bar(std::size_t done, std::size_t total, int width) {
  const int filled = total ? static_cast<int>(width * done / total) : width;
  std::string s = "[";
  s.append(static_cast<std::size_t>(filled), '#').append(static_cast<std::size_t>(width - filled), '.');
  return s.append("]");
}

}  // namespace

bool wait_for_jobs(Client& client, const std::vector<JobId>& ids, std::ostream& out,
                   const WaitOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  std::string last_line;
  while (true) {
    const Json reply = client.request("jobs", Json{{"ids", ids}});
    bool all_terminal = true, all_complete = true;
    std::string line;
    for (const auto& j : get_array(reply, "jobs")) {
      const std::string status = get_string(j, "status");
      const auto parsed = parse_job_status(status);
      all_terminal = all_terminal && parsed && is_terminal(*parsed);
      all_complete = all_complete && status == "complete";
      const Json& p = get_object(j, "progress");
      const auto total = static_cast<std::size_t>(get_int(p, "total"));
      const auto done = static_cast<std::size_t>(get_int(p, "complete") + get_int(p, "failed"));
      if (!line.empty()) line += "  ";
      line += "job " + std::to_string(get_int(j, "id")) + " " + status;
      if (total > 0) {
        line.append(" ").append(std::to_string(done)).append("/").append(std::to_string(total));
        if (options.progress_bar) line.append(" ").append(bar(done, total, 30));
        if (get_int(p, "running") > 0) line += " (" + std::to_string(get_int(p, "running")) + " running)";
        if (get_int(p, "failed") > 0) line += " (" + std::to_string(get_int(p, "failed")) + " failed)";
      }
    }
    if (!options.quiet && line != last_line) {
      if (options.progress_bar) out << "\r\033[K" << line << std::flush;
      else out << line << std::endl;
      last_line = line;
    }
    if (all_terminal) {
      if (options.progress_bar && !options.quiet) out << "\n";
      return all_complete;
    }
    if (options.timeout.count() > 0 && std::chrono::steady_clock::now() - started > options.timeout)
      throw ClientError("timed out waiting for the job(s)");
    std::this_thread::sleep_for(options.poll);
  }
}

}  // namespace qube
