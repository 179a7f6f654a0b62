#include "channel.hpp"

#include <unistd.h>

#include <cerrno>

#include "qube/codec.hpp"

namespace qube::worker {

namespace {

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::size_t frame_length(const unsigned char* h) {
  return (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) | (std::size_t{h[2]} << 8) | h[3];
}

}  // namespace

bool write_frame(int fd, const Json& msg) {
  const std::string body = encode(msg);
  if (body.size() > kMaxChannelFrame) return false;
  std::string frame(4, '\0');
  const auto n = body.size();
  frame[0] = static_cast<char>((n >> 24) & 0xff);
  frame[1] = static_cast<char>((n >> 16) & 0xff);
  frame[2] = static_cast<char>((n >> 8) & 0xff);
  frame[3] = static_cast<char>(n & 0xff);
  frame += body;
  return write_all(fd, frame.data(), frame.size());
}

std::optional<Json> read_frame(int fd) {
  unsigned char header[4];
  if (!read_all(fd, reinterpret_cast<char*>(header), 4)) return std::nullopt;
  const std::size_t n = frame_length(header);
  if (n > kMaxChannelFrame) throw FormatError("channel frame too large");
  std::string body(n, '\0');
  if (!read_all(fd, body.data(), n)) return std::nullopt;
  return decode(body);
}

bool FrameReader::fill(int fd) {
  char buf[65536];
  while (true) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r > 0) {
      buffer_.append(buf, static_cast<std::size_t>(r));
      if (buffer_.size() > 2 * kMaxChannelFrame) throw FormatError("instance flooded its channel");
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

std::optional<Json> FrameReader::next() {
  if (buffer_.size() < 4) return std::nullopt;
  const std::size_t n = frame_length(reinterpret_cast<const unsigned char*>(buffer_.data()));
  if (n > kMaxChannelFrame) throw FormatError("channel frame too large");
  if (buffer_.size() < 4 + n) return std::nullopt;
  Json msg = decode(std::string_view(buffer_).substr(4, n));
  buffer_.erase(0, 4 + n);
  return msg;
}

}  // namespace qube::worker
