#include "qube/codec.hpp"

#include <msgpack.hpp>

namespace qube {

namespace {

// Packs straight into the std::string that encode() returns. msgpack::sbuffer
// would allocate 8 KiB per message and then be copied out; most of our messages
// are under 200 bytes and the supervisor encodes one per dispatch and per stored
// row (docs/performance.md).
struct StringWriter {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};
using Packer = msgpack::packer<StringWriter>;

void pack(Packer& pk, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: pk.pack_nil(); break;
    case Json::value_t::boolean: pk.pack(v.get<bool>()); break;
    case Json::value_t::number_integer: pk.pack(v.get<std::int64_t>()); break;
    case Json::value_t::number_unsigned: pk.pack(v.get<std::uint64_t>()); break;
    case Json::value_t::number_float: pk.pack(v.get<double>()); break;
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      pk.pack_str(static_cast<std::uint32_t>(s.size()));
      pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
      break;
    }
    case Json::value_t::binary: {
      const auto& b = v.get_binary();
      pk.pack_bin(static_cast<std::uint32_t>(b.size()));
      pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
      break;
    }
    case Json::value_t::array:
      pk.pack_array(static_cast<std::uint32_t>(v.size()));
      for (const auto& e : v) pack(pk, e);
      break;
    case Json::value_t::object:
      pk.pack_map(static_cast<std::uint32_t>(v.size()));
      for (const auto& [k, e] : v.get_ref<const Json::object_t&>()) {
        pk.pack_str(static_cast<std::uint32_t>(k.size()));
        pk.pack_str_body(k.data(), static_cast<std::uint32_t>(k.size()));
        pack(pk, e);
      }
      break;
    case Json::value_t::discarded: pk.pack_nil(); break;
  }
}

Json unpack(const msgpack::object& o, std::size_t depth) {
  if (depth > kMaxNesting) throw FormatError("message nested too deeply");
  switch (o.type) {
    case msgpack::type::NIL: return nullptr;
    case msgpack::type::BOOLEAN: return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER: return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER: return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return o.via.f64;
    case msgpack::type::STR: return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN:
      return Json::binary(std::vector<std::uint8_t>(
          reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr),
          reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr) + o.via.bin.size));
    case msgpack::type::ARRAY: {
      Json a = Json::array();
      auto& elements = a.get_ref<Json::array_t&>();
      elements.reserve(o.via.array.size);  // bounded by the unpack limit: at most one per byte
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) elements.push_back(unpack(o.via.array.ptr[i], depth + 1));
      return a;
    }
    case msgpack::type::MAP: {
      Json m = Json::object();
      auto& fields = m.get_ref<Json::object_t&>();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) throw FormatError("map keys must be strings");
        // A repeated key keeps its last value, as before.
        fields.insert_or_assign(std::string(kv.key.via.str.ptr, kv.key.via.str.size), unpack(kv.val, depth + 1));
      }
      return m;
    }
    case msgpack::type::EXT: throw FormatError("extension types are not accepted");
  }
  throw FormatError("unknown MessagePack type");
}

// One zone per thread, emptied after every message: unpacking into a fresh
// object_handle would malloc and free an 8 KiB chunk per message. clear() keeps
// only the first chunk, so a large message does not pin its memory.
msgpack::zone& scratch_zone() {
  thread_local msgpack::zone zone;
  return zone;
}

struct ZoneClearer {
  msgpack::zone& zone;
  ~ZoneClearer() { zone.clear(); }
};

}  // namespace

std::string encode(const Json& value) {
  std::string out;
  out.reserve(128);
  StringWriter writer{out};
  Packer pk(writer);
  pack(pk, value);
  return out;
}

Json decode(std::string_view bytes) {
  if (bytes.size() > kMaxMessageBytes) throw FormatError("message too large");
  // Every element takes at least one byte and every map entry two, so no count in a
  // well-formed message exceeds its size: this keeps a hostile length prefix
  // ("dd ff ff ff ff") from making unpack allocate gigabytes.
  const std::size_t n = bytes.size();
  const msgpack::unpack_limit limit(/*array*/ n, /*map*/ n / 2, /*str*/ n, /*bin*/ n,
                                    /*ext*/ 0, /*depth*/ kMaxNesting);
  msgpack::zone& zone = scratch_zone();
  const ZoneClearer clear_after{zone};
  try {
    std::size_t offset = 0;
    bool referenced = false;
    // No reference function: strings are copied into the zone, never pointing
    // into `bytes`.
    const msgpack::object o =
        msgpack::unpack(zone, bytes.data(), bytes.size(), offset, referenced, nullptr, nullptr, limit);
    if (offset != bytes.size()) throw FormatError("trailing bytes after message");
    return unpack(o, 0);
  } catch (const FormatError&) {
    throw;
  } catch (const std::exception& e) {
    throw FormatError(std::string("malformed MessagePack: ") + e.what());
  }
}

}  // namespace qube
