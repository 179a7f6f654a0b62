#include "qube/account.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qube {

namespace {

// Every group `pw` belongs to, asking again with room for as many as it has.
std::vector<gid_t> groups_of(const passwd& pw) {
  std::vector<gid_t> groups(32);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int n = static_cast<int>(groups.size());
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) >= 0) {
      groups.resize(static_cast<std::size_t>(n));
      return groups;
    }
    groups.resize(static_cast<std::size_t>(std::max(n, static_cast<int>(groups.size()) * 2)));
  }
  throw AccountError(std::string("cannot list the groups of user '") + pw.pw_name + "'");
}

Account from_passwd(const passwd& pw) {
  Account a;
  a.name = pw.pw_name;
  a.uid = pw.pw_uid;
  a.gid = pw.pw_gid;
  a.home = pw.pw_dir ? pw.pw_dir : "";
  a.shell = pw.pw_shell ? pw.pw_shell : "";
  a.groups = groups_of(pw);
  return a;
}

// getpwnam_r / getpwuid_r with a buffer that grows until the entry fits.
template <class Lookup>
std::optional<Account> read_passwd(const std::string& what, Lookup lookup) {
  std::vector<char> buffer(4096);
  while (true) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = lookup(&pw, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    // "Not found" is reported as 0 or as one of these, depending on the backend.
    if (found == nullptr && (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM))
      return std::nullopt;
    if (rc != 0) throw AccountError("cannot look up " + what + ": " + std::strerror(rc));
    return from_passwd(pw);
  }
}

}  // namespace

std::optional<Account> find_account(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return read_passwd("user '" + name + "'", [&](passwd* pw, char* buf, std::size_t size, passwd** found) {
    return getpwnam_r(name.c_str(), pw, buf, size, found);
  });
}

Account lookup_account(const std::string& name, const std::string& host) {
  if (name.empty()) throw AccountError("the job has no user");
  auto a = find_account(name);
  if (!a) throw AccountError("user '" + name + "' does not exist" + (host.empty() ? "" : " on " + host));
  return *a;
}

Account current_account() {
  const uid_t uid = geteuid();
  auto a = read_passwd("uid " + std::to_string(uid), [&](passwd* pw, char* buf, std::size_t size, passwd** found) {
    return getpwuid_r(uid, pw, buf, size, found);
  });
  if (a) return *a;
  Account nameless;
  nameless.name = "uid " + std::to_string(uid);
  nameless.uid = uid;
  nameless.gid = getegid();
  return nameless;
}

int become_in_child(const Account& a, const char** step) noexcept {
  const char* ignored = nullptr;
  const char*& at = step ? *step : ignored;
  // Already that user (and not root): nothing to give up, and no right to set groups.
  at = nullptr;
  if (a.uid != 0 && getuid() == a.uid && geteuid() == a.uid) return 0;
  at = "setgroups";
  if (setgroups(a.groups.size(), a.groups.data()) != 0) return errno;
  at = "setgid";
  if (setgid(a.gid) != 0) return errno;
  at = "setuid";
  if (setuid(a.uid) != 0) return errno;
  // setuid can succeed without giving everything up (a saved set-user-ID kept
  // by an odd set-up): make sure root is gone for good.
  at = "check that root cannot be regained";
  if (a.uid != 0 && (setuid(0) == 0 || geteuid() == 0 || getuid() != a.uid)) return EPERM;
  at = "check the group";
  if (getgid() != a.gid || getegid() != a.gid) return EPERM;
  at = nullptr;
  return 0;
}

void become(const Account& a) {
  const char* step = nullptr;
  if (const int e = become_in_child(a, &step))
    throw AccountError("cannot run as '" + a.name + "': " + step + ": " + std::strerror(e));
}

}  // namespace qube
