// Tests of the byte-level BPE trainer: merges follow pair frequencies, the written
// tokenizer.json loads in the project's tokenizer, encodes with the learned merges and
// round-trips text; bad options are errors.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "hc/native/bpe_trainer.hpp"
#include "hc/native/tokenizer.hpp"

using hc::native::BpeTrainOptions;
using hc::native::Tokenizer;

namespace {

std::string sample_text() {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += "the theory of the thermal theme is there. ";
    text += "Hackers hack the hacker's code; hacking is fun! 42 + 17 = 59\n";
  }
  text += "caf\xC3\xA9 na\xC3\xAFve \xE2\x80\x9Cquotes\xE2\x80\x9D\n";  // non-ASCII bytes
  return text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bpe)

BOOST_AUTO_TEST_CASE(learns_frequent_pairs_first) {
  BpeTrainOptions options;
  options.vocab_size = 300;
  const auto vocab = hc::native::train_bpe(sample_text(), options);
  BOOST_REQUIRE_MESSAGE(vocab.ok(), (vocab.ok() ? "" : vocab.error().message));
  BOOST_TEST(vocab->tokens.size() == 300u);
  BOOST_TEST(vocab->merges.size() == 300u - 257u);
  BOOST_TEST(vocab->tokens.back() == "<|endoftext|>");
  // "Ġt" + "h" style pairs dominate this text: the first merge is one of its letters.
  const auto& first = vocab->merges.front();
  BOOST_TEST((first.first + first.second).size() >= 2u);
  bool has_the = false;
  for (std::size_t i = 256; i + 1 < vocab->tokens.size(); ++i) {
    has_the = has_the || vocab->tokens[i] == "\xC4\xA0the";  // "Ġthe"
  }
  BOOST_TEST(has_the);
  // Deterministic: the same text gives the same merges.
  const auto again = hc::native::train_bpe(sample_text(), options);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((again->merges == vocab->merges));
}

BOOST_AUTO_TEST_CASE(tokenizer_json_loads_and_round_trips) {
  BpeTrainOptions options;
  options.vocab_size = 320;
  const auto vocab = hc::native::train_bpe(sample_text(), options);
  BOOST_REQUIRE(vocab.ok());
  const auto tokenizer = Tokenizer::from_json(hc::native::bpe_tokenizer_json(*vocab));
  BOOST_REQUIRE_MESSAGE(tokenizer.ok(), (tokenizer.ok() ? "" : tokenizer.error().message));
  // This small text runs out of pairs seen twice before 320 ids.
  BOOST_TEST(vocab->tokens.size() < 320u);
  BOOST_TEST(tokenizer->vocab_size() == vocab->tokens.size());
  BOOST_TEST(tokenizer->byte_level());
  BOOST_TEST(*tokenizer->token_to_id("<|endoftext|>") == int(vocab->tokens.size()) - 1);

  const std::string text = sample_text() + "unseen words: zyxwvut QQQ\n";
  const auto ids = tokenizer->encode(text);
  BOOST_REQUIRE(ids.ok());
  BOOST_TEST(tokenizer->decode(*ids) == text);
  BOOST_TEST(ids->size() < text.size() / 2);  // merges compress the repeated text
  // A word made entirely of merges is one token.
  const auto the = tokenizer->encode(" the");
  BOOST_REQUIRE(the.ok());
  BOOST_TEST(the->size() == 1u);
}

BOOST_AUTO_TEST_CASE(stops_when_pairs_run_out) {
  BpeTrainOptions options;
  options.vocab_size = 5000;
  const auto vocab = hc::native::train_bpe("abab abab", options);
  BOOST_REQUIRE(vocab.ok());
  BOOST_TEST(vocab->tokens.size() < 5000u);
  const auto tokenizer = Tokenizer::from_json(hc::native::bpe_tokenizer_json(*vocab));
  BOOST_REQUIRE(tokenizer.ok());
  const auto ids = tokenizer->encode("abab abab");
  BOOST_REQUIRE(ids.ok());
  // Merges "ab", then "abab" (seen twice); "Ġ" + "abab" is seen once: "abab", "Ġ", "abab".
  BOOST_TEST(ids->size() == 3u);
}

BOOST_AUTO_TEST_CASE(bad_options) {
  BpeTrainOptions options;
  options.vocab_size = 100;
  const auto small = hc::native::train_bpe("some text", options);
  BOOST_REQUIRE(!small.ok());
  BOOST_TEST((small.error().code == hc::ErrorCode::InvalidArgument));
  const auto empty = hc::native::train_bpe("", BpeTrainOptions{});
  BOOST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.error().message.find("empty") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
