// Fuzz target: pre-tokenized ids (.npy by magic, else raw little-endian int32).
#include <cstddef>
#include <cstdint>
#include <span>

#include "hc/native/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto ids = hc::native::parse_token_ids(std::span<const std::uint8_t>(data, size), "fuzz.ids");
  if (!ids.ok()) return 0;
  for (std::int32_t id : *ids) {
    if (id < 0) __builtin_trap();
  }
  return 0;
}
