// Hugging Face `tokenizer.json` BPE tokenizers (byte-level and SentencePiece-style) for turning
// calibration text into token ids, plus a loader for pre-tokenized id files (.npy or raw int32).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

namespace detail {
struct TokenizerImpl;
}

// What encode() does beyond the model itself.
struct EncodeOptions {
  // Apply the file's post-processor (TemplateProcessing: e.g. BOS in front). Off by default:
  // calibration text is concatenated into long streams, where per-chunk BOS tokens would be
  // noise. Post-processors other than TemplateProcessing/ByteLevel/Sequence are an error when on.
  bool add_special_tokens = false;
};

struct DecodeOptions {
  bool skip_special_tokens = false;  // drop added tokens marked "special" (BOS, EOS, ...)
};

// A loaded tokenizer. Supported components (anything else is an error naming the component):
//   normalizer:    null, NFC/NFD/NFKC/NFKD (ICU), Prepend, Replace (String pattern), Sequence
//   pre_tokenizer: null, ByteLevel, Split (Regex/String pattern; Isolated or Removed; not
//                  inverted), Metaspace (prepend_scheme first/always/never, split), Sequence
//   model:         BPE (vocab, merges as "a b" or [a, b], unk_token, fuse_unk, byte_fallback,
//                  ignore_merges)
//   post_processor: TemplateProcessing (single), ByteLevel (no-op), Sequence; only used with
//                  EncodeOptions::add_special_tokens
//   added_tokens:  matched leftmost-longest in the raw text before normalization; lstrip/rstrip
// Encoding is thread-safe (the word cache is locked).
class Tokenizer {
 public:
  // Parses tokenizer.json text. `source` names the file in error messages.
  static hc::Result<Tokenizer> from_json(std::string_view json_text,
                                         const std::string& source = "tokenizer.json");
  // Reads and parses a tokenizer.json file; errors name the path.
  static hc::Result<Tokenizer> from_file(const std::filesystem::path& path);

  // Token ids of UTF-8 `text`. Fails only for text the tokenizer cannot handle (e.g. text
  // that ICU cannot normalize).
  hc::Result<std::vector<std::int32_t>> encode(std::string_view text,
                                               const EncodeOptions& options = {}) const;

  // Text of `ids` following the flavour's decoding (byte-level: bytes back from the byte-to-
  // unicode map; SentencePiece: "▁" → " ", <0xXX> → byte, leading space of the first word
  // dropped). Unknown ids are skipped. Invalid UTF-8 from partial byte sequences is kept as-is.
  std::string decode(std::span<const std::int32_t> ids, const DecodeOptions& options = {}) const;

  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(std::int32_t id) const;
  // One past the largest id of the vocabulary and the added tokens.
  std::size_t vocab_size() const;
  bool byte_level() const;  // true for GPT-2-style byte-level tokenizers

 private:
  explicit Tokenizer(std::shared_ptr<detail::TokenizerImpl> impl) : m_impl(std::move(impl)) {}
  std::shared_ptr<detail::TokenizerImpl> m_impl;
};

// Token ids stored by another tool. `.npy` (by magic, whatever the extension): version 1-3,
// 1-D, C order, little-endian int32/int64/uint16/uint32; anything else: raw little-endian
// int32. Ids must lie in [0, 2^31). Errors (Malformed/Corrupt) name the file.
hc::Result<std::vector<std::int32_t>> load_token_ids(const std::filesystem::path& path);
// The same from bytes already in memory; `source` names them in errors.
hc::Result<std::vector<std::int32_t>> parse_token_ids(std::span<const std::uint8_t> bytes,
                                                      const std::string& source);

}  // namespace hc::native
