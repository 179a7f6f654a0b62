#include "qube/keys.hpp"

#include <sys/stat.h>

#include <array>
#include <fstream>
#include <sstream>

#include <zmq.h>

namespace qube::keys {

namespace {

constexpr std::size_t kZ85KeyChars = 40;

std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

// A ZPL value: "quoted", 'quoted' or bare (up to a comment).
std::string zpl_value(std::string_view raw, int line) {
  std::string v = trim(raw);
  if (!v.empty() && (v.front() == '"' || v.front() == '\'')) {
    const auto close = v.find(v.front(), 1);
    if (close == std::string::npos) throw KeyFileError("line " + std::to_string(line) + ": unterminated quote");
    if (!trim(std::string_view(v).substr(close + 1)).empty() && trim(std::string_view(v).substr(close + 1))[0] != '#')
      throw KeyFileError("line " + std::to_string(line) + ": text after the quoted value");
    return v.substr(1, close - 1);
  }
  if (const auto hash = v.find('#'); hash != std::string::npos) v = trim(std::string_view(v).substr(0, hash));
  return v;
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

std::string public_of(const std::string& secret) {
  std::array<char, kZ85KeyChars + 1> pub{};
  if (zmq_curve_public(pub.data(), secret.c_str()) != 0) throw KeyFileError("the secret key is not a valid key");
  return std::string(pub.data(), kZ85KeyChars);
}

std::string quoted(const std::string& v) { return "\"" + v + "\""; }

}  // namespace

std::string KeyFile::name() const {
  const auto it = metadata.find("name");
  return it == metadata.end() ? std::string() : it->second;
}

bool is_z85_key(std::string_view key) {
  if (key.size() != kZ85KeyChars) return false;
  const std::string text(key);
  std::array<std::uint8_t, 32> bytes{};
  return zmq_z85_decode(bytes.data(), text.c_str()) != nullptr;
}

KeyFile parse_key_file(std::string_view text) {
  if (text.size() > kMaxKeyFileBytes)
    throw KeyFileError("key file too large (" + std::to_string(text.size()) + " bytes)");
  KeyFile key;
  std::string section;
  int line_no = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (!printable(line)) throw KeyFileError(where + "control characters");
    const bool indented = raw[0] == ' ' || raw[0] == '\t';
    if (!indented) {
      if (line != "metadata" && line != "curve") throw KeyFileError(where + "unknown section '" + line + "'");
      section = line;
      continue;
    }
    if (section.empty()) throw KeyFileError(where + "a setting outside any section");
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw KeyFileError(where + "expected 'name = value'");
    const std::string name = trim(std::string_view(line).substr(0, eq));
    const std::string value = zpl_value(std::string_view(line).substr(eq + 1), line_no);
    if (name.empty()) throw KeyFileError(where + "a setting without a name");
    if (section == "metadata") {
      key.metadata[name] = value;
    } else if (name == "public-key" || name == "secret-key") {
      if (!is_z85_key(value)) throw KeyFileError(where + name + " is not a 40-character Z85 key");
      (name == "public-key" ? key.public_key : key.secret_key) = value;
    } else {
      throw KeyFileError(where + "unknown curve setting '" + name + "'");
    }
  }
  if (key.public_key.empty()) throw KeyFileError("no curve public-key");
  if (!key.secret_key.empty() && public_of(key.secret_key) != key.public_key)
    throw KeyFileError("the secret key does not belong to the public key");
  return key;
}

std::string format_key_file(const KeyFile& key, bool secret) {
  std::ostringstream out;
  out << "#   ZeroMQ CURVE " << (secret ? "**Secret** Certificate" : "Public Certificate") << "\n";
  out << (secret ? "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
                 : "#   Exchange securely, or use a secure mechanism to verify the contents\n#   of this file after exchange.\n");
  out << "#   Written by Qube\n\nmetadata\n";
  for (const auto& [name, value] : key.metadata) out << "    " << name << " = " << quoted(value) << "\n";
  out << "curve\n    public-key = " << quoted(key.public_key) << "\n";
  if (secret) out << "    secret-key = " << quoted(key.secret_key) << "\n";
  return out.str();
}

KeyFile generate(const std::string& name) {
  std::array<char, kZ85KeyChars + 1> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    throw KeyFileError(std::string("cannot make a key pair: ") + zmq_strerror(zmq_errno()));
  KeyFile key;
  key.public_key.assign(pub.data(), kZ85KeyChars);
  key.secret_key.assign(sec.data(), kZ85KeyChars);
  if (!name.empty()) key.metadata["name"] = name;
  return key;
}

std::filesystem::path secret_path(const std::filesystem::path& stem) { return stem.string() + "_secret"; }

KeyFile read_key_file(const std::filesystem::path& file, bool secret) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw KeyFileError("cannot read key file " + file.string() + ": no such file");
  if (!S_ISREG(st.st_mode)) throw KeyFileError("key file " + file.string() + " is not a regular file");
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)))
    throw KeyFileError("secret key file " + file.string() + " is readable by others (chmod 600 it)");
  if (static_cast<std::size_t>(st.st_size) > kMaxKeyFileBytes)
    throw KeyFileError("key file " + file.string() + " is too large");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw KeyFileError("cannot read key file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  try {
    KeyFile key = parse_key_file(text.str());
    if (secret && key.secret_key.empty()) throw KeyFileError("it holds no secret-key");
    return key;
  } catch (const KeyFileError& e) {
    throw KeyFileError("key file " + file.string() + ": " + e.what());
  }
}

namespace {

void write_atomically(const std::filesystem::path& file, const std::string& text, std::filesystem::perms mode) {
  const std::filesystem::path tmp = file.string() + ".tmp";
  {
    // Created with no permissions for others before anything is written to it.
    std::filesystem::remove(tmp);
    std::ofstream(tmp).close();
    std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) throw KeyFileError("cannot write " + tmp.string());
  }
  std::filesystem::permissions(tmp, mode);
  std::filesystem::rename(tmp, file);
}

}  // namespace

void write_key_files(const std::filesystem::path& stem, const KeyFile& key, bool secret) {
  using p = std::filesystem::perms;
  if (stem.has_parent_path()) std::filesystem::create_directories(stem.parent_path());
  if (secret) write_atomically(secret_path(stem), format_key_file(key, true), p::owner_read | p::owner_write);
  write_atomically(stem, format_key_file(key, false),
                   p::owner_read | p::owner_write | p::group_read | p::others_read);
}

}  // namespace qube::keys
