// Byte-level BPE training (GPT-2 style): learns merges from UTF-8 text and writes them as a
// Hugging Face tokenizer.json that hc::native::Tokenizer loads. No LibTorch needed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

struct BpeTrainOptions {
  // Total ids: 256 byte tokens + learned merges + the end-of-text token (when not empty).
  std::size_t vocab_size = 1024;
  std::size_t min_frequency = 2;  // a pair seen fewer times is never merged
  std::string end_of_text = "<|endoftext|>";
};

// A learned byte-level BPE vocabulary. Tokens are in id order, spelled with GPT-2's
// byte-to-unicode map: ids 0..255 are the single bytes 0..255, then one token per merge, in
// merge order, then end_of_text (when set) as the last id.
struct BpeVocabulary {
  std::vector<std::string> tokens;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::string end_of_text;                                  // empty: none
};

// Learns merges on `text` split by the GPT-2 pre-tokenizer pattern. The most frequent adjacent
// pair is merged first; ties go to the pair whose (left, right) spellings sort first, so the
// result depends only on the text and the options. Stops early when no pair reaches
// min_frequency. Errors (InvalidArgument): empty text, vocab_size too small for the 256 bytes.
hc::Result<BpeVocabulary> train_bpe(std::string_view text, const BpeTrainOptions& options = {});

// tokenizer.json text: ByteLevel pre-tokenizer (GPT-2 regex, no prefix space), BPE model,
// ByteLevel decoder, end_of_text as a special added token.
std::string bpe_tokenizer_json(const BpeVocabulary& vocabulary);

}  // namespace hc::native
