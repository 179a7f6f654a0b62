#pragma once
// CURVE key pairs and their files, in the zcert text format of CZMQ (so that keys
// made with czmq's tools, zmakecert or pyzmq's zmq.auth work here, and ours there):
//
//   #   ZeroMQ CURVE **Secret** Certificate
//   metadata
//       name = "alice"
//   curve
//       public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//       secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
//
// A public certificate is the same without `secret-key`. Keys are Z85 text, 40
// characters for 32 bytes. A secret file is written mode 0600 and refused when
// others can read it.
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace qube::keys {

struct KeyFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct KeyFile {
  std::string public_key;                       // Z85, 40 characters
  std::string secret_key;                       // Z85, 40 characters; empty in a public certificate
  std::map<std::string, std::string> metadata;  // e.g. name
  std::string name() const;                     // metadata "name", or ""
};

// Largest key file read: a certificate is a few hundred bytes.
constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;

// Parses the text of a certificate. Throws KeyFileError saying what and on which
// line is wrong: unknown sections, malformed lines, a key that is not 40 Z85
// characters, a secret key that does not belong to the public key.
KeyFile parse_key_file(std::string_view text);
// The text of a certificate; with the secret key only when `secret`.
std::string format_key_file(const KeyFile& key, bool secret);

// A new key pair (zmq_curve_keypair).
KeyFile generate(const std::string& name);
// Whether `key` is 40 Z85 characters that decode to 32 bytes.
bool is_z85_key(std::string_view key);

// Reads and parses a certificate file. With `secret`, the file must hold a secret
// key and must not be readable by group or others.
KeyFile read_key_file(const std::filesystem::path& file, bool secret);
// Writes `key` atomically (a temporary file renamed over): the secret file
// `<stem>_secret` mode 0600 when `secret`, and always the public `<stem>`, 0644.
void write_key_files(const std::filesystem::path& stem, const KeyFile& key, bool secret);
// The secret file of a key stored at `stem` (CZMQ's convention).
std::filesystem::path secret_path(const std::filesystem::path& stem);

}  // namespace qube::keys
