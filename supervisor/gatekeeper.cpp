#include "gatekeeper.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <future>

#include <spdlog/spdlog.h>

#include "qube/handshake_watch.hpp"

namespace qube::supervisor {

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
// How often the thread looks at its stop flag.
constexpr auto kStopCheck = std::chrono::milliseconds(200);

// At most this many connections' addresses are kept, however many are open.
constexpr std::size_t kMaxPeers = 100000;

// "10.1.2.3" for the peer of a TCP connection.
std::string peer_address(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "an unknown address";
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return "a local peer";
  const void* where = addr.ss_family == AF_INET6
                          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr)
                          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr);
  char host[INET6_ADDRSTRLEN] = {};
  return ::inet_ntop(addr.ss_family, where, host, sizeof host) ? host : "an unknown address";
}

std::string z85(const zmq::message_t& key) {
  if (key.size() != 32) return {};
  std::array<char, 41> text{};
  if (!zmq_z85_encode(text.data(), static_cast<const std::uint8_t*>(key.data()), 32)) return {};
  return std::string(text.data(), 40);
}

}  // namespace

Gatekeeper::Gatekeeper(zmq::context_t& ctx, Keyring& keyring, std::vector<zmq::socket_t*> watched)
    : ctx_(ctx), keyring_(keyring) {
  peers_.resize(watched.size());
  for (std::size_t n = 0; n < watched.size(); ++n) {
    monitor_endpoints_.push_back("inproc://qube-handshakes-" + std::to_string(n));
    if (zmq_socket_monitor(watched[n]->handle(), monitor_endpoints_.back().c_str(),
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
      throw zmq::error_t();
  }
  std::promise<void> ready;
  auto bound = ready.get_future();
  thread_ = std::thread([this, &ready] {
    zmq::socket_t zap(ctx_, zmq::socket_type::rep);
    std::vector<zmq::socket_t> monitors;
    try {
      zap.set(zmq::sockopt::linger, 0);
      zap.bind(kZapEndpoint);
      for (const auto& ep : monitor_endpoints_) {
        monitors.emplace_back(ctx_, zmq::socket_type::pair);
        monitors.back().set(zmq::sockopt::linger, 0);
        monitors.back().connect(ep);
      }
    } catch (...) {
      ready.set_exception(std::current_exception());
      return;
    }
    ready.set_value();
    serve(zap, monitors);
  });
  try {
    bound.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

Gatekeeper::~Gatekeeper() {
  stop_ = true;
  thread_.join();
}

void Gatekeeper::serve(zmq::socket_t& zap, std::vector<zmq::socket_t>& monitors) {
  while (!stop_) {
    std::vector<zmq::pollitem_t> items{{zap.handle(), 0, ZMQ_POLLIN, 0}};
    for (auto& m : monitors) items.push_back({m.handle(), 0, ZMQ_POLLIN, 0});
    try {
      zmq::poll(items, kStopCheck);
      if (items[0].revents & ZMQ_POLLIN) answer(zap);
      for (std::size_t n = 0; n < monitors.size(); ++n)
        if (items[n + 1].revents & ZMQ_POLLIN) report_handshake(monitors[n], peers_[n]);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() != EINTR) spdlog::error("keys: ZAP handler: {}", e.what());
    }
  }
}

void Gatekeeper::answer(zmq::socket_t& zap) {
  // RFC 27: version, request id, domain, address, routing id, mechanism, credentials.
  std::vector<zmq::message_t> request;
  do {
    request.emplace_back();
    if (!zap.recv(request.back(), zmq::recv_flags::none)) return;
  } while (request.back().more() && request.size() < 16);
  while (request.back().more()) {  // a malformed request: drain it
    zmq::message_t rest;
    if (!zap.recv(rest, zmq::recv_flags::none)) return;
    request.back() = std::move(rest);
  }
  const auto text = [&](std::size_t n) { return n < request.size() ? request[n].to_string() : std::string(); };
  const std::string domain = text(2), address = text(3), mechanism = text(5);
  std::string status = "400", why, user_id;
  const std::string key = request.size() > 6 ? z85(request[6]) : std::string();
  const bool clients = domain == kClientsDomain;
  auto holder = key.empty() ? std::nullopt : keyring_.holder(key);
  // A key file an admin has just put in place by hand is seen at once.
  if (!key.empty() && !holder && keyring_.refresh()) holder = keyring_.holder(key);
  if (mechanism != "CURVE" || key.empty()) {
    why = "no CURVE key";
  } else if (!holder) {
    why = "unknown key " + key;
  } else if ((holder->kind == KeyKind::user) != clients) {
    why = std::string(to_string(holder->kind)) + " " + holder->name + "'s key on the " +
          (clients ? "clients'" : "workers'") + " socket";
  } else {
    status = "200";
    user_id = key;
  }
  if (status != "200")
    spdlog::warn("keys: refused a {} from {}: {}", clients ? "client" : "worker", address, why);
  const std::array<std::string, 6> reply{"1.0", text(1), status, status == "200" ? "OK" : why, user_id, ""};
  for (std::size_t n = 0; n < reply.size(); ++n)
    zap.send(zmq::buffer(reply[n]), n + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

void Gatekeeper::report_handshake(zmq::socket_t& monitor, Peers& peers) {
  // libzmq 4.3 does not say which peer a failed handshake was with, but the value of
  // ACCEPTED and DISCONNECTED is the connection's descriptor: its address is
  // taken when it is accepted, and a failure is logged, with that address, when
  // the next connection closes (almost always the failed one itself).
  const auto event = transport::receive_monitor_event(monitor);
  if (!event) return;
  const int fd = static_cast<int>(event->value);
  if (event->number == ZMQ_EVENT_ACCEPTED) {
    if (peers.open.size() < kMaxPeers) peers.open[fd] = peer_address(fd);
  } else if (event->number == ZMQ_EVENT_DISCONNECTED) {
    const auto it = peers.open.find(fd);
    const std::string address = it == peers.open.end() ? std::string("an unknown address") : it->second;
    if (it != peers.open.end()) peers.open.erase(it);
    if (peers.failed > 0) {
      --peers.failed;
      spdlog::warn("keys: refused a connection from {} on {}: its handshake failed (plaintext, or a client of "
                   "another farm); this supervisor requires CURVE keys",
                   address, event->endpoint);
    }
  } else {
    ++peers.failed;
  }
}

}  // namespace qube::supervisor
