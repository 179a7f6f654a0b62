#include "qube/http_endpoint.hpp"

#include <stdexcept>

namespace qube::service {

HostPort parse_http_endpoint(std::string ep, const std::string& what) {
  for (const char* scheme : {"http://", "https://"})
    if (ep.rfind(scheme, 0) == 0) ep.erase(0, std::string(scheme).size());
  const auto colon = ep.rfind(':');
  const std::string bad = what + " '" + ep + "': expected HOST:PORT, e.g. 127.0.0.1:50080";
  if (colon == std::string::npos || colon == 0) throw std::runtime_error(bad);
  HostPort hp{ep.substr(0, colon), 0};
  try {
    std::size_t used = 0;
    hp.port = std::stoi(ep.substr(colon + 1), &used);
    if (used != ep.size() - colon - 1 || hp.port < 0 || hp.port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw std::runtime_error(bad);
  }
  if (hp.host == "*") hp.host = "0.0.0.0";
  return hp;
}

}  // namespace qube::service
