// safetensors container: validated parsing of a byte span and serialisation to bytes.
// Shared by statistics files and (later) model checkpoints. Rules: docs/FAMILIES.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc {

enum class Dtype {
  BOOL,
  F4,
  F6_E2M3,
  F6_E3M2,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  C64,
  F64,
  I64,
  U64,
};

// Name as written in headers ("F32"); parse returns false for an unknown string.
const char* dtype_name(Dtype dtype);
bool dtype_from_name(const std::string& name, Dtype& out);
// Bits per element (4 for F4, 6 for F6_*, 8 for U8, ...).
std::size_t dtype_bits(Dtype dtype);

struct TensorInfo {
  std::string name;
  Dtype dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;  // offsets relative to the data section; end is one past the last byte
  std::uint64_t end = 0;

  std::uint64_t element_count() const;  // product of shape (1 for a scalar)
  std::uint64_t byte_size() const { return end - begin; }
};

// Maximum accepted header length in bytes (Rust reference implementation's limit).
inline constexpr std::uint64_t kSafetensorsMaxHeader = 100'000'000;

// A parsed container. Views into the caller's bytes: the span must outlive it.
struct SafetensorsView {
  std::map<std::string, std::string> metadata;  // the __metadata__ object (string -> string)
  std::vector<TensorInfo> tensors;              // in header (key) order
  std::span<const std::uint8_t> data;           // the data section

  const TensorInfo* find(const std::string& name) const;
  // Raw bytes of one tensor (unaligned; copy before reinterpreting).
  std::span<const std::uint8_t> bytes(const TensorInfo& info) const;
};

// Parses and validates a whole safetensors file held in memory. Errors are ErrorCode::Malformed
// with a message describing the problem (the caller prefixes the file name).
Result<SafetensorsView> parse_safetensors(std::span<const std::uint8_t> file);

// One tensor of a file whose data is written elsewhere (streamed): its header entry.
struct SafetensorsEntry {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::uint64_t> shape;
  std::uint64_t bytes = 0;
};
// The file's first bytes: 8-byte little-endian length and the JSON header (metadata, then the
// entries with back-to-back data offsets in the given order), padded with spaces so the data
// section starts 8-byte aligned. The tensors' bytes follow in the same order.
std::vector<std::uint8_t> safetensors_header(const std::map<std::string, std::string>& metadata,
                                             const std::vector<SafetensorsEntry>& entries);

// Builds a safetensors file in memory. Tensors are packed back to back in insertion order;
// the header is padded with spaces so the data section starts 8-byte aligned.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  // Copies the bytes. Fails (InvalidArgument) on a duplicate or reserved name, or if the byte
  // count does not equal shape x dtype.
  Status add_tensor(const std::string& name, Dtype dtype, std::vector<std::uint64_t> shape,
                    std::span<const std::uint8_t> bytes);
  // The data section alone (what a checksum covers), in the order serialize() writes it.
  std::vector<std::uint8_t> data_section() const;
  // The complete file.
  std::vector<std::uint8_t> serialize() const;

 private:
  struct Entry {
    std::string name;
    Dtype dtype;
    std::vector<std::uint64_t> shape;
    std::vector<std::uint8_t> bytes;
  };
  std::map<std::string, std::string> m_metadata;
  std::vector<Entry> m_entries;
  std::set<std::string> m_names;  // of m_entries, so duplicate checks stay O(log n) per tensor
};

}  // namespace hc
