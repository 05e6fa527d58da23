// Pre-tokenized calibration ids: NumPy .npy arrays (validated header) or raw little-endian
// int32 files, both turned into non-negative int32 token ids.
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>

#include "hc/native/file_io.hpp"
#include "hc/native/tokenizer.hpp"

namespace hc::native {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr std::size_t kNpyMagicSize = 6;
constexpr std::size_t kMaxNpyHeader = 1 << 16;

hc::Error bad(const std::string& source, const std::string& what,
              hc::ErrorCode code = hc::ErrorCode::Malformed) {
  return hc::make_error(code, source + ": " + what);
}

// Little-endian unsigned of `n` bytes at `p`.
std::uint64_t read_le(const std::uint8_t* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// Value of 'key' in the header dict, as raw text ("'<i4'", "False", "(12,)"); empty when the
// key is missing. A linear scan, not std::regex: libstdc++'s regex recurses per character and
// takes seconds (or the stack) on a 64 KiB header.
std::string header_field(const std::string& header, const std::string& key) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  auto skip_space = [&](std::size_t i) {
    while (i < header.size() && std::isspace(static_cast<unsigned char>(header[i]))) ++i;
    return i;
  };
  for (const char quote : {'\'', '"'}) {
    const std::string quoted = quote + key + quote;
    for (std::size_t at = header.find(quoted); at != std::string::npos;
         at = header.find(quoted, at + 1)) {
      std::size_t i = skip_space(at + quoted.size());
      if (i >= header.size() || header[i] != ':') continue;
      i = skip_space(i + 1);
      if (i >= header.size()) return {};
      const char open = header[i];
      if (open == '\'' || open == '"' || open == '(') {
        const std::size_t close = header.find(open == '(' ? ')' : open, i + 1);
        return close == std::string::npos ? std::string() : header.substr(i, close - i + 1);
      }
      std::size_t end = i;
      while (end < header.size() && is_word(header[end])) ++end;
      return header.substr(i, end - i);
    }
  }
  return {};
}

// The length of a 1-D shape "(N,)" / "(N)" (spaces allowed), or nullopt for anything else.
std::optional<std::string> one_d_length(const std::string& shape) {
  if (shape.size() < 3 || shape.front() != '(' || shape.back() != ')') return std::nullopt;
  std::size_t i = 1;
  const std::size_t end = shape.size() - 1;
  auto skip_space = [&] {
    while (i < end && std::isspace(static_cast<unsigned char>(shape[i]))) ++i;
  };
  skip_space();
  const std::size_t digits = i;
  while (i < end && std::isdigit(static_cast<unsigned char>(shape[i]))) ++i;
  if (i == digits) return std::nullopt;
  std::string count = shape.substr(digits, i - digits);
  skip_space();
  if (i < end && shape[i] == ',') ++i;
  skip_space();
  if (i != end) return std::nullopt;
  return count;
}

hc::Result<std::vector<std::int32_t>> parse_npy(std::span<const std::uint8_t> bytes,
                                                const std::string& source) {
  if (bytes.size() < 10) return bad(source, ".npy file truncated before its header");
  const int major = bytes[6];
  if (major < 1 || major > 3) {
    return bad(source, ".npy version " + std::to_string(major) + " is not supported (1-3)",
               hc::ErrorCode::UnsupportedVersion);
  }
  const std::size_t len_size = major == 1 ? 2 : 4;
  const std::size_t header_start = 8 + len_size;
  if (bytes.size() < header_start) return bad(source, ".npy file truncated before its header");
  const std::size_t header_len = read_le(bytes.data() + 8, len_size);
  if (header_len > kMaxNpyHeader) return bad(source, ".npy header is implausibly large");
  if (bytes.size() < header_start + header_len) return bad(source, ".npy header is truncated");
  const std::string header(reinterpret_cast<const char*>(bytes.data() + header_start), header_len);
  if (header.find('{') == std::string::npos) return bad(source, ".npy header is not a dict");

  std::string descr = header_field(header, "descr");
  const std::string fortran = header_field(header, "fortran_order");
  const std::string shape = header_field(header, "shape");
  if (descr.size() < 2 || fortran.empty() || shape.empty()) {
    return bad(source, ".npy header lacks descr, fortran_order or shape");
  }
  descr = descr.substr(1, descr.size() - 2);
  if (fortran != "False") return bad(source, ".npy array is in Fortran order; need C order");
  struct Type {
    const char* descr;
    std::size_t size;
    bool is_signed;
  };
  static constexpr Type kTypes[] = {
      {"<i4", 4, true}, {"<i8", 8, true}, {"<u2", 2, false}, {"<u4", 4, false}};
  const Type* type = nullptr;
  for (const Type& t : kTypes) {
    if (descr == t.descr) type = &t;
  }
  if (type == nullptr) {
    return bad(source,
               ".npy dtype '" + descr +
                   "' is not supported (need little-endian int32, int64, uint16 or uint32)");
  }
  const std::optional<std::string> length = one_d_length(shape);
  if (!length) return bad(source, ".npy array has shape " + shape + "; need a 1-D array");
  const std::string& count_text = *length;
  if (count_text.size() > 15) return bad(source, ".npy shape is implausibly large");
  const std::size_t count = std::stoull(count_text);
  const std::size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != count * type->size) {
    return bad(source, ".npy data is " + std::to_string(bytes.size() - data_start) +
                           " bytes; shape and dtype need " + std::to_string(count * type->size));
  }
  std::vector<std::int32_t> ids(count);
  const std::uint8_t* p = bytes.data() + data_start;
  for (std::size_t i = 0; i < count; ++i, p += type->size) {
    std::uint64_t raw = read_le(p, type->size);
    std::int64_t v = static_cast<std::int64_t>(raw);
    if (type->is_signed && type->size == 4) v = static_cast<std::int32_t>(raw);
    if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) {
      return bad(
          source,
          "token id " + std::to_string(v) + " at index " + std::to_string(i) + " is out of range",
          hc::ErrorCode::Corrupt);
    }
    ids[i] = static_cast<std::int32_t>(v);
  }
  return ids;
}

}  // namespace

hc::Result<std::vector<std::int32_t>> parse_token_ids(std::span<const std::uint8_t> bytes,
                                                      const std::string& source) {
  if (bytes.size() >= kNpyMagicSize && std::memcmp(bytes.data(), kNpyMagic, kNpyMagicSize) == 0) {
    return parse_npy(bytes, source);
  }
  if (bytes.size() % 4 != 0) {
    return bad(source, "raw int32 token file has " + std::to_string(bytes.size()) +
                           " bytes, not a multiple of 4");
  }
  std::vector<std::int32_t> ids(bytes.size() / 4);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ids[i] = static_cast<std::int32_t>(read_le(bytes.data() + 4 * i, 4));
    if (ids[i] < 0) {
      return bad(
          source,
          "token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) + " is negative",
          hc::ErrorCode::Corrupt);
    }
  }
  return ids;
}

hc::Result<std::vector<std::int32_t>> load_token_ids(const std::filesystem::path& path) {
  std::vector<std::uint8_t> bytes;
  if (hc::Status error = read_file(path, bytes); !error.ok()) return error.error();
  return parse_token_ids(bytes, path.string());
}

}  // namespace hc::native
