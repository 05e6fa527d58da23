// Parity with Hugging Face `tokenizers`: tiny tokenizers trained by the library in the GPT-2,
// Qwen (NFC + Split regex + ByteLevel) and SentencePiece-metaspace styles, and the ids the
// library produced for tricky strings (tests/golden/tokenizers, made by
// make_tokenizer_fixtures.py with tokenizers 0.23.2).
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "hc/native/tokenizer.hpp"

namespace {

const std::string kDir = std::string(HC_SOURCE_DIR) + "/tests/golden/tokenizers/";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void check_style(const std::string& style) {
  auto tok = hc::native::Tokenizer::from_file(kDir + style + ".tokenizer.json");
  BOOST_REQUIRE_MESSAGE(tok.ok(), (tok.ok() ? "" : tok.error().message));
  const auto cases = nlohmann::json::parse(read_text(kDir + "cases.json"));
  BOOST_REQUIRE(cases.contains(style));
  for (const auto& c : cases[style]) {
    const std::string text = c["text"].get<std::string>();
    const auto want = c["ids"].get<std::vector<std::int32_t>>();
    auto got = tok->encode(text);
    BOOST_REQUIRE_MESSAGE(got.ok(),
                          style << " '" << text << "': " << (got.ok() ? "" : got.error().message));
    BOOST_TEST(*got == want, style << " ids differ for '" << text << "'");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tokenizer_parity)

BOOST_AUTO_TEST_CASE(gpt2_byte_level) {
  check_style("gpt2");
}
BOOST_AUTO_TEST_CASE(qwen_split_nfc_byte_level) {
  check_style("qwen");
}
BOOST_AUTO_TEST_CASE(sentencepiece_metaspace) {
  check_style("metaspace");
}

BOOST_AUTO_TEST_SUITE_END()
