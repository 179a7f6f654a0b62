#pragma once
// The HTTP API's bearer tokens (docs/http-api.md): one per user, 32 random bytes
// shown once as hex when issued. Only each token's SHA-256 is kept, in a file of
// `user hash` lines (mode 0600), so that a copy of the data directory lets no one
// in. Issued and revoked on the supervisor's loop; looked up by the HTTP threads,
// hence the mutex.
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace qube::supervisor {

class ApiTokens {
 public:
  // Reads `file` if it exists; throws std::runtime_error on a line it cannot read.
  explicit ApiTokens(std::filesystem::path file);

  // A new token for `user`, replacing any it had; the file is rewritten first.
  std::string issue(const std::string& user);
  // Forgets `user`'s token; false if it had none.
  bool revoke(const std::string& user);
  // The user whose token this is.
  std::optional<std::string> user_of(std::string_view token) const;

  // A token for one callback run as `user` (QB_TOKEN of a python callback), beside
  // the user's own: kept in memory only, and withdrawn when the script ends.
  std::string grant(const std::string& user);
  void withdraw(std::string_view token);

  // Lowercase hex SHA-256 of `text`.
  static std::string sha256_hex(std::string_view text);
  // A user name a token may be issued to: printable, no spaces, at most 64 characters.
  static bool valid_user(std::string_view user);

 private:
  void save() const;

  std::filesystem::path file_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> hash_of_;  // user -> hash
  std::map<std::string, std::string> user_of_;  // hash -> user
  std::map<std::string, std::string, std::less<>> granted_;  // hash -> user, callbacks' tokens
};

}  // namespace qube::supervisor
