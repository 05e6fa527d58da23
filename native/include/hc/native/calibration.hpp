// Calibration and evaluation token streams: text encoded with the model's tokenizer.json, or
// pre-tokenized ids, cut into the independent fixed-length sequences the forward pass runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

struct TokenSource {
  std::string text_path;  // UTF-8 text, encoded with <model>/tokenizer.json
  std::string ids_path;   // or pre-tokenized ids (.npy or raw little-endian int32)
};

struct TokenStream {
  std::vector<std::int32_t> ids;
  std::string description;  // "text FILE (N tokens, tokenizer.json)" for reports and metadata
};

// Reads the token stream of `source` (exactly one of its paths set). Errors name the file:
// a missing tokenizer.json, unreadable text, empty text, ids outside [0, vocab_size).
hc::Result<TokenStream> read_token_stream(const std::filesystem::path& model_dir,
                                          const TokenSource& source, std::size_t vocab_size);

// Cuts `ids` (at most `max_tokens` of them; 0 = all) into consecutive sequences of `seq_len`
// tokens. A shorter tail is kept when it has at least `min_tail` tokens, dropped otherwise.
std::vector<std::vector<std::int32_t>> split_sequences(const std::vector<std::int32_t>& ids,
                                                       std::size_t seq_len, std::size_t max_tokens,
                                                       std::size_t min_tail);

}  // namespace hc::native
