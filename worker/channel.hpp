#pragma once
// Messages between the worker and one of its instance processes over a local
// socket: a 4-byte big-endian length, then a MessagePack map. Both ends treat
// the other as untrusted (bounded length, decoded with the sdk codec).
#include <optional>
#include <string>

#include "qube/json.hpp"

namespace qube::worker {

inline constexpr std::size_t kMaxChannelFrame = 16 * 1024 * 1024;

// Blocking write of one message; false if the peer is gone.
bool write_frame(int fd, const Json& msg);
// Blocking read of one message; nullopt on end of stream. Throws FormatError on
// a malformed or oversized frame.
std::optional<Json> read_frame(int fd);

// Accumulates bytes from a non-blocking fd and cuts them into messages.
class FrameReader {
 public:
  // Reads what is available. Returns false on end of stream or error.
  bool fill(int fd);
  // The next whole message, if one has arrived. Throws FormatError.
  std::optional<Json> next();

 private:
  std::string buffer_;
};

}  // namespace qube::worker
