// safetensors container: a validating parser (the rules of docs/FAMILIES.md, in that order)
// and an in-memory writer. Shared by statistics files and model checkpoints.
#include "hc/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <utility>

namespace hc {
namespace {

struct DtypeRow {
  Dtype dtype;
  const char* name;
  std::size_t bits;
};

// In enum order, so a Dtype indexes its own row.
constexpr DtypeRow kDtypes[] = {
    {Dtype::BOOL, "BOOL", 8},
    {Dtype::F4, "F4", 4},
    {Dtype::F6_E2M3, "F6_E2M3", 6},
    {Dtype::F6_E3M2, "F6_E3M2", 6},
    {Dtype::U8, "U8", 8},
    {Dtype::I8, "I8", 8},
    {Dtype::F8_E5M2, "F8_E5M2", 8},
    {Dtype::F8_E4M3, "F8_E4M3", 8},
    {Dtype::F8_E8M0, "F8_E8M0", 8},
    {Dtype::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {Dtype::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {Dtype::I16, "I16", 16},
    {Dtype::U16, "U16", 16},
    {Dtype::F16, "F16", 16},
    {Dtype::BF16, "BF16", 16},
    {Dtype::I32, "I32", 32},
    {Dtype::U32, "U32", 32},
    {Dtype::F32, "F32", 32},
    {Dtype::C64, "C64", 64},
    {Dtype::F64, "F64", 64},
    {Dtype::I64, "I64", 64},
    {Dtype::U64, "U64", 64},
};

constexpr bool dtype_table_in_enum_order() {
  for (std::size_t i = 0; i < std::size(kDtypes); ++i)
    if (static_cast<std::size_t>(kDtypes[i].dtype) != i) return false;
  return std::size(kDtypes) == static_cast<std::size_t>(Dtype::U64) + 1;
}
static_assert(dtype_table_in_enum_order());

Error malformed(std::string message) {
  return make_error(ErrorCode::Malformed, std::move(message));
}
Error invalid_argument(std::string message) {
  return make_error(ErrorCode::InvalidArgument, std::move(message));
}

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if it is not one (overlong
// forms, surrogates and code points past U+10FFFF are rejected, as Rust's from_utf8 does).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0, min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

std::size_t first_invalid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Appends s as a JSON string literal. Invalid UTF-8 becomes U+FFFD so the header we write is
// always one our own reader accepts.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\u00";
      out += kHex[(c >> 4) & 0xF];
      out += kHex[c & 0xF];
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
}

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

// Bytes needed by shape x dtype; fails on overflow or a total that is not a whole byte.
bool byte_count(Dtype dtype, const std::vector<std::uint64_t>& shape, std::uint64_t& bytes,
                std::string& why) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t elements = 1;
  for (const std::uint64_t d : shape) {
    if (d != 0 && elements > kMax / d) {
      why = "element count of shape " + shape_text(shape) + " overflows 64 bits";
      return false;
    }
    elements *= d;
  }
  const std::uint64_t bits_per = dtype_bits(dtype);
  if (elements > kMax / bits_per) {
    why = "bit count of shape " + shape_text(shape) + " overflows 64 bits";
    return false;
  }
  const std::uint64_t bits = elements * bits_per;
  if (bits % 8 != 0) {
    why = "shape " + shape_text(shape) + " of " + dtype_name(dtype) + " is " +
          std::to_string(bits) + " bits, not a whole number of bytes";
    return false;
  }
  bytes = bits / 8;
  return true;
}

// First pass over the header: nlohmann keeps one of two duplicate keys silently, so duplicates
// are caught here, together with a readable message for syntax errors and the order of the
// top-level keys (nlohmann's ordered_json would cost O(n^2) in the number of tensors).
using Json = nlohmann::json;

class HeaderScanner : public nlohmann::json_sax<Json> {
 public:
  std::string error;
  std::vector<std::string> top_keys;  // tensor names and __metadata__, in header order

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& key) override {
    Frame& top = m_frames.back();
    if (!top.keys.insert(key).second) {
      const std::size_t depth = m_frames.size();
      if (depth == 1)
        error = key == "__metadata__" ? "duplicate key '__metadata__' in header"
                                      : "duplicate tensor name '" + key + "' in header";
      else if (depth == 2 && top.owner == "__metadata__")
        error = "duplicate __metadata__ key '" + key + "'";
      else if (depth == 2)
        error = "tensor '" + top.owner + "': duplicate field '" + key + "'";
      else
        error = "duplicate key '" + key + "' in header";
      return false;
    }
    if (m_frames.size() == 1) top_keys.push_back(key);
    m_last_key = key;
    return true;
  }

  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    if (m_complete) {
      error = "header has trailing characters after the JSON object";
      return false;
    }
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep line/column and reason.
    std::string what = ex.what();
    const std::size_t tag_end = what.find("] ");
    if (tag_end != std::string::npos) what = what.substr(tag_end + 2);
    error = "header is not valid JSON: " + what;
    return false;
  }

