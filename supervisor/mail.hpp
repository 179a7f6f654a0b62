#pragma once
// A minimal SMTP client for mail callbacks: plain SMTP to the relay named in the
// supervisor's configuration (a site's own relay; no TLS or authentication).
#include <chrono>
#include <string>
#include <vector>

namespace qube::supervisor {

struct MailMessage {
  std::string from;
  std::vector<std::string> to;
  std::string subject;
  std::string body;
};

// Sends through `server` ("host:port"); throws std::runtime_error saying which
// step the server refused. Blocks: call it off the event loop.
void send_mail(const std::string& server, const MailMessage& message,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace qube::supervisor
