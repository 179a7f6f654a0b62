// CURVE key files (qube/keys.hpp): parse_key_file, and a parsed key must
// format (with its secret) to text that parses to the same key.
#include "fuzz_input.hpp"
#include "qube/keys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qube::keys;
  try {
    const KeyFile key = parse_key_file(qube::fuzz::text(data, size));
    const KeyFile again = parse_key_file(format_key_file(key, !key.secret_key.empty()));
    qube::fuzz::check(again.public_key == key.public_key && again.secret_key == key.secret_key &&
                          again.metadata == key.metadata,
                      "parse_key_file(format_key_file(k)) == k");
  } catch (const KeyFileError&) {
  }
  return 0;
}
