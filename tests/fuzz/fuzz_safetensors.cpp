// Fuzz target: the safetensors container (header length, header JSON, offsets, dtypes, shapes).
#include <cstddef>
#include <cstdint>
#include <span>

#include "hc/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> file(data, size);
  auto view = hc::parse_safetensors(file);
  if (!view.ok()) return 0;
  // Every tensor the parser accepted must lie inside the buffer it was given.
  for (const auto& info : view->tensors) {
    const std::span<const std::uint8_t> bytes = view->bytes(info);
    if (bytes.data() < data || bytes.data() + bytes.size() > data + size) __builtin_trap();
  }
  return 0;
}