 private:
  struct Frame {
    bool is_object;
    std::string owner;  // the key this container is the value of ("" inside an array)
    std::set<std::string> keys;
  };

  bool value() {
    if (m_frames.empty()) m_complete = true;
    return true;
  }
  bool open(bool is_object) {
    std::string owner = !m_frames.empty() && m_frames.back().is_object ? m_last_key : "";
    m_frames.push_back(Frame{is_object, std::move(owner), {}});
    return true;
  }
  bool close() {
    m_frames.pop_back();
    return value();
  }

  std::vector<Frame> m_frames;
  std::string m_last_key;
  bool m_complete = false;
};

bool as_unsigned(const Json& v, std::uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<std::int64_t>() == 0) {  // "-0"
    out = 0;
    return true;
  }
  return false;
}

Status parse_tensor_entry(const std::string& name, const Json& entry, TensorInfo& info) {
  auto fail = [&name](const std::string& what) {
    return malformed("tensor '" + name + "': " + what);
  };
  if (!entry.is_object()) return fail("entry must be an object with dtype, shape and data_offsets");

  const auto dtype = entry.find("dtype");
  if (dtype == entry.end()) return fail("missing \"dtype\"");
  if (!dtype->is_string()) return fail("dtype must be a string");
  if (!dtype_from_name(dtype->get_ref<const std::string&>(), info.dtype))
    return fail("unknown dtype '" + dtype->get_ref<const std::string&>() + "'");

  const auto shape = entry.find("shape");
  if (shape == entry.end()) return fail("missing \"shape\"");
  if (!shape->is_array()) return fail("shape must be an array of integers");
  for (const Json& d : *shape) {
    std::uint64_t dim = 0;
    if (!as_unsigned(d, dim)) {
      if (d.is_number_integer())
        return fail("shape entry " + std::to_string(d.get<std::int64_t>()) + " is negative");
      return fail("shape entries must be non-negative integers");
    }
    info.shape.push_back(dim);
  }

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end()) return fail("missing \"data_offsets\"");
  if (!offsets->is_array() || offsets->size() != 2 || !as_unsigned((*offsets)[0], info.begin) ||
      !as_unsigned((*offsets)[1], info.end))
    return fail("data_offsets must be two non-negative integers [begin, end]");
  return Ok{};
}

}  // namespace

const char* dtype_name(Dtype dtype) {
  return kDtypes[static_cast<std::size_t>(dtype)].name;
}

bool dtype_from_name(const std::string& name, Dtype& out) {
  for (const DtypeRow& row : kDtypes)
    if (name == row.name) {
      out = row.dtype;
      return true;
    }
  return false;
}

std::size_t dtype_bits(Dtype dtype) {
  return kDtypes[static_cast<std::size_t>(dtype)].bits;
}

std::uint64_t TensorInfo::element_count() const {
  std::uint64_t n = 1;
  for (const std::uint64_t d : shape) n *= d;
  return n;
}

