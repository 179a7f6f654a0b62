// A protocol message as it arrives: a header frame and a body frame
// (qube/protocol.hpp), then every typed decoder of qube/messages.hpp on the
// body. Input: a one-byte header length, the header, the body. Whatever a
// decoder accepts must survive to_json and decode again.
#include "fuzz_input.hpp"
#include "qube/codec.hpp"
#include "qube/messages.hpp"
#include "qube/protocol.hpp"

namespace {

using qube::Json;
using qube::FormatError;

template <class M>
void try_decoder(M (*decode)(const Json&), const Json& body) {
  try {
    const M m = decode(body);
    (void)decode(qube::proto::to_json(m));
  } catch (const FormatError&) {
  }
}

void every_decoder(const Json& body) {
  using namespace qube::proto;
  try_decoder(decode_register, body);
  try_decoder(decode_heartbeat, body);
  try_decoder(decode_work_request, body);
  try_decoder(decode_work_result, body);
  try_decoder(decode_log, body);
  try_decoder(decode_instance_done, body);
  try_decoder(decode_registered, body);
  try_decoder(decode_reregister, body);
  try_decoder(decode_heartbeat_ack, body);
  try_decoder(decode_start_instance, body);
  try_decoder(decode_work, body);
  try_decoder(decode_kill_instance, body);
  try_decoder(decode_suspend_instance, body);
  try_decoder(decode_work_reply, body);
  try_decoder(decode_from_instance, body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto rest = qube::fuzz::text(data + 1, size - 1);
  const std::size_t header_size = std::min<std::size_t>(data[0], rest.size());
  const auto header = rest.substr(0, header_size);
  const auto body = rest.substr(header_size);
  try {
    every_decoder(qube::proto::decode(header, body).body);
    return 0;
  } catch (const qube::proto::ProtocolError&) {
  }
  // A bad header: still give the decoders the body, so they are fuzzed even
  // when the header mutates away from a valid one.
  try {
    every_decoder(qube::decode(body));
  } catch (const FormatError&) {
  }
  return 0;
}
