// `hodgecover tokenize --tokenizer tokenizer.json --text FILE [--json] [--add-special-tokens]`:
// token ids of a text file, for checking a tokenizer.json against other tools.
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/native/tokenizer.hpp"

namespace hc::native {
namespace {

struct TokenizeArgs {
  std::string tokenizer, text;
  bool json = false;
  bool add_special_tokens = false;
};

int run_tokenize(const TokenizeArgs& args) {
  const Tokenizer tokenizer = take(Tokenizer::from_file(args.tokenizer));
  std::vector<std::uint8_t> bytes;
  if (hc::Status error = read_file(args.text, bytes); !error.ok()) fail(error.error());
  const std::string text(bytes.begin(), bytes.end());
  const std::vector<std::int32_t> ids =
      take(tokenizer.encode(text, EncodeOptions{args.add_special_tokens}));
  if (args.json) {
    print_json(nlohmann::json{
        {"tokenizer", args.tokenizer}, {"text", args.text}, {"count", ids.size()}, {"ids", ids}});
    return kExitOk;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << '\n';
  return kExitOk;
}

}  // namespace

Command add_tokenize_command(CLI::App& root) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = root.add_subcommand("tokenize", "Print the token ids of a text file");
  cmd->add_option("--tokenizer", args->tokenizer, "Hugging Face tokenizer.json (BPE)")->required();
  cmd->add_option("--text", args->text, "UTF-8 text file to encode")->required();
  cmd->add_flag("--json", args->json, "One JSON document instead of space-separated ids");
  cmd->add_flag("--add-special-tokens", args->add_special_tokens,
                "Apply the file's post-processor (e.g. a leading BOS)");
  return Command{cmd, [args] { return run_tokenize(*args); }};
}

}  // namespace hc::native
