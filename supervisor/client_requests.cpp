#include "client_requests.hpp"

#include <stdexcept>

namespace qube::supervisor {

namespace {

// A token travels in shell commands (qb jobs --token T): printable, no spaces.
void check_token(const std::string& token) {
  constexpr std::size_t kMaxToken = 128;
  if (token.size() > kMaxToken) throw std::runtime_error("token: longer than 128 characters");
  for (const char c : token)
    if (c <= ' ' || c > '~') throw std::runtime_error("token: only printable characters without spaces");
}

}  // namespace

Submission submission_from_json(const Json& body) {
  Submission s;
  s.submitter = get_string(body, "user");
  s.token = get_string(body, "token");
  check_token(s.token);
  for (const Json& entry : get_array(body, "jobs")) {
    Submission::Entry e;
    e.spec = spec_from_json(entry);
    e.parent_label = get_string(entry, "parent_label");
    e.pid = static_cast<JobId>(get_int(entry, "pid"));
    e.pgrp = static_cast<JobId>(get_int(entry, "pgrp"));
    s.jobs.push_back(std::move(e));
  }
  return s;
}

HostLock host_lock_from_json(const Json& body) {
  HostLock l;
  l.who = get_string(body, "user");
  l.purge = get_bool(body, "purge");
  l.drain = get_bool(body, "drain");
  if (l.purge && l.drain) throw std::runtime_error("--purge and --drain: give one (purge stops the work, drain lets it finish)");
  for (const auto& entry : get_array(body, "hosts")) {
    if (!entry.is_string()) throw std::runtime_error("hosts: expected host names");
    l.hosts.push_back(entry.get<std::string>());
  }
  return l;
}

HostChange host_change_from_json(const Json& body) {
  return HostChange{get_string(body, "host"), get_object(body, "set"), get_string(body, "user")};
}

ResourceTotal resource_total_from_json(const Json& body) {
  return ResourceTotal{get_string(body, "name"), get_int(body, "total", -1), get_string(body, "user")};
}

}  // namespace qube::supervisor
