#include "api_tokens.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace qube::supervisor {

namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace

ApiTokens::ApiTokens(std::filesystem::path file) : file_(std::move(file)) {
  std::ifstream in(file_);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string user, hash, extra;
    if (!(words >> user >> hash) || (words >> extra) || hash.size() != 64 || !valid_user(user))
      throw std::runtime_error(file_.string() + ":" + std::to_string(number) + ": expected 'USER SHA256'");
    hash_of_[user] = hash;
    user_of_[hash] = user;
  }
}

std::string ApiTokens::sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return hex(digest, size);
}

bool ApiTokens::valid_user(std::string_view user) {
  if (user.empty() || user.size() > 64) return false;
  for (const char c : user)
    if (c <= ' ' || c > '~') return false;
  return true;
}

namespace {

std::string random_token(const std::string& user) {
  if (!ApiTokens::valid_user(user)) throw std::runtime_error("cannot issue a token to '" + user + "': not a user name");
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes for a token");
  return hex(bytes, sizeof bytes);
}

}  // namespace

std::string ApiTokens::grant(const std::string& user) {
  const std::string token = random_token(user);
  std::lock_guard lock(mutex_);
  granted_[sha256_hex(token)] = user;
  return token;
}

void ApiTokens::withdraw(std::string_view token) {
  const std::string hash = sha256_hex(token);
  std::lock_guard lock(mutex_);
  granted_.erase(hash);
}

std::string ApiTokens::issue(const std::string& user) {
  const std::string token = random_token(user);
  std::lock_guard lock(mutex_);
  const auto before = hash_of_;
  if (auto old = hash_of_.find(user); old != hash_of_.end()) user_of_.erase(old->second);
  const std::string hash = sha256_hex(token);
  hash_of_[user] = hash;
  user_of_[hash] = user;
  try {
    save();
  } catch (...) {
    user_of_.erase(hash);
    hash_of_ = before;
    for (const auto& [u, h] : hash_of_) user_of_[h] = u;
    throw;
  }
  return token;
}

bool ApiTokens::revoke(const std::string& user) {
  std::lock_guard lock(mutex_);
  const auto it = hash_of_.find(user);
  if (it == hash_of_.end()) return false;
  user_of_.erase(it->second);
  hash_of_.erase(it);
  save();
  return true;
}

std::optional<std::string> ApiTokens::user_of(std::string_view token) const {
  if (token.size() != 64) return std::nullopt;
  const std::string hash = sha256_hex(token);
  std::lock_guard lock(mutex_);
  if (const auto it = user_of_.find(hash); it != user_of_.end()) return it->second;
  if (const auto it = granted_.find(hash); it != granted_.end()) return it->second;
  return std::nullopt;
}

// Written to a temporary file created 0600 and renamed over the old one: a crash
// leaves either list whole, and no moment exists where the hashes are readable by others.
void ApiTokens::save() const {
  const std::filesystem::path tmp = file_.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string());
  std::string text;
  for (const auto& [user, hash] : hash_of_) text += user + " " + hash + "\n";
  const bool written = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) ==
                                                        static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) throw std::runtime_error("cannot write " + tmp.string());
  std::filesystem::rename(tmp, file_);
}

}  // namespace qube::supervisor
