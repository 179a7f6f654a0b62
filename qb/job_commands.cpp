// qb's job commands: each builds one request from the options, sends it, and
// prints the reply as a table or, with --json, as JSON.
#include "job_commands.hpp"

#include <unistd.h>

#include <iostream>

#include "exit_codes.hpp"
#include "format.hpp"
#include "qube/range.hpp"
#include "qube/wait.hpp"

namespace qube::qb {

namespace {

std::vector<JobId> parse_ids(const std::vector<std::string>& texts) {
  std::vector<JobId> ids;
  for (const auto& t : texts) ids.push_back(parse_job_ref(t, false).first);
  return ids;
}

// Qube's job filters given on the command line.
Json filter_of(const JobOptions& o) {
  Json filter = Json::object();
  if (!o.user.empty()) filter["user"] = o.user;
  if (!o.name.empty()) filter["name"] = o.name;
  if (!o.status.empty()) filter["status"] = o.status;
  if (o.pgrp > 0) filter["pgrp"] = o.pgrp;
  if (!o.token.empty()) filter["token"] = o.token;
  if (!o.kind.empty()) filter["kind"] = o.kind;
  if (!o.account.empty()) filter["account"] = o.account;
  if (!o.domain.empty()) filter["domain"] = o.domain;
  return filter;
}

// "a,b,,c" -> ["a", "b", "c"]
Json comma_list(const std::string& text) {
  Json list = Json::array();
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) list.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return list;
}

Json field_value(const ModifyField& f) {
  try {
    switch (f.kind) {
      case ModifyField::integer: return std::stoll(f.value);
      case ModifyField::number: return std::stod(f.value);
      case ModifyField::text: return f.value;
      case ModifyField::boolean: return f.value == "1" || f.value == "true" || f.value == "yes";
      case ModifyField::list: return comma_list(f.value);
      case ModifyField::no_value: return true;
    }
  } catch (const std::logic_error&) {
    throw UsageError(std::string(f.flag) + ": '" + f.value + "' is not a number");
  }
  return nullptr;  // not reached: every kind is handled
}

// qb modify's `set`: one field for each option given.
Json modify_request(const std::vector<ModifyField>& fields) {
  Json set = Json::object();
  for (const auto& f : fields)
    if (f.given) set[f.key] = field_value(f);
  if (set.empty()) throw UsageError("modify: nothing to change (e.g. --priority 10)");
  return set;
}

// A --work range that does not parse is the command's mistake (exit 2), found
// before anything is asked.
void check_work_range(const std::string& work) {
  if (work.empty()) return;
  try {
    parse_range(work);
  } catch (const RangeError& e) {
    throw UsageError("--work '" + work + "': " + e.what());
  }
}

// Qube!'s work lists name items as JOB:RANGE ("12:1-5", as qbblockwork and the
// Python module's blockwork take them): the ids, and the one range they name
// (--work is the other spelling of it).
std::pair<std::vector<JobId>, std::string> ids_and_work(const JobVerb& verb, const JobOptions& o) {
  std::vector<std::string> ids;
  std::string work = o.work;
  for (const auto& text : o.ids) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
      ids.push_back(text);
      continue;
    }
    if (!verb.work) throw UsageError(std::string(verb.name) + ": '" + text + "': only item verbs take JOB:RANGE");
    const std::string range = text.substr(colon + 1);
    if (range.empty()) throw UsageError("'" + text + "': no range after ':'");
    if (!work.empty() && work != range)
      throw UsageError("one range per command, not '" + work + "' and '" + range + "' (run it once for each)");
    work = range;
    ids.push_back(text.substr(0, colon));
  }
  check_work_range(work);
  return {parse_ids(ids), work};
}

void print_verb_reply(const JobVerb& verb, const Json& reply) {
  for (const auto& r : get_array(reply, verb.done)) {
    if (r.is_object()) std::cout << "job " << get_int(r, "id") << ": " << get_int(r, "items") << " item(s) " << verb.done << "\n";
    else std::cout << verb.done << " job " << r << "\n";
  }
  for (const auto& e : get_array(reply, "errors")) std::cerr << "qb: " << e.get<std::string>() << "\n";
}

}  // namespace

std::pair<JobId, int> parse_job_ref(const std::string& text, bool allow_sub) {
  const auto dot = text.find('.');
  auto number = [&](const std::string& s) -> long long {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("'" + text + "' is not a job id" + (allow_sub ? " (ID or ID.SUB)" : ""));
    return std::stoll(s);
  };
  if (dot != std::string::npos && !allow_sub) throw UsageError("'" + text + "' is not a job id");
  const long long id = number(text.substr(0, dot));
  if (id < 1) throw UsageError("job ids start at 1");
  const int sub = dot == std::string::npos ? -1 : static_cast<int>(number(text.substr(dot + 1)));
  return {static_cast<JobId>(id), sub};
}

