// The supervisor's decoders of client requests (client_requests.hpp,
// steering.hpp): the body of a submit, lock, host_set, resource_set or
// steering verb. Input: a MessagePack body, as it comes off the socket.
#include "client_requests.hpp"
#include "fuzz_input.hpp"
#include "qube/codec.hpp"
#include "steering.hpp"

namespace {

template <class F>
void expect_clear_error(F decode) {
  try {
    decode();
  } catch (const std::runtime_error&) {  // FormatError, or the documented runtime_error
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qube::supervisor;
  qube::Json body;
  try {
    body = qube::decode(qube::fuzz::text(data, size));
  } catch (const qube::FormatError&) {
    return 0;
  }
  expect_clear_error([&] { (void)submission_from_json(body); });
  expect_clear_error([&] { (void)host_lock_from_json(body); });
  expect_clear_error([&] { (void)host_change_from_json(body); });
  expect_clear_error([&] { (void)resource_total_from_json(body); });
  expect_clear_error([&] { (void)steering_from_json(body); });
  expect_clear_error([&] { (void)ids_from_json(body); });
  return 0;
}
