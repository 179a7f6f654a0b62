#pragma once
// OS accounts: who a job or a callback runs as. Everything about the account
// (ids, home, supplementary groups) is looked up here, in the caller, so that a
// forked child only has to make the few async-signal-safe calls of become().
#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qube {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
  std::vector<gid_t> groups;  // supplementary groups (getgrouplist), the primary one included
};

// A lookup that found no such account, or an account that cannot be switched to.
struct AccountError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The account named `name`; nullopt when there is none. Throws AccountError
// when the user database itself cannot be read.
std::optional<Account> find_account(const std::string& name);

// As find_account, but no account is an AccountError "user 'NAME' does not
// exist" (followed by " on HOST" when `host` is given).
Account lookup_account(const std::string& name, const std::string& host = {});

// The account of this process's effective uid (name "uid N" when it has no entry).
Account current_account();

// Whether a process of account `me` may switch to `target`: only root can
// change users (the target's own user needs no change).
inline bool can_become(const Account& me, const Account& target) { return me.uid == 0 || me.uid == target.uid; }

// Switches this process to `a` for good: supplementary groups, gid, then uid,
// each checked; then checks root cannot be regained. Throws AccountError naming
// the step that failed. Needs root unless `a` already is this process's user.
// A parent-death signal (PR_SET_PDEATHSIG) is cleared by the kernel when the
// uid changes: set it again afterwards.
void become(const Account& a);

// become() for a forked child: only async-signal-safe calls, no allocation, no
// exception. 0, or the errno of the step that failed, named in `step` if given.
int become_in_child(const Account& a, const char** step = nullptr) noexcept;

}  // namespace qube
