// Token streams for extract and eval: tokenizer.json encoding or pre-tokenized ids, checked
// against the vocabulary, and their split into sequences.
#include "hc/native/calibration.hpp"

#include <algorithm>

#include "hc/native/file_io.hpp"
#include "hc/native/tokenizer.hpp"

namespace hc::native {
namespace {

hc::Error bad(const std::string& message) {
  return hc::make_error(hc::ErrorCode::Malformed, message);
}

}  // namespace

hc::Result<TokenStream> read_token_stream(const std::filesystem::path& model_dir,
                                          const TokenSource& source, std::size_t vocab_size) {
  if (source.text_path.empty() == source.ids_path.empty()) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "give exactly one of a text file or a token-id file");
  }
  TokenStream stream;
  std::string origin;
  if (!source.ids_path.empty()) {
    auto ids = load_token_ids(source.ids_path);
    if (!ids.ok()) return ids.error();
    stream.ids = std::move(*ids);
    origin = source.ids_path;
    stream.description = "ids " + source.ids_path;
  } else {
    const std::filesystem::path tokenizer_path = model_dir / "tokenizer.json";
    auto tokenizer = Tokenizer::from_file(tokenizer_path);
    if (!tokenizer.ok()) {
      return bad(tokenizer.error().message +
                 " (a text file needs the model's tokenizer.json; pass pre-tokenized ids "
                 "instead if it has none)");
    }
    std::vector<std::uint8_t> bytes;
    if (hc::Status error = read_file(source.text_path, bytes); !error.ok())
      return bad(error.error().message);
    auto ids = tokenizer->encode(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    if (!ids.ok()) return bad(source.text_path + ": " + ids.error().message);
    stream.ids = std::move(*ids);
    origin = source.text_path;
    stream.description = "text " + std::filesystem::path(source.text_path).filename().string();
  }
  if (stream.ids.empty()) return bad(origin + ": no tokens");
  for (std::size_t i = 0; i < stream.ids.size(); ++i) {
    if (stream.ids[i] < 0 || static_cast<std::size_t>(stream.ids[i]) >= vocab_size) {
      return bad(origin + ": token id " + std::to_string(stream.ids[i]) + " at position " +
                 std::to_string(i) + " is outside the model's vocabulary [0, " +
                 std::to_string(vocab_size) + ")");
    }
  }
  stream.description += " (" + std::to_string(stream.ids.size()) + " tokens)";
  return stream;
}

std::vector<std::vector<std::int32_t>> split_sequences(const std::vector<std::int32_t>& ids,
                                                       std::size_t seq_len, std::size_t max_tokens,
                                                       std::size_t min_tail) {
  std::vector<std::vector<std::int32_t>> out;
  if (seq_len == 0) return out;
  const std::size_t total = max_tokens == 0 ? ids.size() : std::min(ids.size(), max_tokens);
  for (std::size_t start = 0; start < total; start += seq_len) {
    const std::size_t n = std::min(seq_len, total - start);
    if (n < seq_len && n < std::max<std::size_t>(min_tail, 1)) break;
    out.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(start),
                     ids.begin() + static_cast<std::ptrdiff_t>(start + n));
  }
  return out;
}

}  // namespace hc::native
