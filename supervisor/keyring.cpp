#include "keyring.hpp"

#include <spdlog/spdlog.h>

#include "qube/keys.hpp"

namespace qube::supervisor {

namespace {

const char* subdir(KeyKind kind) { return kind == KeyKind::user ? "users" : "workers"; }

// A key given on the command line: bare Z85, or the text of a public certificate.
std::string public_key_of(const std::string& given) {
  if (keys::is_z85_key(given)) return given;
  try {
    return keys::parse_key_file(given).public_key;
  } catch (const keys::KeyFileError& e) {
    throw std::runtime_error(std::string("not a public key (40 Z85 characters) nor a key file: ") + e.what());
  }
}

}  // namespace

const char* to_string(KeyKind kind) { return kind == KeyKind::user ? "user" : "worker"; }

Keyring::Keyring(std::filesystem::path dir) : dir_(std::move(dir)) {
  for (KeyKind kind : {KeyKind::user, KeyKind::worker}) std::filesystem::create_directories(dir_ / subdir(kind));
  std::lock_guard lock(mutex_);
  load();
}

bool Keyring::valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

std::filesystem::path Keyring::file_of(KeyKind kind, const std::string& name) const {
  return dir_ / subdir(kind) / (name + ".key");
}

Keyring::Stamp Keyring::stamp() const {
  std::error_code ec;
  const auto time_of = [&](KeyKind kind) {
    const auto t = std::filesystem::last_write_time(dir_ / subdir(kind), ec);
    return ec ? std::filesystem::file_time_type::min() : t;
  };
  return {time_of(KeyKind::user), time_of(KeyKind::worker)};
}

void Keyring::load() {
  loaded_stamp_ = stamp();
  loaded_at_ = std::filesystem::file_time_type::clock::now();
  by_key_.clear();
  for (KeyKind kind : {KeyKind::user, KeyKind::worker}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ / subdir(kind), ec)) {
      const auto& path = entry.path();
      if (path.extension() != ".key" || !entry.is_regular_file()) continue;
      const std::string name = path.stem().string();
      try {
        if (!valid_name(name)) throw keys::KeyFileError("not a valid name");
        KeyHolder h{name, kind, keys::read_key_file(path, false).public_key};
        if (auto [it, fresh] = by_key_.emplace(h.public_key, h); !fresh)
          spdlog::error("keys: {} holds the same key as {} {}; ignored", path.string(), to_string(it->second.kind),
                        it->second.name);
      } catch (const std::exception& e) {
        spdlog::error("keys: skipping {}: {}", path.string(), e.what());
      }
    }
  }
}

bool Keyring::refresh() {
  // A directory's time has the kernel's coarse granularity (a few ms): a change
  // in the same tick as the last load leaves it unchanged. So a time that close
  // to the load is not trusted, and the directory is read again (as git does
  // with "racily clean" files).
  constexpr auto kTick = std::chrono::milliseconds(50);
  std::lock_guard lock(mutex_);
  const Stamp now = stamp();
  const bool racy = std::max(loaded_stamp_.first, loaded_stamp_.second) + kTick >= loaded_at_;
  if (now == loaded_stamp_ && !racy) return false;
  const auto before = by_key_;
  load();
  return before != by_key_;
}

std::optional<KeyHolder> Keyring::holder(const std::string& public_key) const {
  std::lock_guard lock(mutex_);
  const auto it = by_key_.find(public_key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::vector<KeyHolder> Keyring::list() const {
  std::lock_guard lock(mutex_);
  std::vector<KeyHolder> all;
  for (const auto& [key, h] : by_key_) all.push_back(h);
  std::sort(all.begin(), all.end(),
            [](const KeyHolder& a, const KeyHolder& b) { return std::tie(a.kind, a.name) < std::tie(b.kind, b.name); });
  return all;
}

Json Keyring::to_json() const {
  Json out = Json::array();
  for (const auto& h : list()) out.push_back(Json{{"name", h.name}, {"kind", to_string(h.kind)}, {"key", h.public_key}});
  return out;
}

KeyHolder Keyring::add(KeyKind kind, const std::string& name, const std::string& given) {
  if (!valid_name(name))
    throw std::runtime_error("'" + name + "' is not a valid name (letters, digits, '.', '_', '-'; up to 64)");
  KeyHolder h{name, kind, public_key_of(given)};
  std::lock_guard lock(mutex_);
  if (const auto it = by_key_.find(h.public_key); it != by_key_.end() &&
                                                   !(it->second.kind == kind && it->second.name == name))
    throw std::runtime_error("that key already belongs to " + std::string(to_string(it->second.kind)) + " " +
                             it->second.name);
  keys::KeyFile file;
  file.public_key = h.public_key;
  file.metadata["name"] = name;
  keys::write_key_files(file_of(kind, name), file, false);
  // One key per name: adding replaces the name's previous key.
  std::erase_if(by_key_, [&](const auto& e) { return e.second.kind == kind && e.second.name == name; });
  by_key_[h.public_key] = h;
  loaded_stamp_ = stamp();
  return h;
}

KeyHolder Keyring::revoke(KeyKind kind, const std::string& name) {
  std::lock_guard lock(mutex_);
  const auto it = std::find_if(by_key_.begin(), by_key_.end(),
                               [&](const auto& e) { return e.second.kind == kind && e.second.name == name; });
  if (it == by_key_.end()) throw std::runtime_error(std::string("no ") + to_string(kind) + " key for '" + name + "'");
  KeyHolder h = it->second;
  std::filesystem::remove(file_of(kind, name));
  by_key_.erase(it);
  loaded_stamp_ = stamp();
  return h;
}

}  // namespace qube::supervisor
