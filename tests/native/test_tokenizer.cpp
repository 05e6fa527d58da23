// Tests of the tokenizer.json reader: hand-built byte-level and SentencePiece-style BPE files
// whose expected ids are worked out by hand, malformed files, and token-id file loading.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hc/native/tokenizer.hpp"

using hc::native::EncodeOptions;
using hc::native::Tokenizer;
using nlohmann::json;
using Ids = std::vector<std::int32_t>;

namespace {

// GPT-2's byte-to-unicode map, written out independently of the implementation.
std::string byte_char(int b) {
  const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  int cp = b;
  if (!printable) {
    cp = 256;
    for (int k = 0; k < b; ++k) {
      if (!((k >= 33 && k <= 126) || (k >= 161 && k <= 172) || k >= 174)) ++cp;
    }
  }
  std::string s;
  if (cp < 0x80)
    s += static_cast<char>(cp);
  else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Byte-level vocabulary: id b is the character for byte b (so 'h' = 104, 'o' = 111, and
// ' ' = 32 is written "Ġ"); merged tokens follow from 256.
json byte_level_tokenizer(bool ignore_merges = false) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  vocab["he"] = 256;
  vocab["ll"] = 257;
  vocab["hell"] = 258;
  vocab["\xC4\xA0w"] = 259;  // "Ġw"
  vocab["hello"] = 260;      // reachable only through ignore_merges
  json merges = json::array({"h e", json::array({"l", "l"}), "he ll", "\xC4\xA0 w"});
  return {
      {"version", "1.0"},
      {"added_tokens", json::parse(R"([{"id": 300, "content": "<|endoftext|>", "special": true},
                                            {"id": 301, "content": "<s>", "special": true}])")},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"post_processor", json::parse(R"({"type": "TemplateProcessing",
              "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}}],
              "special_tokens": {"<s>": {"id": "<s>", "ids": [301], "tokens": ["<s>"]}}})")},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", ignore_merges}}}};
}

// SentencePiece-style vocabulary: <unk> 0, <s> 1, </s> 2, <0xXX> = 3 + XX, then letters.
json sentencepiece_tokenizer(bool byte_fallback, bool fuse_unk) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  const char* rest[] = {"\xE2\x96\x81",    "h", "e", "l", "o", "w", "r", "d", "he", "ll", "hell",
                        "\xE2\x96\x81hell"};
  for (int i = 0; i < 12; ++i) vocab[rest[i]] = 259 + i;  // ▁ 259 ... hell 269, ▁hell 270
  return {
      {"added_tokens", json::parse(R"([{"id": 1, "content": "<s>", "special": true}])")},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"h e", "l l", "he ll", "\xE2\x96\x81 hell"}},
        {"unk_token", "<unk>"},
        {"byte_fallback", byte_fallback},
        {"fuse_unk", fuse_unk}}}};
}

Tokenizer load(const json& j) {
  auto t = Tokenizer::from_json(j.dump());
  BOOST_REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message));
  return std::move(t).value();
}

Ids encode(const Tokenizer& t, const std::string& text, bool special = false) {
  auto ids = t.encode(text, EncodeOptions{special});
  BOOST_REQUIRE(ids.ok());
  return *ids;
}

std::string load_error(const std::string& text) {
  auto t = Tokenizer::from_json(text, "tok.json");
  BOOST_REQUIRE(!t.ok());
  BOOST_CHECK(t.error().code == hc::ErrorCode::Malformed);
  BOOST_CHECK(t.error().message.starts_with("tok.json: "));
  return t.error().message;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tokenizer)

BOOST_AUTO_TEST_CASE(byte_level_merges_apply_by_rank) {
  const Tokenizer t = load(byte_level_tokenizer());
  // h e l l o: rank 0 "h e" → he, rank 1 "l l" → ll, rank 2 "he ll" → hell; o stays 111.
  BOOST_TEST(encode(t, "hello") == (Ids{258, 111}), boost::test_tools::per_element());
  // The GPT-2 regex splits " world" off with its space, mapped to Ġ; rank 3 "Ġ w" → 259.
  BOOST_TEST(encode(t, "hello world") == (Ids{258, 111, 259, 111, 114, 108, 100}),
             boost::test_tools::per_element());
  BOOST_TEST(t.decode(encode(t, "hello world")) == "hello world");
  BOOST_TEST(t.byte_level());
}

