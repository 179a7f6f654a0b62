#pragma once
// How the HTTP threads reach the supervisor's loop (docs/http-api.md). They never
// touch the Farm: each request becomes the protocol message a ZeroMQ client would
// send, over an inproc DEALER to the loop's ROUTER at kRequests, and the loop
// answers it as it answers `qb`. The DEALER's routing id carries who asks (the
// token's user, checked on the HTTP thread): "<serial>:<user>", "<serial>:" when
// anonymous. The loop publishes job, item and host changes at kEvents, as two
// frames: the kind ("job", "item", "subjob", "host") and its JSON.
#include <cstdint>
#include <string>

namespace qube::supervisor::loop_link {

inline constexpr const char* kRequests = "inproc://qube-http-requests";
inline constexpr const char* kEvents = "inproc://qube-http-events";

inline std::string routing_id(std::uint64_t serial, const std::string& who) {
  return std::to_string(serial) + ":" + who;
}
inline std::string who_of(const std::string& routing_id) {
  const auto colon = routing_id.find(':');
  return colon == std::string::npos ? std::string() : routing_id.substr(colon + 1);
}

}  // namespace qube::supervisor::loop_link