const TensorInfo* SafetensorsView::find(const std::string& name) const {
  for (const TensorInfo& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::span<const std::uint8_t> SafetensorsView::bytes(const TensorInfo& info) const {
  return data.subspan(info.begin, info.end - info.begin);
}

Result<SafetensorsView> parse_safetensors(std::span<const std::uint8_t> file) {
  // 1-3: the length prefix.
  if (file.size() < 8)
    return malformed("file is " + std::to_string(file.size()) +
                     " bytes, too short for a safetensors header length (8 bytes)");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  if (n > kSafetensorsMaxHeader)
    return malformed("header length " + std::to_string(n) + " exceeds the " +
                     std::to_string(kSafetensorsMaxHeader) + "-byte limit");
  if (n > file.size() - 8)
    return malformed("header length " + std::to_string(n) + " runs past the end of the file (" +
                     std::to_string(file.size()) + " bytes)");
  const std::string_view header(reinterpret_cast<const char*>(file.data()) + 8,
                                static_cast<std::size_t>(n));

  // 4: encoding.
  if (const std::size_t bad = first_invalid_utf8(header); bad != std::string_view::npos)
    return malformed("header is not valid UTF-8 (at byte " + std::to_string(bad) +
                     " of the header)");

  // 5: JSON, then the schema of every entry. nlohmann stops at a NUL as if the input ended,
  // which would let bytes hide after it; JSON never allows a raw NUL, so reject it up front.
  if (const std::size_t nul = header.find('\0'); nul != std::string_view::npos)
    return malformed("header is not valid JSON: NUL byte at byte " + std::to_string(nul) +
                     " of the header");
  HeaderScanner scanner;
  if (!Json::sax_parse(header.begin(), header.end(), &scanner))
    return malformed(scanner.error.empty() ? "header is not valid JSON" : scanner.error);
  const Json root = Json::parse(header.begin(), header.end(), nullptr, false);
  if (root.is_discarded()) return malformed("header is not valid JSON");
  if (!root.is_object())
    return malformed(std::string("header JSON must be an object, found ") + root.type_name());

  SafetensorsView view;
  view.data = file.subspan(8 + static_cast<std::size_t>(n));
  for (const std::string& key : scanner.top_keys) {
    const auto found = root.find(key);
    if (found == root.end()) return malformed("header JSON changed between passes");  // unreachable
    const Json& value = *found;
    if (key == "__metadata__") {
      if (!value.is_object())
        return malformed("__metadata__ must be an object of strings, found " +
                         std::string(value.type_name()));
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string())
          return malformed("__metadata__ value for key '" + mkey + "' is not a string (found " +
                           mvalue.type_name() + ")");
        view.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    TensorInfo info;
    info.name = key;
    HC_TRY_STATUS(parse_tensor_entry(key, value, info));
    view.tensors.push_back(std::move(info));
  }

  // 6: offsets must tile [0, last end) with no gap or overlap, each matching shape x dtype.
  std::vector<const TensorInfo*> order;
  order.reserve(view.tensors.size());
  for (const TensorInfo& t : view.tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  std::uint64_t start = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : order) {
    // Built only on failure: this loop runs once per tensor of a checkpoint shard.
    auto where = [t] {
      return "tensor '" + t->name + "': data_offsets [" + std::to_string(t->begin) + ", " +
             std::to_string(t->end) + "]";
    };
    if (t->begin > start)
      return malformed(where() + " leave a gap after byte " + std::to_string(start));
    if (t->begin < start)
      return malformed(where() + " overlap tensor '" + previous->name + "', which ends at byte " +
                       std::to_string(start));
    if (t->end < t->begin) return malformed(where() + " end before they begin");
    std::uint64_t bytes = 0;
    std::string why;
    if (!byte_count(t->dtype, t->shape, bytes, why))
      return malformed("tensor '" + t->name + "': " + why);
    if (t->end - t->begin != bytes)
      return malformed(where() + " hold " + std::to_string(t->end - t->begin) +
                       " bytes but shape " + shape_text(t->shape) + " of " + dtype_name(t->dtype) +
                       " needs " + std::to_string(bytes));
    start = t->end;
    previous = t;
  }

  // 7: the data section must be indexed exactly, so no bytes hide after the last tensor.
  if (start < view.data.size())
    return malformed(std::to_string(view.data.size() - start) +
                     " trailing bytes after the last tensor (data section is " +
                     std::to_string(view.data.size()) + " bytes, tensors cover " +
                     std::to_string(start) + ")");
  if (start > view.data.size())
    return malformed("tensor '" + previous->name + "' ends at byte " + std::to_string(start) +
                     " of the data section, past the end of the file (data section is " +
                     std::to_string(view.data.size()) + " bytes)");
  return view;
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  m_metadata[key] = value;
}

Status SafetensorsWriter::add_tensor(const std::string& name, Dtype dtype,
                                     std::vector<std::uint64_t> shape,
                                     std::span<const std::uint8_t> bytes) {
  if (name == "__metadata__") return invalid_argument("tensor name '__metadata__' is reserved");
  if (first_invalid_utf8(name) != std::string_view::npos)
    return invalid_argument("tensor name '" + name + "' is not valid UTF-8");
  if (m_names.count(name)) return invalid_argument("duplicate tensor name '" + name + "'");
  std::uint64_t expected = 0;
  std::string why;
  if (!byte_count(dtype, shape, expected, why))
    return invalid_argument("tensor '" + name + "': " + why);
  if (bytes.size() != expected)
    return invalid_argument("tensor '" + name + "': " + std::to_string(bytes.size()) +
                            " bytes given but shape " + shape_text(shape) + " of " +
                            dtype_name(dtype) + " needs " + std::to_string(expected));
  m_entries.push_back(Entry{name, dtype, std::move(shape), {bytes.begin(), bytes.end()}});
  m_names.insert(name);
  return Ok{};
}

std::vector<std::uint8_t> SafetensorsWriter::data_section() const {
  std::size_t total = 0;
  for (const Entry& e : m_entries) total += e.bytes.size();
  std::vector<std::uint8_t> data;
  data.reserve(total);
  for (const Entry& e : m_entries) data.insert(data.end(), e.bytes.begin(), e.bytes.end());
  return data;
}

std::vector<std::uint8_t> safetensors_header(const std::map<std::string, std::string>& metadata,
                                             const std::vector<SafetensorsEntry>& entries) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      append_json_string(header, key);
      header += ':';
      append_json_string(header, value);
    }
    header += '}';
    first = false;
  }
  std::uint64_t offset = 0;
  for (const SafetensorsEntry& e : entries) {
    if (!first) header += ',';
    first = false;
    append_json_string(header, e.name);
    header += ":{\"dtype\":\"";
    header += dtype_name(e.dtype);
    header += "\",\"shape\":[";
    for (std::size_t i = 0; i < e.shape.size(); ++i) {
      if (i) header += ',';
      header += std::to_string(e.shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + ',';
    offset += e.bytes;
    header += std::to_string(offset) + "]}";
  }
  header += '}';
  // Pad so the data section starts at an 8-byte-aligned file offset.
  while ((8 + header.size()) % 8 != 0) header += ' ';
  std::vector<std::uint8_t> out;
  out.reserve(8 + header.size());
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  return out;
}

std::vector<std::uint8_t> SafetensorsWriter::serialize() const {
  std::vector<SafetensorsEntry> entries;
  std::uint64_t total = 0;
  for (const Entry& e : m_entries) {
    entries.push_back({e.name, e.dtype, e.shape, e.bytes.size()});
    total += e.bytes.size();
  }
  std::vector<std::uint8_t> file = safetensors_header(m_metadata, entries);
  file.reserve(file.size() + total);
  for (const Entry& e : m_entries) file.insert(file.end(), e.bytes.begin(), e.bytes.end());
  return file;
}

}  // namespace hc
