// Fuzz target: tokenizer.json loading, then encoding and decoding a string with it. The input is
// "<tokenizer.json>\0<text>" (no NUL: the whole input is the JSON and a fixed text is encoded).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "hc/native/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(bytes, 0, size);
  const std::size_t json_size = nul ? static_cast<const char*>(nul) - bytes : size;
  const std::string_view json(bytes, json_size);
  const std::string_view text =
      nul ? std::string_view(bytes + json_size + 1, size - json_size - 1)
          : std::string_view("Hello, world! 123 \xc3\xa9t\xc3\xa9 <|endoftext|>");
  auto tokenizer = hc::native::Tokenizer::from_json(json, "fuzz.tokenizer.json");
  if (!tokenizer.ok()) return 0;
  auto ids = tokenizer->encode(text);
  if (!ids.ok()) return 0;
  (void)tokenizer->decode(*ids);
  for (std::int32_t id : *ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= tokenizer->vocab_size()) __builtin_trap();
  }
  return 0;
}
