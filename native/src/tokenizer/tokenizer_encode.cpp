// Encoding and decoding with a loaded tokenizer: added-token splitting, normalizers (ICU for
// Unicode forms), pre-tokenizers (PCRE2 for the regexes), cached BPE, post-processing.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "hc/native/tokenizer.hpp"
#include "tokenizer_internal.hpp"

namespace hc::native {
namespace detail {

struct CompiledRegex {
  pcre2_code* code = nullptr;
  ~CompiledRegex() { pcre2_code_free(code); }
};

std::shared_ptr<const CompiledRegex> compile_regex(const std::string& pattern, bool literal,
                                                   const std::string& where) {
  // UCP makes \s, \w and \p{..} Unicode-aware like Rust's regex crate; invalid UTF-8 in the
  // text is tolerated (those bytes just never match) rather than failing the whole encode.
  const std::uint32_t options =
      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  int code = 0;
  PCRE2_SIZE offset = 0;
  auto regex = std::make_shared<CompiledRegex>();
  regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                              &code, &offset, nullptr);
  if (regex->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    throw ConfigError(where + ": bad regex at offset " + std::to_string(offset) + ": " +
                      reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back if absent
  return regex;
}

}  // namespace detail

namespace {

using detail::PreTokenizerStep;
using detail::TokenizerImpl;

struct Piece {
  std::string text;
  bool at_start;  // begins at offset 0 of the original text (Metaspace prepend_scheme first)
};

std::size_t char_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return std::min(n, s.size() - i);
}

// Splits `text` at the matches of `regex`: gaps always kept, matches kept unless `remove`.
void split_by_regex(const detail::CompiledRegex& regex, const Piece& piece, bool remove,
                    std::vector<Piece>& out) {
  const std::string& s = piece.text;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex.code, nullptr);
  std::size_t start = 0, offset = 0;
  auto emit = [&](std::size_t from, std::size_t to) {
    if (to > from) out.push_back(Piece{s.substr(from, to - from), piece.at_start && from == 0});
  };
  while (offset < s.size()) {
    const int rc = pcre2_match(regex.code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), offset,
                               0, md, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const std::size_t m0 = ov[0], m1 = ov[1];
    if (m1 == m0) {  // empty match: nothing to split off, step one character
      offset = m0 + (m0 < s.size() ? char_length(s, m0) : 1);
      continue;
    }
    emit(start, m0);
    if (!remove) emit(m0, m1);
    start = offset = m1;
  }
  pcre2_match_data_free(md);
  emit(start, s.size());
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

hc::Result<std::string> normalize(const TokenizerImpl& impl, std::string_view text) {
  std::string s(text);
  using K = detail::NormalizerStep::Kind;
  for (const auto& step : impl.normalizer) {
    if (step.kind == K::Prepend) {
      if (!s.empty()) s = step.text + s;
    } else if (step.kind == K::Replace) {
      replace_all(s, step.text, step.replacement);
    } else if (!is_ascii(s)) {  // ASCII is in every Unicode normal form already
      UErrorCode status = U_ZERO_ERROR;
      const icu::Normalizer2* n = step.kind == K::Nfc   ? icu::Normalizer2::getNFCInstance(status)
                                  : step.kind == K::Nfd ? icu::Normalizer2::getNFDInstance(status)
                                  : step.kind == K::Nfkc
                                      ? icu::Normalizer2::getNFKCInstance(status)
                                      : icu::Normalizer2::getNFKDInstance(status);
      icu::UnicodeString normalized;
      if (U_SUCCESS(status)) {
        normalized = n->normalize(icu::UnicodeString::fromUTF8(s), status);
      }
      if (U_FAILURE(status)) {
        return hc::make_error(
            hc::ErrorCode::InvalidArgument,
            impl.source + ": Unicode normalization failed: " + u_errorName(status));
      }
      s.clear();
      normalized.toUTF8String(s);
    }
  }
  return s;
}

void pre_tokenize(const TokenizerImpl& impl, std::vector<Piece>& pieces) {
  const auto& bytes = detail::byte_to_unicode();
  std::vector<Piece> next;
  for (const PreTokenizerStep& step : impl.pre_tokenizer) {
    next.clear();
    for (Piece& piece : pieces) {
      if (step.kind == PreTokenizerStep::Kind::Split) {
        split_by_regex(*step.regex, piece, step.remove_matches, next);
      } else if (step.kind == PreTokenizerStep::Kind::ByteLevel) {
        if (step.add_prefix_space && piece.text.rfind(' ', 0) != 0) piece.text.insert(0, " ");
        const std::size_t first = next.size();
        if (step.use_regex) {
          split_by_regex(*step.regex, piece, false, next);
        } else {
          next.push_back(std::move(piece));
        }
        for (std::size_t i = first; i < next.size(); ++i) {
          std::string mapped;
          for (char c : next[i].text) mapped += bytes[static_cast<unsigned char>(c)];
          next[i].text = std::move(mapped);
        }
      } else {  // Metaspace
        const std::string& rep = step.replacement;
        std::string s = piece.text;
        replace_all(s, " ", rep);
        const bool starts = s.rfind(rep, 0) == 0;
        if (!starts && (step.prepend == PreTokenizerStep::Prepend::Always ||
                        (step.prepend == PreTokenizerStep::Prepend::First && piece.at_start))) {
          s.insert(0, rep);
        }
        if (!step.split) {
          next.push_back(Piece{std::move(s), piece.at_start});
          continue;
        }
        // Each replacement starts a new piece (Hugging Face's MergedWithNext).
        std::size_t start = 0;
        for (std::size_t hit = s.find(rep, 1); hit != std::string::npos;
             hit = s.find(rep, hit + 1)) {
          if (hit > start)
            next.push_back(Piece{s.substr(start, hit - start), piece.at_start && start == 0});
          start = hit;
        }
        if (start < s.size()) next.push_back(Piece{s.substr(start), piece.at_start && start == 0});
      }
    }
    pieces.swap(next);
  }
}

void encode_word(TokenizerImpl& impl, const std::string& word, std::vector<std::int32_t>& out) {
  constexpr std::size_t kCacheLimit = 1 << 18;
  {
    std::lock_guard<std::mutex> lock(impl.cache_mutex);
    if (auto it = impl.cache.find(word); it != impl.cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int32_t> ids;
  detail::bpe_encode_word(impl.model, word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(impl.cache_mutex);
  if (impl.cache.size() >= kCacheLimit) impl.cache.clear();
  impl.cache.emplace(word, std::move(ids));
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct Segment {
  std::string_view text;
  std::int32_t id;  // added token id, or -1 for text
  bool at_start;
};

// Splits raw text at added tokens (leftmost, then longest); lstrip/rstrip absorb whitespace.
std::vector<Segment> split_added(const TokenizerImpl& impl, std::string_view text) {
  std::vector<Segment> out;
  std::size_t start = 0, i = 0;
  while (i < text.size()) {
    const detail::AddedToken* hit = nullptr;
    for (std::size_t k : impl.added_by_first_byte[static_cast<unsigned char>(text[i])]) {
      if (text.substr(i).starts_with(impl.added[k].content)) {
        hit = &impl.added[k];
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    std::size_t end = i;
    if (hit->lstrip) {
      while (end > start && is_space(text[end - 1])) --end;
    }
    if (end > start) out.push_back(Segment{text.substr(start, end - start), -1, start == 0});
    out.push_back(Segment{{}, hit->id, false});
    i += hit->content.size();
    if (hit->rstrip) {
      while (i < text.size() && is_space(text[i])) ++i;
    }
    start = i;
  }
  if (start < text.size()) out.push_back(Segment{text.substr(start), -1, start == 0});
  return out;
}

}  // namespace

hc::Result<std::vector<std::int32_t>> Tokenizer::encode(std::string_view text,
                                                        const EncodeOptions& options) const {
  TokenizerImpl& impl = *m_impl;
  if (options.add_special_tokens && !impl.post_processor_error.empty()) {
    return hc::make_error(
        hc::ErrorCode::InvalidArgument,
        impl.source + ": " + impl.post_processor_error + " (encode without add_special_tokens)");
  }
  std::vector<std::int32_t> ids;
  if (options.add_special_tokens) ids = impl.prefix_ids;
  std::vector<Piece> pieces;
  for (const Segment& segment : split_added(impl, text)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    auto normalized = normalize(impl, segment.text);
    if (!normalized.ok()) return normalized.error();
    if (normalized->empty()) continue;
    pieces.clear();
    pieces.push_back(Piece{std::move(normalized).value(), segment.at_start});
    pre_tokenize(impl, pieces);
    for (const Piece& piece : pieces) encode_word(impl, piece.text, ids);
  }
  if (options.add_special_tokens)
    ids.insert(ids.end(), impl.suffix_ids.begin(), impl.suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids,
                              const DecodeOptions& options) const {
  const TokenizerImpl& impl = *m_impl;
  static const std::unordered_map<std::string, char> unmap = [] {
    std::unordered_map<std::string, char> m;
    const auto& bytes = detail::byte_to_unicode();
    for (int b = 0; b < 256; ++b) m.emplace(bytes[b], static_cast<char>(b));
    return m;
  }();
  std::string out;
  for (const std::int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= impl.id_to_token.size()) continue;
    const std::string& token = impl.id_to_token[id];
    if (options.skip_special_tokens && impl.is_special[id]) continue;
    if (impl.is_added[id]) {
      out += token;
    } else if (impl.byte_level_decode) {
      for (std::size_t i = 0; i < token.size();) {
        const std::size_t n = char_length(token, i);
        auto it = unmap.find(token.substr(i, n));
        if (it != unmap.end())
          out += it->second;
        else
          out.append(token, i, n);
        i += n;
      }
    } else if (impl.model.byte_fallback && token.size() == 6 && token.starts_with("<0x") &&
               token.back() == '>' && std::isxdigit(static_cast<unsigned char>(token[3])) &&
               std::isxdigit(static_cast<unsigned char>(token[4]))) {
      out += static_cast<char>(std::stoi(token.substr(3, 2), nullptr, 16));
    } else {
      std::string piece = token;
      replace_all(piece, "\xE2\x96\x81", " ");
      out += piece;
    }
  }
  if (!impl.byte_level_decode && impl.strip_leading_space && out.starts_with(' ')) out.erase(0, 1);
  return out;
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const auto& t : m_impl->added) {
    if (t.content == token) return t.id;
  }
  auto it = m_impl->model.vocab.find(std::string(token));
  if (it == m_impl->model.vocab.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Tokenizer::id_to_token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= m_impl->id_to_token.size()) return std::nullopt;
  const std::string& token = m_impl->id_to_token[id];
  if (token.empty()) return std::nullopt;
  return token;
}

std::size_t Tokenizer::vocab_size() const {
  return m_impl->id_to_token.size();
}
bool Tokenizer::byte_level() const {
  return m_impl->byte_level_decode;
}

std::vector<std::string> detail::byte_level_words(std::string_view text) {
  static const auto regex = detail::compile_regex(detail::kGpt2Pattern, false, "ByteLevel");
  std::vector<Piece> pieces;
  split_by_regex(*regex, Piece{std::string(text), true}, false, pieces);
  const auto& bytes = detail::byte_to_unicode();
  std::vector<std::string> words;
  words.reserve(pieces.size());
  for (const Piece& piece : pieces) {
    std::string mapped;
    for (char c : piece.text) mapped += bytes[static_cast<unsigned char>(c)];
    words.push_back(std::move(mapped));
  }
  return words;
}

}  // namespace hc::native