const std::vector<JobVerb>& job_verbs() {
  static const std::vector<JobVerb> verbs = {
      {"kill", "killed", "kill jobs: running work is killed (qbkill); with --work, only those items", true},
      {"block", "blocked", "hold jobs: running work goes back to pending (qbblock); with --work, hold those items", true},
      {"unblock", "unblocked", "release blocked jobs (qbunblock); with --work, release those blocked items", true},
      {"suspend", "suspended", "stop running processes where they are (SIGSTOP); slots stay held"},
      {"resume", "resumed", "continue suspended jobs (SIGCONT)"},
      {"interrupt", "interrupted", "kill running work now; its items go back to pending"},
      {"remove", "removed", "forget ended jobs and their logs (qbremove)"},
      {"top", "moved", "run first among jobs of the same priority"},
      {"bottom", "moved", "run last among jobs of the same priority"},
      {"modify", "modified", "change jobs while they live (qbmodify)"},
      {"retry", "retried", "failed and killed items back to pending (qbretry)", true},
      {"requeue", "requeued", "like retry, but the job is held blocked so it can be modified first", true},
      {"complete", "completed", "mark items done without running them (OpenCue's eat frames)", true},
      {"satisfy", "satisfied", "release jobs' dependencies by hand: they run now"},
      {"append", "appended", "grow pending or running jobs: add agenda items (--range, --items)"},
  };
  return verbs;
}

std::vector<ModifyField> modify_fields() {
  return {
      {"--priority", "priority", "1 (most urgent) to 9999", ModifyField::integer},
      {"--cpus", "cpus", "instances to run at once", ModifyField::integer},
      {"--max_cpus", "max_cpus", "may grow into idle slots up to this many instances", ModifyField::integer},
      {"--name", "name", "job name", ModifyField::text},
      {"--retrywork", "retrywork", "retries of a failed item", ModifyField::integer},
      {"--retryworkdelay", "retryworkdelay", "seconds before such a retry", ModifyField::number},
      {"--retrysubjob", "retrysubjob", "retries of an instance that dies", ModifyField::integer},
      {"--timelimit", "timelimit", "seconds the job may run", ModifyField::number},
      {"--agendatimelimit", "agendatimelimit", "seconds one item may run", ModifyField::number},
      {"--hosts", "hosts", "only these hosts (comma separated)", ModifyField::list},
      {"--omithosts", "omithosts", "never these hosts", ModifyField::list},
      {"--groups", "groups", "only hosts in these groups", ModifyField::list},
      {"--omitgroups", "omitgroups", "never hosts in these groups", ModifyField::list},
      {"--requirements", "requirements", "Qube requirements expression", ModifyField::text},
      {"--reservations", "reservations", "Qube reservations", ModifyField::text},
      {"--restrictions", "restrictions", "clusters it may run in: /show/seq, /show/*", ModifyField::text},
      {"--cluster", "cluster", "the job's cluster", ModifyField::text},
      {"--dependency", "dependency",
       "wait for other jobs instead (as qbsub --dependency; '' drops them); a cycle is refused", ModifyField::text},
      {"--description", "description", "free text", ModifyField::text},
      {"--clear-bad-hosts", "clear_bad_hosts", "let the hosts excluded as bad hosts run it again", ModifyField::no_value},
  };
}

int list_jobs(Client& client, const JobOptions& o) {
  Json body{{"ids", parse_ids(o.ids)}};
  if (!o.status.empty() && !parse_job_status(o.status)) throw UsageError("--status: unknown status '" + o.status + "'");
  body.update(filter_of(o));
  if (o.json) {
    // Straight from the reply's MessagePack to text: no Json tree of every job.
    const std::string text = client.request_text("jobs", body, "jobs", 2);
    std::cout << (text.empty() ? "[]" : text) << "\n";
  } else {
    print_jobs(std::cout, get_array(client.request("jobs", body), "jobs"));
  }
  return 0;
}

