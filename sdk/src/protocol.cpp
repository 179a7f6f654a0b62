#include "qube/protocol.hpp"

#include "qube/codec.hpp"
#include "qube/version.hpp"

namespace qube::proto {

std::string encode_header(const Message& m) {
  return qube::encode(Json{{"v", kProtocolVersion}, {"type", m.type}, {"id", m.id}});
}

Message decode_header(std::string_view header) {
  Message m;
  try {
    const Json h = qube::decode(header);
    require_object(h, "message header");
    const auto v = get_int(h, "v", -1);
    if (v != kProtocolVersion)
      throw ProtocolError("protocol version " + std::to_string(v) + " is not supported (this is " +
                          std::to_string(kProtocolVersion) + ")");
    m.type = get_string(h, "type");
    if (m.type.empty() || m.type.size() > 64) throw ProtocolError("message has no valid type");
    m.id = static_cast<std::uint64_t>(get_int(h, "id"));
  } catch (const FormatError& e) {
    throw ProtocolError(e.what());
  }
  return m;
}

void decode_body(Message& m, std::string_view body) {
  try {
    m.body = qube::decode(body);
    require_object(m.body, "message body");
  } catch (const FormatError& e) {
    throw ProtocolError(e.what());
  }
}

Message decode(std::string_view header, std::string_view body) {
  Message m = decode_header(header);
  decode_body(m, body);
  return m;
}

Message reply_ok(const Message& request, Json fields) {
  fields["ok"] = true;
  return Message{kReply, request.id, std::move(fields)};
}

Message reply_error(const Message& request, const std::string& error) {
  return Message{kReply, request.id, Json{{"ok", false}, {"error", error}}};
}

}  // namespace qube::proto
