#pragma once
// Where a daemon serves HTTP: the supervisor's API (--http) and a worker's
// metrics (--metrics).
#include <string>

namespace qube::service {

struct HostPort {
  std::string host;
  int port = 0;  // 0: any free port
};

// "127.0.0.1:50080", "http://127.0.0.1:0", "*:50080" (every address: 0.0.0.0).
// Throws std::runtime_error naming `what` ("http endpoint") on anything else.
HostPort parse_http_endpoint(std::string endpoint, const std::string& what = "http endpoint");

}  // namespace qube::service