namespace {

// One page of a job's agenda (farm_show.cpp): the job, `agenda` holding at most a
// page of the selected items, and `agenda_next` while more remain.
Json show_page(Client& client, JobId id, const JobOptions& o, std::size_t from, std::size_t count = 10000) {
  Json body{{"id", id}, {"from", from}, {"count", count}};
  if (!o.work.empty()) body["work"] = o.work;
  if (o.failed_only) body["failed"] = true;
  return get_object(client.request("show", body), "job");
}

// The items of the page after `job`'s, moving job's `agenda_next` on (absent
// once that page is the last).
Json next_items(Client& client, JobId id, const JobOptions& o, Json& job) {
  Json next = show_page(client, id, o, static_cast<std::size_t>(get_int(job, "agenda_next")));
  if (next.contains("agenda_next")) job["agenda_next"] = next["agenda_next"];
  else job.erase("agenda_next");
  return std::move(next["agenda"]);
}

// The job with every selected item, page after page: for a selection (--work,
// --failed), whose size the user chose.
Json show_selection(Client& client, JobId id, const JobOptions& o) {
  Json job = show_page(client, id, o, 0);
  while (job.contains("agenda_next"))
    for (auto& item : next_items(client, id, o, job)) job["agenda"].push_back(std::move(item));
  return job;
}

// `value.dump(2)` as it reads nested `depth` levels deep in a dump(2).
std::string dump_at(const Json& value, int depth) {
  std::string text = value.dump(2, ' ', false, Json::error_handler_t::replace), out;
  const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
  for (char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
  return out;
}

// The job as `job.dump(2)` would print it, its agenda fetched and printed a page at
// a time: bounded memory on both sides, whatever the agenda's size.
void stream_job_json(Client& client, JobId id, const JobOptions& o, std::ostream& out) {
  Json job = show_page(client, id, o, 0);
  out << "{";
  bool first = true;
  for (auto it = job.begin(); it != job.end(); ++it) {
    if (it.key() == "agenda_next") continue;
    out << (first ? "\n" : ",\n") << "  " << Json(it.key()).dump() << ": ";
    first = false;
    if (it.key() != "agenda") {
      out << dump_at(it.value(), 1);
      continue;
    }
    Json page = std::move(it.value());
    bool first_item = true;
    out << "[";
    for (;;) {
      for (const auto& item : page) {
        out << (first_item ? "\n" : ",\n") << "    " << dump_at(item, 2);
        first_item = false;
      }
      if (!job.contains("agenda_next")) break;
      page = next_items(client, id, o, job);
    }
    out << (first_item ? "]" : "\n  ]");
  }
  out << (first ? "}" : "\n}") << "\n";
}

}  // namespace

int show_job(Client& client, const JobOptions& o) {
  const JobId id = parse_job_ref(o.ref, false).first;
  check_work_range(o.work);
  if (o.json && !o.failed_only) {
    stream_job_json(client, id, o, std::cout);
    return 0;
  }
  // A selection comes whole; a plain `qb show` prints the table of up to
  // kTableItems items, and the summary of a bigger agenda.
  constexpr std::size_t kTableItems = 1000;
  const Json job =
      o.failed_only || !o.work.empty() ? show_selection(client, id, o) : show_page(client, id, o, 0, kTableItems);
  if (o.failed_only && o.json) std::cout << failure_summary(job).dump(2) << "\n";
  else if (o.failed_only) print_failures(std::cout, job);
  else print_job(std::cout, job);
  return 0;
}

int show_history(Client& client, const JobOptions& o) {
  const Json reply = client.request("history", Json{{"id", parse_job_ref(o.ref, false).first}});
  if (o.json) std::cout << get_array(reply, "events").dump(2) << "\n";
  else print_history(std::cout, get_array(reply, "events"));
  return 0;
}

int wait_for(Client& client, const JobOptions& o) {
  WaitOptions options;
  options.progress_bar = !o.json && isatty(STDOUT_FILENO);
  options.quiet = o.json;
  options.timeout = std::chrono::milliseconds(static_cast<long>(o.timeout * 1000));
  const auto job_ids = parse_ids(o.ids);
  const bool ok = wait_for_jobs(client, job_ids, std::cout, options);
  if (o.json) std::cout << get_array(client.request("jobs", Json{{"ids", job_ids}}), "jobs").dump(2) << "\n";
  return ok ? 0 : kFailed;
}

int ping(Client& client, const JobOptions& o) {
  const Json reply = client.request("ping", Json::object());
  if (o.json) std::cout << reply.dump(2) << "\n";
  else std::cout << "supervisor at " << client.endpoint() << " is up (version " << get_string(reply, "version") << ")\n";
  return 0;
}

int run_verb(Client& client, const JobVerb& verb, const JobOptions& o, const std::vector<ModifyField>* modify) {
  const auto [ids, work] = ids_and_work(verb, o);
  Json body{{"ids", ids}, {"user", current_user()}};
  const Json filter = filter_of(o);
  if (!filter.empty()) body["filter"] = filter;
  if (o.ids.empty() && filter.empty())
    throw UsageError(std::string(verb.name) + ": give job ids or a filter (--user --name --status --pgrp)");
  if (!work.empty()) body["work"] = work;
  if (modify) body["set"] = modify_request(*modify);
  if (!o.range.empty()) body["range"] = o.range;
  if (!o.items.empty()) body["agenda"] = o.items;
  if (o.chunk != 1) body["chunk"] = o.chunk;
  const Json reply = client.request_stored(verb.name, body);
  if (o.json) std::cout << reply.dump(2) << "\n";
  else print_verb_reply(verb, reply);
  return get_array(reply, "errors").empty() ? 0 : kFailed;
}

}  // namespace qube::qb
