#include "mail.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace qube::supervisor {

namespace {

class SmtpConnection {
 public:
  SmtpConnection(const std::string& server, std::chrono::milliseconds timeout) : timeout_(timeout) {
    const auto colon = server.rfind(':');
    const std::string host = colon == std::string::npos ? server : server.substr(0, colon);
    const std::string port = colon == std::string::npos ? "25" : server.substr(colon + 1);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
      throw std::runtime_error("mail: cannot resolve SMTP server '" + server + "'");
    for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd_ >= 0 && ::connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
    }
    freeaddrinfo(found);
    if (fd_ < 0) throw std::runtime_error("mail: cannot connect to SMTP server '" + server + "'");
  }
  ~SmtpConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Reads one reply (all its lines) and checks its code's first digit.
  void expect(char digit, const std::string& step) {
    while (true) {
      const std::string line = read_line();
      if (line.size() < 3) throw std::runtime_error("mail: bad reply to " + step + ": '" + line + "'");
      if (line.size() > 3 && line[3] == '-') continue;  // more lines follow
      if (line[0] != digit) throw std::runtime_error("mail: the server refused " + step + ": " + line);
      return;
    }
  }
  void send(const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::send(fd_, text.data() + done, text.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("mail: connection lost while sending");
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  std::string read_line() {
    while (true) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buffer_.size() > 64 * 1024) throw std::runtime_error("mail: reply line too long");
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) throw std::runtime_error("mail: the server did not answer");
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) throw std::runtime_error("mail: the server closed the connection");
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

// RFC 5321 dot-stuffing and CRLF line ends.
std::string data_block(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && c == '.') out += '.';
    if (c == '\n') out += "\r\n";
    else if (c != '\r') out += c;
    line_start = c == '\n';
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

}  // namespace

void send_mail(const std::string& server, const MailMessage& m, std::chrono::milliseconds timeout) {
  if (m.to.empty()) throw std::runtime_error("mail: no recipients");
  for (const auto& s : {m.from, m.subject})
    if (s.find_first_of("\r\n") != std::string::npos) throw std::runtime_error("mail: header holds a line break");
  SmtpConnection c(server, timeout);
  c.expect('2', "the connection");
  c.send("HELO qube\r\n");
  c.expect('2', "HELO");
  c.send("MAIL FROM:<" + m.from + ">\r\n");
  c.expect('2', "MAIL FROM");
  std::string to_header;
  for (const auto& to : m.to) {
    if (to.find_first_of("\r\n<>") != std::string::npos) throw std::runtime_error("mail: bad address '" + to + "'");
    c.send("RCPT TO:<" + to + ">\r\n");
    c.expect('2', "RCPT TO " + to);
    to_header += (to_header.empty() ? "" : ", ") + to;
  }
  c.send("DATA\r\n");
  c.expect('3', "DATA");
  c.send(data_block("From: " + m.from + "\nTo: " + to_header + "\nSubject: " + m.subject + "\n\n" + m.body) + ".\r\n");
  c.expect('2', "the message");
  c.send("QUIT\r\n");
}

}  // namespace qube::supervisor
