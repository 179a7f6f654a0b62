// The MessagePack codec (qube/codec.hpp) on raw bytes: decode() and
// decode_with_text() must answer FormatError or a value, and a decoded value
// must re-encode to bytes that decode to the same encoding.
#include "fuzz_input.hpp"
#include "qube/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = qube::fuzz::text(data, size);
  try {
    const qube::Json value = qube::decode(bytes);
    const std::string once = qube::encode(value);
    qube::fuzz::check(qube::encode(qube::decode(once)) == once, "encode(decode(encode(v))) == encode(v)");
  } catch (const qube::FormatError&) {
  }
  try {
    (void)qube::decode_with_text(bytes, "job", 2);
  } catch (const qube::FormatError&) {
  }
  return 0;
}
