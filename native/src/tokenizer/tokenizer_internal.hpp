// Private representation of a loaded tokenizer.json, shared by the loader (tokenizer.cpp) and
// the encoder/decoder (tokenizer_encode.cpp, tokenizer_bpe.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hc::native::detail {

// Thrown while reading tokenizer.json; from_json turns it into an hc::Error naming the file.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The GPT-2 pre-tokenizer pattern ByteLevel(use_regex=true) splits with.
inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct CompiledRegex;  // PCRE2 pattern (tokenizer_encode.cpp)
std::shared_ptr<const CompiledRegex> compile_regex(const std::string& pattern, bool literal,
                                                   const std::string& where);

struct NormalizerStep {
  enum class Kind { Nfc, Nfd, Nfkc, Nfkd, Prepend, Replace } kind;
  std::string text;         // Prepend: prefix; Replace: pattern
  std::string replacement;  // Replace: content
};

struct PreTokenizerStep {
  enum class Kind { ByteLevel, Split, Metaspace } kind;
  bool add_prefix_space = false;               // ByteLevel
  bool use_regex = true;                       // ByteLevel: split with the GPT-2 pattern
  std::shared_ptr<const CompiledRegex> regex;  // Split, or ByteLevel with use_regex
  bool remove_matches = false;                 // Split: behavior Removed (else Isolated)
  std::string replacement = "\xE2\x96\x81";    // Metaspace ("▁")
  enum class Prepend { First, Always, Never } prepend = Prepend::Always;  // Metaspace
  bool split = true;  // Metaspace: split before each replacement
};

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool special = false;
  bool lstrip = false, rstrip = false;
};

struct BpeModel {
  std::unordered_map<std::string, std::int32_t> vocab;
  // (left id << 32 | right id) → (rank, merged id).
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>> merges;
  std::optional<std::int32_t> unk_id;
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  std::array<std::int32_t, 256> byte_ids{};  // id of "<0xXX>", or -1
};

struct TokenizerImpl {
  std::string source;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  BpeModel model;
  std::vector<AddedToken> added;
  std::vector<std::int32_t> prefix_ids, suffix_ids;  // TemplateProcessing "single"
  std::string post_processor_error;                  // set when the post-processor is unsupported
  std::vector<std::string> id_to_token;              // vocab and added tokens; "" for gaps
  std::vector<bool> is_special;                      // by id
  std::vector<bool> is_added;                        // by id
  // Indices into `added` by first byte, longest content first (leftmost-longest matching).
  std::array<std::vector<std::size_t>, 256> added_by_first_byte;
  bool byte_level_decode = false;
  bool strip_leading_space = false;  // SentencePiece decode: drop the first word's space

  // Word → ids cache (bounded; cleared when full).
  std::mutex cache_mutex;
  std::unordered_map<std::string, std::vector<std::int32_t>> cache;
};

// "Ā".."ſ"-style printable stand-in for each byte (GPT-2's byte-to-unicode map), as UTF-8.
const std::array<std::string, 256>& byte_to_unicode();

// `text` split by the GPT-2 pattern, each piece spelled with byte_to_unicode(): the words a
// ByteLevel(add_prefix_space=false, use_regex=true) pre-tokenizer hands to BPE (bpe_trainer.cpp).
std::vector<std::string> byte_level_words(std::string_view text);

// BPE of one pre-tokenized word, appending ids to `out` (tokenizer_bpe.cpp).
void bpe_encode_word(const BpeModel& model, const std::string& word,
                     std::vector<std::int32_t>& out);

}  // namespace hc::native::detail
