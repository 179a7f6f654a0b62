#pragma once
// The public keys the supervisor accepts, and whose they are: one zcert public
// certificate per user in <keys>/users/NAME.key and per worker in
// <keys>/workers/NAME.key. The files are the truth: an admin may add or remove
// them by hand (that is how the first admin key gets in), and `qb keys add/revoke`
// writes them. Shared by the ZAP handler's thread and the event loop, hence the lock.
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "qube/json.hpp"

namespace qube::supervisor {

enum class KeyKind { user, worker };
const char* to_string(KeyKind kind);

struct KeyHolder {
  std::string name;
  KeyKind kind = KeyKind::user;
  std::string public_key;  // Z85
  bool operator==(const KeyHolder&) const = default;
};

class Keyring {
 public:
  // Reads <dir>/users and <dir>/workers; unreadable files are skipped and logged.
  explicit Keyring(std::filesystem::path dir);

  // Who holds `public_key`, if anyone.
  std::optional<KeyHolder> holder(const std::string& public_key) const;
  std::vector<KeyHolder> list() const;
  Json to_json() const;

  // Accepts `public_key` (Z85 text or a certificate's text) for `name`. Throws
  // std::runtime_error on a bad name or key, or a key already held by another.
  KeyHolder add(KeyKind kind, const std::string& name, const std::string& public_key);
  // Removes `name`'s key; throws when there is none.
  KeyHolder revoke(KeyKind kind, const std::string& name);

  // Rereads the directories when they changed on disk (files added or removed by
  // hand). Returns true when the keys changed.
  bool refresh();

  // Names are user and host names: letters, digits, '.', '_', '-', up to 64.
  static bool valid_name(const std::string& name);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path file_of(KeyKind kind, const std::string& name) const;
  using Stamp = std::pair<std::filesystem::file_time_type, std::filesystem::file_time_type>;
  Stamp stamp() const;  // the directories' modification times
  void load();

  std::filesystem::path dir_;
  mutable std::mutex mutex_;
  std::map<std::string, KeyHolder> by_key_;
  Stamp loaded_stamp_{};
  std::filesystem::file_time_type loaded_at_{};
};

}  // namespace qube::supervisor
