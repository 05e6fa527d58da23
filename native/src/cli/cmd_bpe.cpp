// `hodgecover bpe --text FILE --vocab N --out tokenizer.json [--json]`: learns a byte-level BPE
// tokenizer on a text file (the bundled models' tokenizer; scripts/train_models.sh).
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/native/bpe_trainer.hpp"
#include "hc/native/tokenizer.hpp"

namespace hc::native {
namespace {

struct BpeArgs {
  std::string text, out;
  std::size_t vocab = 1024;
  std::size_t min_frequency = 2;
  bool json = false;
};

int run_bpe(const BpeArgs& args) {
  std::vector<std::uint8_t> bytes;
  if (hc::Status error = read_file(args.text, bytes); !error.ok()) fail(error.error());
  if (bytes.empty()) fail(hc::ErrorCode::Malformed, args.text + ": the text file is empty");
  const auto start = std::chrono::steady_clock::now();
  BpeTrainOptions options;
  options.vocab_size = args.vocab;
  options.min_frequency = args.min_frequency;
  auto trained = train_bpe(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), options);
  if (!trained.ok()) fail(hc::ErrorCode::InvalidArgument, trained.error().message);
  const std::string json_text = bpe_tokenizer_json(*trained);
  // Check the result loads before anything is written.
  const Tokenizer tokenizer = take(Tokenizer::from_json(json_text, args.out));
  if (hc::Status error = write_text_atomic(args.out, json_text); !error.ok()) fail(error.error());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.json) {
    print_json({{"tokenizer", args.out},
                {"vocab_size", tokenizer.vocab_size()},
                {"merges", trained->merges.size()},
                {"seconds", seconds}});
  } else {
    std::cout << "bpe: " << trained->merges.size() << " merges, vocabulary "
              << tokenizer.vocab_size() << " -> " << args.out << strprintf(" (%.1fs)\n", seconds);
  }
  return kExitOk;
}

}  // namespace

Command add_bpe_command(CLI::App& root) {
  auto args = std::make_shared<BpeArgs>();
  CLI::App* cmd =
      root.add_subcommand("bpe", "Learn a byte-level BPE tokenizer.json from a text file");
  cmd->add_option("--text", args->text, "UTF-8 training text")->required();
  cmd->add_option("--out", args->out, "tokenizer.json to write")->required();
  cmd->add_option("--vocab", args->vocab, "Vocabulary size (256 bytes + merges + end-of-text)")
      ->capture_default_str()
      ->check(CLI::Range(257, 1 << 20));
  cmd->add_option("--min-frequency", args->min_frequency, "Smallest pair count that is merged")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print a JSON summary");
  cmd->footer("Example: hodgecover bpe --text train.txt --vocab 1024 --out tokenizer.json");
  return Command{cmd, [args] { return run_bpe(*args); }};
}

}  // namespace hc::native
