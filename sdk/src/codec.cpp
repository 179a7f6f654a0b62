#include "qube/codec.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <msgpack.hpp>

#include "item_fields.hpp"

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

void pack_text(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
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

// Unpacks `bytes` into the per-thread zone (cleared by the caller's ZoneClearer)
// with the limits that keep hostile input harmless. With `reference`, strings
// and binaries point into `bytes` instead of being copied: only for a caller
// done with the object before `bytes` goes away.
msgpack::object unpack_object(std::string_view bytes, msgpack::zone& zone, bool reference = false) {
  if (bytes.size() > kMaxMessageBytes) throw FormatError("message too large");
  // Every element takes at least one byte and every map entry two, so no count in a
  // well-formed message exceeds its size: this keeps a hostile length prefix
  // ("dd ff ff ff ff") from making unpack allocate gigabytes.
  const std::size_t n = bytes.size();
  const msgpack::unpack_limit limit(/*array*/ n, /*map*/ n / 2, /*str*/ n, /*bin*/ n,
                                    /*ext*/ 0, /*depth*/ kMaxNesting);
  try {
    std::size_t offset = 0;
    bool referenced = false;
    const msgpack::unpack_reference_func by_reference = [](msgpack::type::object_type, std::size_t, void*) {
      return true;
    };
    const msgpack::object o = msgpack::unpack(zone, bytes.data(), bytes.size(), offset, referenced,
                                              reference ? by_reference : nullptr, nullptr, limit);
    if (offset != bytes.size()) throw FormatError("trailing bytes after message");
    return o;
  } catch (const FormatError&) {
    throw;
  } catch (const std::exception& e) {
    throw FormatError(std::string("malformed MessagePack: ") + e.what());
  }
}

std::string_view str_of(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

// A string whose JSON text is itself in quotes: printable ASCII, nothing to escape.
bool plain(std::string_view s) {
  for (const char c : s)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

// Writes MessagePack as the JSON text Json::dump(indent) gives for decode() of it.
// Maps, arrays, integers and plain strings are written directly. Anything whose
// text nlohmann decides in ways not worth repeating (floats, escapes, binary, a
// map whose keys are not sorted and unique as a Json object would hold them) is
// unpacked into a Json of just that value and written by nlohmann's serializer,
// so the text is the same either way.
class TextWriter {
 public:
  TextWriter(std::string& out, int indent)
      : out_(out),
        indent_(indent),
        serializer_(nlohmann::detail::output_adapter<char>(out), ' ', Json::error_handler_t::replace) {}

  void write(const msgpack::object& o, unsigned current, std::size_t depth) {
    switch (o.type) {
      case msgpack::type::NIL: out_ += "null"; return;
      case msgpack::type::BOOLEAN: out_ += o.via.boolean ? "true" : "false"; return;
      case msgpack::type::POSITIVE_INTEGER: number(o.via.u64); return;
      case msgpack::type::NEGATIVE_INTEGER: number(o.via.i64); return;
      case msgpack::type::STR:
        if (!plain(str_of(o))) break;
        out_ += '"';
        out_ += str_of(o);
        out_ += '"';
        return;
      case msgpack::type::ARRAY:
        write_array(o, current, depth);
        return;
      case msgpack::type::MAP:
        if (!sorted_plain_keys(o)) break;
        write_map(o, current, depth);
        return;
      default: break;
    }
    serializer_.dump(unpack(o, depth), indent_ >= 0, false, static_cast<unsigned>(std::max(indent_, 0)), current);
  }

 private:
  template <typename Int>
  void number(Int v) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out_.append(buf, end);
  }
  void newline(unsigned indent) {
    if (indent_ < 0) return;
    out_ += '\n';
    out_.append(indent, ' ');
  }
  unsigned inner(unsigned current) const { return current + static_cast<unsigned>(std::max(indent_, 0)); }

  void write_array(const msgpack::object& o, unsigned current, std::size_t depth) {
    if (o.via.array.size == 0) {
      out_ += "[]";
      return;
    }
    out_ += '[';
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
      if (i > 0) out_ += ',';
      newline(inner(current));
      write(o.via.array.ptr[i], inner(current), depth + 1);
    }
    newline(current);
    out_ += ']';
  }

  void write_map(const msgpack::object& o, unsigned current, std::size_t depth) {
    if (o.via.map.size == 0) {
      out_ += "{}";
      return;
    }
    out_ += '{';
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (i > 0) out_ += ',';
      newline(inner(current));
      out_ += '"';
      out_ += str_of(kv.key);
      out_ += indent_ >= 0 ? "\": " : "\":";
      write(kv.val, inner(current), depth + 1);
    }
    newline(current);
    out_ += '}';
  }

  static bool sorted_plain_keys(const msgpack::object& o) {
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& key = o.via.map.ptr[i].key;
      if (key.type != msgpack::type::STR || !plain(str_of(key))) return false;
      if (i > 0 && !(str_of(o.via.map.ptr[i - 1].key) < str_of(key))) return false;
    }
    return true;
  }

  std::string& out_;
  int indent_;
  nlohmann::detail::serializer<Json> serializer_;
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
  msgpack::zone& zone = scratch_zone();
  const ZoneClearer clear_after{zone};
  return unpack(unpack_object(bytes, zone), 0);
}

