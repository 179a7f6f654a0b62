#include "format.hpp"

#include <csignal>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <iomanip>
#include <sstream>

namespace qube::qb {

namespace {

std::string when(const Json& j, const char* key) {
  const Time t = get_time(j, key);
  if (!t) return "-";
  std::time_t secs = static_cast<std::time_t>(*t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string text(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>().empty() ? "-" : it->get<std::string>();
  return it->dump();
}

std::string seconds(double s) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(s < 10 ? 2 : 1) << s << "s";
  return o.str();
}

// A table cell: the text padded to its column, and always at least one space
// after it, so that a long status or host name never runs into the next column.
struct Cell {
  std::string text;
  std::size_t width;
};
Cell cell(std::string text, std::size_t width) { return Cell{std::move(text), width}; }
Cell cell(std::int64_t n, std::size_t width) { return Cell{std::to_string(n), width}; }
std::ostream& operator<<(std::ostream& out, const Cell& c) {
  return out << c.text << std::string(c.text.size() < c.width ? c.width - c.text.size() : 1, ' ');
}

std::string memory(std::int64_t kb) {
  if (kb <= 0) return "-";
  std::ostringstream o;
  if (kb >= 1024 * 1024) o << std::fixed << std::setprecision(1) << kb / (1024.0 * 1024.0) << "G";
  else if (kb >= 1024) o << std::fixed << std::setprecision(1) << kb / 1024.0 << "M";
  else o << kb << "K";
  return o.str();
}

// "exit 1", "signal 9 (SIGKILL)": how an attempt ended.
std::string outcome(const Json& a) {
  if (auto it = a.find("signal"); it != a.end() && it->is_number_integer()) {
    const int sig = it->get<int>();
    const char* name = sigabbrev_np(sig);
    return "signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  if (auto it = a.find("exitcode"); it != a.end() && it->is_number_integer())
    return "exit " + std::to_string(it->get<int>());
  return "no exit code";
}

// What a wrangler usually reads into an exit (OpenCue's failure analysis).
std::string hint(const Json& a) {
  if (auto it = a.find("signal"); it != a.end() && it->is_number_integer()) {
    switch (it->get<int>()) {
      case SIGKILL: return "killed: often out of memory (the kernel's OOM killer) or a kill";
      case SIGSEGV: return "crashed (segmentation fault)";
      case SIGABRT: return "aborted (an assertion or an uncaught exception)";
      case SIGTERM: return "terminated (killed by a user or a time limit)";
      default: return "";
    }
  }
  if (auto it = a.find("exitcode"); it != a.end() && it->is_number_integer()) {
    const int code = it->get<int>();
    if (code == 137) return "128+9: killed, often out of memory";
    if (code == 127) return "command not found";
    if (code == 126) return "command not executable";
  }
  return "";
}

// qb hosts --long: what placement knows of a host, under its line.
void print_host_facts(std::ostream& out, const Json& f) {
  auto list = [](const Json& a) {
    std::string s;
    for (const auto& v : a) s.append(s.empty() ? "" : ",").append(v.is_string() ? v.get<std::string>() : v.dump());
    return s.empty() ? std::string("-") : s;
  };
  out << "    os " << text(f, "os") << "   cluster " << text(f, "cluster") << "   groups " << list(get_array(f, "groups"))
      << "   gpus " << get_int(f, "gpus_free") << "/" << get_int(f, "gpus") << " free   memory free "
      << get_int(f, "memory_free_mb") << "M" << (get_bool(f, "locked") ? "   LOCKED" : "") << "\n";
  std::string props, res;
  for (const auto& [k, v] : get_object(f, "properties").items()) props += " host." + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  for (const auto& [k, v] : get_object(f, "resources").items())
    res += " " + k + " " + std::to_string(get_int(v, "used")) + "/" + std::to_string(get_int(v, "total"));
  if (!props.empty()) out << "    properties" << props << "\n";
  if (!res.empty()) out << "    resources (used/total)" << res << "\n";
  if (const std::string r = get_string(f, "restrictions"); !r.empty()) out << "    restrictions " << r << "\n";
}

void print_instances(std::ostream& out, const Json& j);
void print_agenda_summary(std::ostream& out, const Json& j);

}  // namespace

void print_jobs(std::ostream& out, const Json& jobs) {
  out << std::left << std::setw(7) << "ID" << std::setw(24) << "NAME" << std::setw(12) << "USER" << std::setw(10)
      << "STATUS" << std::setw(6) << "PRI" << std::setw(6) << "CPUS" << std::setw(12) << "DONE"
      << "SUBMITTED\n";
  for (const auto& j : jobs) {
    const Json& p = get_object(j, "progress");
    std::string done = get_int(p, "total") == 0
                           ? "-"
                           : std::to_string(get_int(p, "complete")) + "/" + std::to_string(get_int(p, "total"));
    std::string name = text(j, "name");
    if (name.size() > 22) name = name.substr(0, 21) + "~";
    out << cell(get_int(j, "id"), 7) << cell(name, 24) << cell(text(j, "user"), 12) << cell(text(j, "status"), 10)
        << cell(get_int(j, "priority"), 6) << cell(get_int(j, "cpus"), 6) << cell(done, 12) << when(j, "timesubmit")
        << "\n";
  }
}

void print_job(std::ostream& out, const Json& j) {
  out << "job " << get_int(j, "id") << "  " << text(j, "name") << "\n"
      << "  status    " << text(j, "status");
  if (!get_string(j, "reason").empty()) out << "  (" << get_string(j, "reason") << ")";
  out << "\n  type      " << text(j, "type") << "   user " << text(j, "user") << "   priority "
      << get_int(j, "priority") << "   cpus " << get_int(j, "cpus") << "   pgrp " << get_int(j, "pgrp") << "\n"
      << "  submitted " << when(j, "timesubmit") << "   started " << when(j, "timestart") << "   ended "
      << when(j, "timecomplete") << "\n";
  if (!get_string(j, "range").empty()) out << "  range     " << get_string(j, "range") << "\n";
  // Qube!'s bookkeeping (qbsub --kind --account --domain), when the job has any.
  if (!get_string(j, "kind").empty() || !get_string(j, "account").empty() || !get_string(j, "domain").empty())
    out << "  kind      " << text(j, "kind") << "   account " << text(j, "account") << "   domain "
        << text(j, "domain") << "\n";
  for (const auto& e : get_array(j, "excluded_hosts"))
    out << "  reason    host " << get_string(e, "host") << " excluded: " << get_string(e, "reason") << "\n";
  // A big agenda came as its first page: the summary, not a table of a million rows.
  if (j.contains("agenda_next")) {
    print_agenda_summary(out, j);
    print_instances(out, j);
    return;
  }
  const Json& agenda = get_array(j, "agenda");
  if (!agenda.empty()) {
    out << "\n  " << std::left << std::setw(14) << "ITEM" << std::setw(10) << "STATUS" << std::setw(16) << "HOST"
        << std::setw(6) << "EXIT" << std::setw(5) << "TRY" << std::setw(16) << "STARTED" << std::setw(9) << "WALL"
        << std::setw(9) << "CPU" << std::setw(8) << "PEAKMEM"
        << "REASON\n";
    for (const auto& i : agenda) {
      out << "  " << cell(text(i, "name"), 14) << cell(text(i, "status"), 10) << cell(text(i, "host"), 16)
          << cell(text(i, "exitcode"), 6) << cell(get_int(i, "attempts"), 5) << cell(when(i, "timestart"), 16)
          << cell((get_time(i, "timecomplete") ? seconds(get_double(i, "walltime")) : "-"), 9)
          << cell((get_time(i, "timecomplete") ? seconds(get_double(i, "cputime")) : "-"), 9)
          << cell(memory(get_int(i, "peak_rss_kb")), 8) << get_string(i, "reason") << "\n";
    }
  }
  // Items that ran more than once: every attempt, oldest first.
  bool header = false;
  for (const auto& i : agenda) {
    const Json& history = get_array(i, "history");
    if (history.size() < 2 && get_int(i, "failures") == 0) continue;
    if (!header) {
      out << "\n  ATTEMPTS\n";
      header = true;
    }
    for (const auto& a : history)
      out << "  " << cell(text(i, "name"), 14) << "#" << cell(get_int(a, "attempt_id"), 4)
          << cell(text(a, "status"), 10) << cell(text(a, "host"), 16) << cell(outcome(a), 22)
          << cell(when(a, "timestart"), 16) << cell(seconds(get_double(a, "walltime")), 9)
          << cell(memory(get_int(a, "peak_rss_kb")), 8) << get_string(a, "reason") << "\n";
  }
  // What each item wrote (the job type's resultpackage: maya, nuke, blender).
  header = false;
  for (const auto& i : agenda) {
    const Json& result = get_object(i, "resultpackage");
    const Json& outputs =
        result.contains("outputs") && result["outputs"].is_array() ? result["outputs"] : Json::array();
    for (const auto& path : outputs) {
      if (!path.is_string()) continue;
      if (!header) {
        out << "\n  OUTPUTS\n";
        header = true;
      }
      out << "  " << cell(text(i, "name"), 14) << path.get<std::string>() << "\n";
    }
  }
  print_instances(out, j);
}

namespace {

void print_instances(std::ostream& out, const Json& j) {
  const Json& instances = get_array(j, "instances");
  if (!instances.empty()) {
    out << "\n  " << std::left << std::setw(10) << "INSTANCE" << std::setw(10) << "STATUS" << std::setw(16) << "HOST"
        << std::setw(6) << "EXIT" << std::setw(16) << "STARTED" << std::setw(16) << "ENDED" << std::setw(28)
        << "GRANTED"
        << "REASON\n";
    for (const auto& s : instances)
      out << "  " << cell((std::to_string(get_int(j, "id")) + "." + std::to_string(get_int(s, "subid"))), 10)
          << cell(text(s, "status"), 10) << cell(text(s, "host"), 16) << cell(text(s, "exitcode"), 6)
          << cell(when(s, "timestart"), 16) << cell(when(s, "timecomplete"), 16) << cell(text(s, "allocation"), 28)
          << get_string(s, "reason") << "\n";
  }
}

void print_agenda_summary(std::ostream& out, const Json& j) {
  const Json& summary = get_object(j, "agenda_summary");
  out << "  agenda    " << get_int(summary, "total") << " items:";
  for (const auto& [status, n] : get_object(summary, "by_status").items()) out << " " << n.dump() << " " << status;
  out << "\n";
  const Json& running = get_array(summary, "running");
  if (!running.empty()) {
    out << "\n  RUNNING NOW\n";
    for (const auto& i : running)
      out << "  " << cell(text(i, "name"), 14) << cell(text(i, "host"), 16) << when(i, "timestart") << "\n";
  }
  const Json& failures = get_array(summary, "failures");
  if (!failures.empty()) {
    out << "\n  FIRST FAILURES\n";
    for (const auto& i : failures)
      out << "  " << cell(text(i, "name"), 14) << cell(text(i, "status"), 10) << cell(text(i, "host"), 16)
          << cell(text(i, "exitcode"), 6) << get_string(i, "reason") << "\n";
  }
  out << "\n  (" << get_int(summary, "total") << " items: `qb show " << get_int(j, "id")
      << " --work RANGE` lists some, `--json` all, `--failed` the failures)\n";
}

}  // namespace

void print_hosts(std::ostream& out, const Json& hosts, bool long_form) {
  out << std::left << std::setw(20) << "NAME" << std::setw(8) << "STATE" << std::setw(8) << "SLOTS" << std::setw(10)
      << "MEMORY" << std::setw(18) << "LAST HEARTBEAT"
      << "JOB TYPES\n";
  for (const auto& h : hosts) {
    std::string types;
    for (const auto& t : get_array(h, "jobtypes")) types.append(types.empty() ? "" : ",").append(t.get<std::string>());
    out << cell(text(h, "name"), 20) << cell(text(h, "state"), 8)
        << cell((std::to_string(get_int(h, "slots_used")) + "/" + std::to_string(get_int(h, "slots"))), 8)
        << cell((std::to_string(get_int(h, "memory_mb")) + "M"), 10) << cell(when(h, "last_heartbeat"), 18) << types;
    // Suspect is a mark beside the state, not a state: a suspect host may be active or locked.
    if (!get_string(h, "suspect_reason").empty()) out << "  SUSPECT: " << get_string(h, "suspect_reason");
    out << "\n";
    if (long_form && h.contains("facts")) print_host_facts(out, get_object(h, "facts"));
  }
}

void print_history(std::ostream& out, const Json& events) {
  for (const auto& e : events)
    out << when(e, "time") << "  " << std::left << cell(text(e, "event"), 10) << text(e, "text") << "\n";
}

Json failure_summary(const Json& job) {
  std::map<std::string, std::map<std::string, int>> by_host;  // host -> outcome -> count
  std::map<std::string, std::pair<int, std::set<std::string>>> by_outcome;  // outcome -> count, hosts
  std::map<std::string, std::string> hints;
  int total = 0;
  for (const auto& item : get_array(job, "agenda"))
    for (const auto& a : get_array(item, "history")) {
      if (get_string(a, "status") != "failed") continue;
      const std::string host = get_string(a, "host", "-");
      const std::string what = outcome(a);
      ++by_host[host][what];
      ++by_outcome[what].first;
      by_outcome[what].second.insert(host);
      hints[what] = hint(a);
      ++total;
    }
  Json hosts = Json::array(), outcomes = Json::array();
  for (const auto& [host, counts] : by_host) {
    int n = 0;
    for (const auto& [what, c] : counts) n += c;
    hosts.push_back(Json{{"host", host}, {"failures", n}, {"outcomes", counts}});
  }
  for (const auto& [what, entry] : by_outcome)
    outcomes.push_back(Json{{"outcome", what}, {"failures", entry.first}, {"hosts", entry.second}, {"hint", hints[what]}});
  return Json{{"id", job.value("id", 0)}, {"failures", total}, {"by_host", hosts}, {"by_outcome", outcomes},
              {"excluded_hosts", get_array(job, "excluded_hosts")}};
}

void print_failures(std::ostream& out, const Json& job) {
  const Json summary = failure_summary(job);
  out << "job " << get_int(job, "id") << ": " << get_int(summary, "failures") << " failed attempt(s)\n";
  const Json& excluded = get_array(summary, "excluded_hosts");
  if (!excluded.empty()) {
    out << "\n  EXCLUDED HOSTS (qb modify " << get_int(job, "id") << " --clear-bad-hosts lets them back)\n";
    for (const auto& e : excluded)
      out << "  " << std::left << std::setw(20) << get_string(e, "host") << get_string(e, "reason") << "  since "
          << when(e, "since") << "\n";
  }
  if (get_int(summary, "failures") == 0) return;
  out << "\n  BY HOST\n";
  for (const auto& h : summary["by_host"]) {
    out << "  " << std::left << std::setw(20) << get_string(h, "host") << std::setw(6) << get_int(h, "failures");
    std::string parts;
    for (const auto& [what, c] : h["outcomes"].items()) parts += (parts.empty() ? "" : ", ") + what + " x" + c.dump();
    out << parts << "\n";
  }
  out << "\n  BY EXIT\n";
  for (const auto& o : summary["by_outcome"]) {
    out << "  " << std::left << std::setw(24) << get_string(o, "outcome") << std::setw(6) << get_int(o, "failures")
        << "on " << o["hosts"].size() << " host(s)";
    if (!get_string(o, "hint").empty()) out << "  - " << get_string(o, "hint");
    out << "\n";
  }
}

}  // namespace qube::qb
