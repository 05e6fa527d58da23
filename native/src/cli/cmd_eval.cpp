// `hodgecover eval --model DIR [--compare DIR...] (--text FILE|--ids FILE) [--json]`: held-out
// perplexity of a checkpoint, and KL / top-1 agreement of other checkpoints against it
// (docs/METHOD.md).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/native/calibration.hpp"
#include "hc/native/checkpoint.hpp"
#include "hc/native/device.hpp"
#include "hc/native/evaluate.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native {
namespace {

struct EvalArgs {
  std::string model;
  std::vector<std::string> compare;
  TokenSource source;
  std::size_t seq_len = 0;  // 0: default_sequence_length of --model
  std::size_t tokens = 0;
  std::string device = "auto";
  bool json = false;
};

// The reference model's spec: its vocabulary size is checked before tokenizing, and its
// context gives the default sequence length.
MoeModelSpec spec_of(const std::string& dir) {
  const Checkpoint checkpoint = take(open_checkpoint(dir));
  return take(model_spec_for(checkpoint));
}

void print_table(const std::vector<ModelEvaluation>& results) {
  std::cout << strprintf("%-40s %12s %10s %8s %9s %8s\n", "model", "perplexity", "KL", "top-1",
                         "tokens", "time");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    std::string name = r.model;
    if (name.size() > 40) name = "..." + name.substr(name.size() - 37);
    std::cout << strprintf("%-40s %12.4f %10s %7.2f%% %9zu %7.2fs\n", name.c_str(), r.perplexity,
                           i == 0 ? "(ref)" : strprintf("%.5f", r.kl).c_str(),
                           100.0 * r.top1_agreement, r.tokens, r.seconds);
  }
}

int run_eval(const EvalArgs& args) {
  if (args.seq_len == 1) fail(hc::ErrorCode::InvalidArgument, "--seq-len must be at least 2");
  const at::Device device = take_option("--device", parse_device(args.device));
  tune_allocator_for_tensors();
  const MoeModelSpec spec = spec_of(args.model);
  const std::size_t seq_len = args.seq_len > 0 ? args.seq_len : default_sequence_length(spec);
  const TokenStream stream =
      take(read_token_stream(args.model, args.source, static_cast<std::size_t>(spec.vocab_size)));
  const auto sequences = split_sequences(stream.ids, seq_len, args.tokens, /*min_tail=*/2);
  if (sequences.empty()) {
    fail(hc::ErrorCode::Malformed,
         (args.source.text_path.empty() ? args.source.ids_path : args.source.text_path) +
             ": fewer than two tokens to evaluate");
  }
  std::vector<std::filesystem::path> models{args.model};
  for (const auto& dir : args.compare) models.emplace_back(dir);

  std::unique_ptr<ProgressBar> bar;
  std::size_t bar_model = models.size();
  const auto results =
      take(evaluate_models(models, sequences, device, [&](std::size_t m, int done, int layers) {
        if (m != bar_model) {
          bar = std::make_unique<ProgressBar>("eval " + models[m].filename().string(),
                                              static_cast<std::size_t>(layers), "layers");
          bar_model = m;
        }
        bar->advance();
        if (done == layers) bar->finish();
      }));
  bar.reset();
  if (args.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : results) {
      list.push_back({{"model", r.model},
                      {"perplexity", r.perplexity},
                      {"nll", r.nll},
                      {"kl", r.kl},
                      {"top1_agreement", r.top1_agreement},
                      {"tokens", r.tokens},
                      {"seconds", r.seconds}});
    }
    print_json({{"results", list},
                {"data", stream.description},
                {"sequences", sequences.size()},
                {"seq_len", seq_len},
                {"device", device_text(device)}});
    return kExitOk;
  }
  std::size_t used = 0;
  for (const auto& s : sequences) used += s.size();
  std::cout << "eval: " << stream.description << "; " << used << " tokens in " << sequences.size()
            << " sequences of up to " << seq_len << ", device " << device_text(device) << "\n";
  print_table(results);
  return kExitOk;
}

}  // namespace

Command add_eval_command(CLI::App& root) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = root.add_subcommand("eval", kEvalSummary);
  cmd->add_option("--model", args->model, "Reference checkpoint directory (Hugging Face layout)")
      ->required();
  cmd->add_option("--compare", args->compare,
                  "Further checkpoint directories scored against --model (e.g. compressed ones)");
  auto* text = cmd->add_option("--text", args->source.text_path,
                               "Held-out UTF-8 text, encoded with the model's tokenizer.json");
  auto* ids = cmd->add_option("--ids", args->source.ids_path,
                              "Pre-tokenized ids instead of --text (.npy or raw int32)");
  text->excludes(ids);
  ids->excludes(text);
  cmd->add_option("--seq-len", args->seq_len,
                  "Tokens per sequence; the stream is cut into independent sequences (default: "
                  "512, or the model's max_position_embeddings if smaller)");
  cmd->add_option("--tokens", args->tokens, "Use at most this many tokens (0: all)")
      ->capture_default_str();
  cmd->add_option("--device", args->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--json", args->json,
                "Print {\"results\":[{\"model\",\"perplexity\",\"kl\",\"top1_agreement\","
                "\"tokens\",...}]}");
  cmd->footer(
      "Layer-streamed: one decoder layer's weights are resident at a time.\n"
      "Example: hodgecover eval --model orig --compare pruned --text heldout.txt --json");
  return Command{cmd, [args] {
                   if (args->source.text_path.empty() && args->source.ids_path.empty()) {
                     fail(hc::ErrorCode::InvalidArgument, "give --text FILE or --ids FILE");
                   }
                   return run_eval(*args);
                 }};
}

}  // namespace hc::native