BOOST_AUTO_TEST_CASE(lower_rank_wins_regardless_of_position) {
  json j = byte_level_tokenizer();
  j["model"]["vocab"]["bc"] = 261;
  j["model"]["vocab"]["ab"] = 262;
  j["model"]["merges"] = {"b c", "a b"};
  BOOST_TEST(encode(load(j), "abc") == (Ids{97, 261}), boost::test_tools::per_element());
  j["model"]["merges"] = {"a b", "b c"};
  BOOST_TEST(encode(load(j), "abc") == (Ids{262, 99}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(byte_level_non_ascii_round_trips) {
  const Tokenizer t = load(byte_level_tokenizer());
  // é is C3 A9: with no merges each byte is its own token, id = byte value.
  BOOST_TEST(encode(t, "\xC3\xA9") == (Ids{0xC3, 0xA9}), boost::test_tools::per_element());
  const std::string text = "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C\n\ttabs  and  spaces!";
  BOOST_TEST(t.decode(encode(t, text)) == text);
}

BOOST_AUTO_TEST_CASE(added_tokens_split_before_pre_tokenization) {
  const Tokenizer t = load(byte_level_tokenizer());
  BOOST_TEST(encode(t, "hello<|endoftext|>hello") == (Ids{258, 111, 300, 258, 111}),
             boost::test_tools::per_element());
  BOOST_TEST(t.decode(Ids{258, 111, 300}) == "hello<|endoftext|>");
  BOOST_TEST(t.decode(Ids{258, 111, 300}, {true}) == "hello");
  BOOST_TEST(*t.token_to_id("<|endoftext|>") == 300);
  BOOST_TEST(*t.id_to_token(258) == "hell");
  BOOST_TEST(t.vocab_size() == 302u);
}

BOOST_AUTO_TEST_CASE(template_bos_only_when_asked) {
  const Tokenizer t = load(byte_level_tokenizer());
  BOOST_TEST(encode(t, "hello") == (Ids{258, 111}), boost::test_tools::per_element());
  BOOST_TEST(encode(t, "hello", true) == (Ids{301, 258, 111}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ignore_merges_takes_whole_words_from_vocab) {
  BOOST_TEST(encode(load(byte_level_tokenizer(false)), "hello") == (Ids{258, 111}),
             boost::test_tools::per_element());
  BOOST_TEST(encode(load(byte_level_tokenizer(true)), "hello") == (Ids{260}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(split_then_byte_level_with_nfc) {
  // Qwen2-style: NFC, a Split regex, then ByteLevel without its own regex.
  json j = byte_level_tokenizer();
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern",
          {{"Regex",
            R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  const Tokenizer t = load(j);
  BOOST_TEST(encode(t, "hello world") == (Ids{258, 111, 259, 111, 114, 108, 100}),
             boost::test_tools::per_element());
  // e + combining acute (65 CC 81) composes to é (C3 A9) under NFC.
  BOOST_TEST(encode(t, "\x65\xCC\x81") == (Ids{0xC3, 0xA9}), boost::test_tools::per_element());
  // \p{N} takes digits one at a time.
  BOOST_TEST(encode(t, "42") == (Ids{52, 50}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sentencepiece_prepend_and_replace) {
  const Tokenizer t = load(sentencepiece_tokenizer(true, true));
  // "▁hello": h e → he, l l → ll, he ll → hell, ▁ hell → ▁hell (270), then o (263).
  BOOST_TEST(encode(t, "hello") == (Ids{270, 263}), boost::test_tools::per_element());
  // One word "▁hello▁world": ▁ 259, w 264, o 263, r 265, l 262, d 266.
  BOOST_TEST(encode(t, "hello world") == (Ids{270, 263, 259, 264, 263, 265, 262, 266}),
             boost::test_tools::per_element());
  BOOST_TEST(t.decode(encode(t, "hello world")) == "hello world");
  BOOST_TEST(!t.byte_level());
}

BOOST_AUTO_TEST_CASE(byte_fallback_for_unknown_characters) {
  const Tokenizer t = load(sentencepiece_tokenizer(true, true));
  // 世 = E4 B8 96 → <0xE4> <0xB8> <0x96> = 3 + byte.
  BOOST_TEST(encode(t, "\xE4\xB8\x96") == (Ids{259, 3 + 0xE4, 3 + 0xB8, 3 + 0x96}),
             boost::test_tools::per_element());
  BOOST_TEST(t.decode(encode(t, "h\xE4\xB8\x96")) == "h\xE4\xB8\x96");
  // Without byte fallback each unknown character is <unk>; fuse_unk joins runs of them.
  BOOST_TEST(encode(load(sentencepiece_tokenizer(false, true)), "\xE4\xB8\x96\xE7\x95\x8C") ==
                 (Ids{259, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(encode(load(sentencepiece_tokenizer(false, false)), "\xE4\xB8\x96\xE7\x95\x8C") ==
                 (Ids{259, 0, 0}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(metaspace_prepend_first_vs_always) {
  json j = sentencepiece_tokenizer(true, false);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"},
                        {"replacement", "\xE2\x96\x81"},
                        {"prepend_scheme", "first"},
                        {"split", true}};
  j["decoder"] = {{"type", "Metaspace"},
                  {"replacement", "\xE2\x96\x81"},
                  {"prepend_scheme", "first"},
                  {"split", true}};
  const Tokenizer first = load(j);
  // Split into "▁hello" and "▁world": the same ids as the single SentencePiece word.
  BOOST_TEST(encode(first, "hello world") == (Ids{270, 263, 259, 264, 263, 265, 262, 266}),
             boost::test_tools::per_element());
  // After an added token the text does not start the input: "first" adds no ▁ there.
  BOOST_TEST(encode(first, "<s>hello") == (Ids{1, 269, 263}), boost::test_tools::per_element());
  j["pre_tokenizer"]["prepend_scheme"] = "always";
  BOOST_TEST(encode(load(j), "<s>hello") == (Ids{1, 270, 263}), boost::test_tools::per_element());
  j["pre_tokenizer"]["prepend_scheme"] = "never";
  BOOST_TEST(encode(load(j), "hello") == (Ids{269, 263}), boost::test_tools::per_element());
  BOOST_TEST(first.decode(Ids{270, 263, 259, 264}) == "hello w");
}

BOOST_AUTO_TEST_CASE(malformed_files_are_clear_errors) {
  BOOST_TEST(contains(load_error("{\"model\": "), "invalid JSON"));
  BOOST_TEST(contains(load_error("{}"), "missing \"model\""));
  BOOST_TEST(contains(load_error("[1, 2]"), "JSON object"));
  json j = byte_level_tokenizer();
  j["model"]["type"] = "Unigram";
  BOOST_TEST(contains(load_error(j.dump()), "unsupported model type 'Unigram'"));
  j["model"]["type"] = "WordPiece";
  BOOST_TEST(contains(load_error(j.dump()), "'WordPiece'"));
  j = byte_level_tokenizer();
  j["model"]["merges"].push_back("x zz");
  BOOST_TEST(contains(load_error(j.dump()), "merges[4] refers to unknown token 'zz'"));
  // An id the table would have to grow to (2^22 and above) is refused before any allocation.
  j = byte_level_tokenizer();
  j["model"]["vocab"]["far"] = 108111111;
  BOOST_TEST(contains(load_error(j.dump()), "id out of range"));
  j = byte_level_tokenizer();
  j["model"]["merges"].push_back("a q");  // "aq" is not in the vocabulary
  BOOST_TEST(contains(load_error(j.dump()), "unknown token 'aq'"));
  j = byte_level_tokenizer();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  BOOST_TEST(contains(load_error(j.dump()), "unsupported pre_tokenizer 'Whitespace'"));
  j = byte_level_tokenizer();
  j["normalizer"] = {{"type", "Lowercase"}};
  BOOST_TEST(contains(load_error(j.dump()), "unsupported normalizer 'Lowercase'"));
  j = byte_level_tokenizer();
  j["model"]["vocab"] = 5;
  BOOST_TEST(contains(load_error(j.dump()), "model.vocab"));
}

namespace {

// A version-1 .npy file: magic, version, header length, dict padded with spaces to 64 bytes.
std::vector<std::uint8_t> npy(const std::string& dict, const std::vector<std::uint8_t>& data,
                              int major = 1) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<std::uint8_t> out = {0x93,
                                   'N',
                                   'U',
                                   'M',
                                   'P',
                                   'Y',
                                   static_cast<std::uint8_t>(major),
                                   0,
                                   static_cast<std::uint8_t>(header.size()),
                                   static_cast<std::uint8_t>(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string ids_error(const std::vector<std::uint8_t>& bytes) {
  auto ids = hc::native::parse_token_ids(bytes, "ids.npy");
  BOOST_REQUIRE(!ids.ok());
  BOOST_CHECK(ids.error().message.starts_with("ids.npy: "));
  return ids.error().message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(npy_and_raw_token_ids) {
  using hc::native::parse_token_ids;
  const std::string i4 = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  auto a = parse_token_ids(npy(i4, {1, 0, 0, 0, 0, 1, 0, 0, 7, 0, 0, 0}), "a.npy");
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(*a == (Ids{1, 256, 7}), boost::test_tools::per_element());
  auto b = parse_token_ids(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                               {5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}),
                           "b.npy");
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(*b == (Ids{5, 65536}), boost::test_tools::per_element());
  auto c = parse_token_ids(
      npy("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", {0xFF, 0xFF, 2, 0}),
      "c.npy");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(*c == (Ids{65535, 2}), boost::test_tools::per_element());
  auto raw = parse_token_ids(std::vector<std::uint8_t>{3, 0, 0, 0, 0, 0, 1, 0}, "ids.bin");
  BOOST_REQUIRE(raw.ok());
  BOOST_TEST(*raw == (Ids{3, 65536}), boost::test_tools::per_element());

  BOOST_TEST(contains(ids_error(npy(i4, {1, 0, 0, 0}, 9)), "version 9"));
  BOOST_TEST(contains(
      ids_error(npy("{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }", {0, 0, 0, 1})),
      "'>i4'"));
  BOOST_TEST(contains(
      ids_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", {0, 0, 0, 0})),
      "dtype"));
  BOOST_TEST(contains(
      ids_error(npy("{'descr': '<i4', 'fortran_order': True, 'shape': (1,), }", {0, 0, 0, 0})),
      "Fortran"));
  BOOST_TEST(contains(ids_error(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }",
                                    {0, 0, 0, 0, 0, 0, 0, 0})),
                      "1-D"));
  BOOST_TEST(contains(ids_error(npy(i4, {1, 0, 0, 0})), "need 12"));
  // Double-quoted keys, spaces around the colon and a long padded header (the parser is a
  // linear scan; std::regex took seconds here); a key inside another value is not the key.
  auto d = parse_token_ids(npy("{\"descr\" : '<i4', 'fortran_order':False, " +
                                   std::string(30000, ' ') + "'shape': ( 1 , ), }",
                               {9, 0, 0, 0}),
                           "d.npy");
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(*d == (Ids{9}), boost::test_tools::per_element());
  BOOST_TEST(contains(
      ids_error(npy("{'x': 'shape', 'descr': '<i4', 'fortran_order': False, }", {0, 0, 0, 0})),
      "lacks"));
  BOOST_TEST(contains(ids_error(npy(i4, {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0})),
                      "out of range"));
  BOOST_TEST(contains(ids_error({0x93, 'N', 'U', 'M', 'P', 'Y', 1}), "truncated"));
  BOOST_TEST(contains(ids_error({1, 0, 0, 0, 2}), "multiple of 4"));
}

BOOST_AUTO_TEST_CASE(files_name_their_path) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto missing = dir / "hc-test-tokenizer-missing.json";
  auto t = Tokenizer::from_file(missing);
  BOOST_REQUIRE(!t.ok());
  BOOST_TEST(contains(t.error().message, missing.string()));
  auto ids = hc::native::load_token_ids(dir / "hc-test-tokenizer-missing.npy");
  BOOST_REQUIRE(!ids.ok());
  BOOST_TEST(contains(ids.error().message, "hc-test-tokenizer-missing.npy"));

  const auto path = dir / ("hc-test-tokenizer-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << byte_level_tokenizer().dump();
  auto loaded = Tokenizer::from_file(path);
  std::filesystem::remove(path);
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(encode(*loaded, "hello") == (Ids{258, 111}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
