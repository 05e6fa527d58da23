// The BPE model: characters → initial symbols (with unk/byte fallback), then merges applied
// lowest rank first (leftmost on ties) through a min-heap over a linked list of symbols.
#include <cstdio>
#include <functional>
#include <queue>

#include "tokenizer_internal.hpp"

namespace hc::native::detail {
namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Length of the UTF-8 character starting at s[i]; invalid lead/continuation bytes count as one
// byte so every input byte ends up in exactly one character.
std::size_t utf8_char_length(const std::string& s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xE  ? 3
                  : (c >> 3) == 0x1E ? 4
                                     : 1;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

struct Symbol {
  std::int32_t id;
  int prev, next;  // -1 at the ends
  bool alive;
};

struct Candidate {
  std::int32_t rank;
  int left;  // position of the left symbol
  std::int32_t left_id, right_id, merged_id;
  bool operator>(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    // Printable Latin-1 bytes stand for themselves; the rest get 256, 257, ... in byte order.
    std::uint32_t next = 256;
    for (std::uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      append_utf8(t[b], printable ? b : next++);
    }
    return t;
  }();
  return table;
}

void bpe_encode_word(const BpeModel& model, const std::string& word,
                     std::vector<std::int32_t>& out) {
  if (word.empty()) return;
  if (model.ignore_merges) {
    if (auto it = model.vocab.find(word); it != model.vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }

  // Initial symbols: one per character, or its bytes' <0xXX> tokens, or unk.
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  bool last_was_unk = false;
  auto push = [&](std::int32_t id, bool is_unk) {
    if (is_unk && last_was_unk && model.fuse_unk) return;
    const int pos = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{id, pos - 1, -1, true});
    if (pos > 0) symbols[pos - 1].next = pos;
    last_was_unk = is_unk;
  };
  std::string ch;
  for (std::size_t i = 0; i < word.size();) {
    const std::size_t n = utf8_char_length(word, i);
    ch.assign(word, i, n);
    i += n;
    if (auto it = model.vocab.find(ch); it != model.vocab.end()) {
      push(it->second, false);
      continue;
    }
    if (model.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && model.byte_ids[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : ch) push(model.byte_ids[static_cast<unsigned char>(c)], false);
        continue;
      }
    }
    // Without an unk token the character is dropped, as Hugging Face's BPE does.
    if (model.unk_id) push(*model.unk_id, true);
  }
  if (symbols.empty()) return;

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int left) {
    if (left < 0) return;
    const int right = symbols[left].next;
    if (right < 0) return;
    const std::uint64_t key =
        (static_cast<std::uint64_t>(static_cast<std::uint32_t>(symbols[left].id)) << 32) |
        static_cast<std::uint32_t>(symbols[right].id);
    auto it = model.merges.find(key);
    if (it == model.merges.end()) return;
    heap.push(
        Candidate{it->second.first, left, symbols[left].id, symbols[right].id, it->second.second});
  };
  for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) consider(i);

  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& left = symbols[c.left];
    // Stale entries: the left symbol merged away or changed, or its neighbour changed.
    if (!left.alive || left.id != c.left_id || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    if (right.id != c.right_id) continue;
    left.id = c.merged_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    consider(left.prev);
    consider(c.left);
  }
  for (int i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace hc::native::detail
