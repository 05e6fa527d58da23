// Byte-level BPE training: counts GPT-2 pre-tokenized words, then repeatedly merges the most
// frequent adjacent symbol pair, updating pair counts only for the words that change.
#include "hc/native/bpe_trainer.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tokenizer_internal.hpp"

namespace hc::native {
namespace {

using PairKey = std::uint64_t;  // left id << 32 | right id
PairKey pair_key(std::int32_t a, std::int32_t b) {
  return (static_cast<PairKey>(static_cast<std::uint32_t>(a)) << 32) |
         static_cast<std::uint32_t>(b);
}

struct Word {
  std::vector<std::int32_t> symbols;
  std::int64_t count = 0;
};

void add_pairs(const Word& word, std::int64_t sign,
               std::unordered_map<PairKey, std::int64_t>& pairs) {
  for (std::size_t i = 0; i + 1 < word.symbols.size(); ++i) {
    pairs[pair_key(word.symbols[i], word.symbols[i + 1])] += sign * word.count;
  }
}

}  // namespace

hc::Result<BpeVocabulary> train_bpe(std::string_view text, const BpeTrainOptions& options) {
  const std::size_t reserved = 256 + (options.end_of_text.empty() ? 0 : 1);
  if (options.vocab_size < reserved) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "BPE vocabulary size " + std::to_string(options.vocab_size) +
                              " is below the " + std::to_string(reserved) +
                              " ids the bytes and end-of-text token need");
  }
  if (text.empty())
    return hc::make_error(hc::ErrorCode::InvalidArgument, "BPE training text is empty");

  BpeVocabulary vocab;
  vocab.end_of_text = options.end_of_text;
  const auto& bytes = detail::byte_to_unicode();
  std::unordered_map<std::string, std::int32_t> byte_id;
  for (int b = 0; b < 256; ++b) {
    vocab.tokens.push_back(bytes[b]);
    byte_id[bytes[b]] = b;
  }

  // Unique words with counts, in first-seen order (deterministic).
  std::unordered_map<std::string, std::size_t> word_index;
  std::vector<Word> words;
  for (std::string& w : detail::byte_level_words(text)) {
    auto [it, fresh] = word_index.try_emplace(std::move(w), words.size());
    if (fresh) {
      Word word;
      // Split the mapped word back into its byte symbols (each 1 or 2 UTF-8 bytes).
      const std::string& s = it->first;
      for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = static_cast<unsigned char>(s[i]) < 0x80 ? 1 : 2;
        word.symbols.push_back(byte_id.at(s.substr(i, n)));
        i += n;
      }
      words.push_back(std::move(word));
    }
    ++words[it->second].count;
  }

  std::unordered_map<PairKey, std::int64_t> pairs;
  for (const Word& w : words) add_pairs(w, +1, pairs);

  const std::size_t merges_wanted = options.vocab_size - reserved;
  while (vocab.merges.size() < merges_wanted) {
    PairKey best = 0;
    std::int64_t best_count = 0;
    for (const auto& [key, count] : pairs) {
      if (count < best_count || count <= 0) continue;
      if (count == best_count) {
        const auto spell = [&](PairKey k) {
          return std::make_pair(vocab.tokens[k >> 32], vocab.tokens[k & 0xffffffffu]);
        };
        if (!(spell(key) < spell(best))) continue;
      }
      best = key;
      best_count = count;
    }
    if (best_count < static_cast<std::int64_t>(std::max<std::size_t>(options.min_frequency, 1))) {
      break;
    }
    const auto left = static_cast<std::int32_t>(best >> 32);
    const auto right = static_cast<std::int32_t>(best & 0xffffffffu);
    const auto merged = static_cast<std::int32_t>(vocab.tokens.size());
    vocab.tokens.push_back(vocab.tokens[left] + vocab.tokens[right]);
    vocab.merges.emplace_back(vocab.tokens[left], vocab.tokens[right]);

    for (Word& w : words) {
      bool present = false;
      for (std::size_t i = 0; i + 1 < w.symbols.size() && !present; ++i) {
        present = w.symbols[i] == left && w.symbols[i + 1] == right;
      }
      if (!present) continue;
      add_pairs(w, -1, pairs);
      std::vector<std::int32_t> next;
      next.reserve(w.symbols.size());
      for (std::size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == left && w.symbols[i + 1] == right) {
          next.push_back(merged);
          ++i;
        } else {
          next.push_back(w.symbols[i]);
        }
      }
      w.symbols = std::move(next);
      add_pairs(w, +1, pairs);
    }
    pairs.erase(best);
  }
  if (!vocab.end_of_text.empty()) vocab.tokens.push_back(vocab.end_of_text);
  return vocab;
}

std::string bpe_tokenizer_json(const BpeVocabulary& vocabulary) {
  using nlohmann::ordered_json;
  ordered_json vocab = ordered_json::object();
  const std::size_t model_tokens =
      vocabulary.tokens.size() - (vocabulary.end_of_text.empty() ? 0 : 1);
  for (std::size_t id = 0; id < model_tokens; ++id) vocab[vocabulary.tokens[id]] = id;
  ordered_json merges = ordered_json::array();
  for (const auto& [a, b] : vocabulary.merges) merges.push_back({a, b});
  ordered_json added = ordered_json::array();
  if (!vocabulary.end_of_text.empty()) {
    added.push_back({{"id", model_tokens},
                     {"content", vocabulary.end_of_text},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  const ordered_json byte_level = {{"type", "ByteLevel"},
                                   {"add_prefix_space", false},
                                   {"trim_offsets", true},
                                   {"use_regex", true}};
  ordered_json doc = {{"version", "1.0"},
                      {"truncation", nullptr},
                      {"padding", nullptr},
                      {"added_tokens", added},
                      {"normalizer", nullptr},
                      {"pre_tokenizer", byte_level},
                      {"post_processor", byte_level},
                      {"decoder", byte_level},
                      {"model",
                       {{"type", "BPE"},
                        {"dropout", nullptr},
                        {"unk_token", nullptr},
                        {"continuing_subword_prefix", nullptr},
                        {"end_of_word_suffix", nullptr},
                        {"fuse_unk", false},
                        {"byte_fallback", false},
                        {"ignore_merges", false},
                        {"vocab", vocab},
                        {"merges", merges}}}};
  return doc.dump(1) + "\n";
}

}  // namespace hc::native