namespace {
// The map `fields` with one more field `key`, whose value `append_value` appends
// (`value_size` bytes): built in one buffer, for replies of many megabytes.
template <class AppendValue>
std::string encode_map_with(const Json& fields, std::string_view key, std::size_t value_size,
                            const AppendValue& append_value) {
  if (!fields.is_object()) throw FormatError("encode_with_field: fields must be a map");
  std::string out;
  out.reserve(value_size + key.size() + 128);
  StringWriter writer{out};
  Packer pk(writer);
  pk.pack_map(static_cast<std::uint32_t>(fields.size() + 1));
  pk.pack_str(static_cast<std::uint32_t>(key.size()));
  pk.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
  append_value(out);
  for (const auto& [k, v] : fields.items()) {
    pk.pack_str(static_cast<std::uint32_t>(k.size()));
    pk.pack_str_body(k.data(), static_cast<std::uint32_t>(k.size()));
    pack(pk, v);
  }
  return out;
}
}  // namespace

std::string encode_with_field(const Json& fields, std::string_view key, std::string_view encoded_value) {
  return encode_map_with(fields, key, encoded_value.size(), [&](std::string& out) { out += encoded_value; });
}

std::string encode_with_array(const Json& fields, std::string_view key,
                              const std::vector<std::string_view>& encoded_elements) {
  std::size_t size = 5;
  for (const auto e : encoded_elements) size += e.size();
  return encode_map_with(fields, key, size, [&](std::string& out) {
    StringWriter writer{out};
    Packer(writer).pack_array(static_cast<std::uint32_t>(encoded_elements.size()));
    for (const auto e : encoded_elements) out += e;
  });
}

DecodedWithText decode_with_text(std::string_view bytes, std::string_view key, int indent) {
  msgpack::zone& zone = scratch_zone();
  const ZoneClearer clear_after{zone};
  // Strings are referenced, not copied: everything is copied out of the object
  // before this returns. The text is about 1.4 times the MessagePack: reserved
  // so that a large reply is not copied as it grows.
  const msgpack::object o = unpack_object(bytes, zone, true);
  DecodedWithText out;
  out.text.reserve(bytes.size() * 3 / 2);
  if (o.type != msgpack::type::MAP) {
    out.fields = unpack(o, 0);
    return out;
  }
  out.fields = Json::object();
  auto& fields = out.fields.get_ref<Json::object_t&>();
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) throw FormatError("map keys must be strings");
    if (str_of(kv.key) == key) {  // a repeated key keeps its last value, as in decode()
      out.text.clear();
      TextWriter(out.text, indent).write(kv.val, 0, 1);
    } else {
      fields.insert_or_assign(std::string(str_of(kv.key)), unpack(kv.val, 1));
    }
  }
  return out;
}

namespace {

// One value of item_fields or attempt_fields, as MessagePack.
template <class T>
void pack_field(Packer& pk, const T& value) {
  if constexpr (std::is_same_v<T, std::vector<Attempt>>) {
    pk.pack_array(static_cast<std::uint32_t>(value.size()));
    for (const Attempt& a : value) {
      pk.pack_map(detail::kAttemptFieldCount);
      detail::attempt_fields(a, [&pk](const char* key, const auto& v) {
        pack_text(pk, key);
        pack_field(pk, v);
      });
    }
  } else if constexpr (std::is_same_v<T, detail::AttemptLog>) {
    pk.pack_map(2);
    pack_text(pk, "out");
    pk.pack_array(2).pack(value.out_begin).pack(value.out_end);
    pack_text(pk, "err");
    pk.pack_array(2).pack(value.err_begin).pack(value.err_end);
  } else if constexpr (std::is_same_v<T, Json>) {
    if (value.is_null()) pk.pack_map(0);
    else pack(pk, value);
  } else if constexpr (std::is_same_v<T, std::string_view>) {
    pack_text(pk, value);
  } else if constexpr (requires { value.has_value(); }) {
    if (!value) pk.pack_nil();
    else if constexpr (std::is_same_v<T, std::optional<std::string_view>>) pack_text(pk, *value);
    else pk.pack(*value);
  } else {
    pk.pack(value);
  }
}

}  // namespace

std::string encode_item(const AgendaItem& item) {
  std::string out;
  out.reserve(item.history.empty() ? 160 : 160 + 200 * item.history.size());
  StringWriter writer{out};
  Packer pk(writer);
  pk.pack_map(detail::kItemFieldCount);
  detail::item_fields(item, [&pk](const char* key, const auto& value) {
    pack_text(pk, key);
    pack_field(pk, value);
  });
  return out;
}

namespace {

// decode_item's readers: each takes a field's value as encode_item writes it
// (or nil, which item_from_json reads as absent) and says false for any other
// type, leaving the item to the long way.
using Kind = msgpack::type::object_type;

bool read_text(const msgpack::object& v, std::string& out) {
  if (v.type == Kind::NIL) out.clear();
  else if (v.type == Kind::STR) out.assign(str_of(v));
  else return false;
  return true;
}

template <typename Int>
bool read_int(const msgpack::object& v, Int& out, std::int64_t fallback = 0) {
  std::int64_t n = fallback;
  if (v.type == Kind::POSITIVE_INTEGER) n = static_cast<std::int64_t>(v.via.u64);
  else if (v.type == Kind::NEGATIVE_INTEGER) n = v.via.i64;
  else if (v.type != Kind::NIL) return false;
  out = static_cast<Int>(n);
  return true;
}

bool read_opt_int(const msgpack::object& v, std::optional<int>& out) {
  if (v.type == Kind::NIL) {
    out.reset();
    return true;
  }
  int n = 0;
  if (v.type != Kind::POSITIVE_INTEGER && v.type != Kind::NEGATIVE_INTEGER) return false;
  read_int(v, n);
  out = n;
  return true;
}

std::optional<double> number_of(const msgpack::object& v) {
  switch (v.type) {
    case Kind::FLOAT32:
    case Kind::FLOAT64: return v.via.f64;
    case Kind::POSITIVE_INTEGER: return static_cast<double>(v.via.u64);
    case Kind::NEGATIVE_INTEGER: return static_cast<double>(v.via.i64);
    default: return std::nullopt;
  }
}

bool read_double(const msgpack::object& v, double& out) {
  const auto n = number_of(v);
  if (!n && v.type != Kind::NIL) return false;
  out = n.value_or(0);
  return true;
}

bool read_time(const msgpack::object& v, Time& out) {
  out = number_of(v);
  return out || v.type == Kind::NIL;
}

bool read_status(const msgpack::object& v, WorkStatus& out) {
  if (v.type != Kind::STR) return false;
  const auto status = parse_work_status(str_of(v));
  if (status) out = *status;
  return status.has_value();
}

// A map or array (resultpackage, history) is rare enough, and small enough,
// to go through Json.
bool read_result_package(const msgpack::object& v, Json& out) {
  if (v.type == Kind::NIL || (v.type == Kind::MAP && v.via.map.size == 0)) out = Json();
  else if (v.type == Kind::MAP) out = result_package(unpack(v, 1));
  else return false;
  return true;
}

bool read_history(const msgpack::object& v, std::vector<Attempt>& out) {
  out.clear();
  if (v.type == Kind::NIL) return true;
  if (v.type != Kind::ARRAY) return false;
  out.reserve(v.via.array.size);
  for (std::uint32_t i = 0; i < v.via.array.size; ++i) out.push_back(attempt_from_json(unpack(v.via.array.ptr[i], 2)));
  return true;
}

// The item, or nullopt where a value is not of the type encode_item writes.
std::optional<AgendaItem> read_item(const msgpack::object& o) {
  if (o.type != Kind::MAP) return std::nullopt;
  AgendaItem i;
  i.status = WorkStatus::pending;  // item_from_json's defaults for absent fields
  i.subid = -1;
  for (std::uint32_t n = 0; n < o.via.map.size; ++n) {
    const auto& [k, v] = o.via.map.ptr[n];
    if (k.type != Kind::STR) return std::nullopt;
    const std::string_view key = str_of(k);
    bool ok = true;
    if (key == "name") ok = read_text(v, i.name);
    else if (key == "status") ok = read_status(v, i.status);
    else if (key == "attempts") ok = read_int(v, i.attempts);
    else if (key == "failures") ok = read_int(v, i.failures);
    else if (key == "attempt_id") ok = read_int(v, i.attempt_id);
    else if (key == "host") ok = read_text(v, i.host);
    else if (key == "subid") ok = read_int(v, i.subid, -1);
    else if (key == "exitcode") ok = read_opt_int(v, i.exitcode);
    else if (key == "signal") ok = read_opt_int(v, i.signal);
    else if (key == "timestart") ok = read_time(v, i.timestart);
    else if (key == "timecomplete") ok = read_time(v, i.timecomplete);
    else if (key == "walltime") ok = read_double(v, i.walltime);
    else if (key == "cputime") ok = read_double(v, i.cputime);
    else if (key == "peak_rss_kb") ok = read_int(v, i.peak_rss_kb);
    else if (key == "reason") ok = read_text(v, i.reason);
    else if (key == "resultpackage") ok = read_result_package(v, i.resultpackage);
    else if (key == "history") ok = read_history(v, i.history);
    if (!ok) return std::nullopt;
  }
  return i;
}

}  // namespace

AgendaItem decode_item(std::string_view bytes) {
  std::optional<AgendaItem> item;
  {
    msgpack::zone& zone = scratch_zone();
    const ZoneClearer clear_after{zone};
    item = read_item(unpack_object(bytes, zone, true));
  }
  if (item) return std::move(*item);
  return item_from_json(decode(bytes));
}

}  // namespace qube
