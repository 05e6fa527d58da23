// `hodgecover train --family mixtral|olmoe|qwen3_moe --text FILE --out DIR ...`: trains a small
// MoE language model with LibTorch and writes it as a Hugging Face checkpoint (BF16 weights,
// config.json, tokenizer.json) that extract/eval/apply read like any downloaded model.
#include <ATen/Parallel.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/native/bpe_trainer.hpp"
#include "hc/native/checkpoint_writer.hpp"
#include "hc/native/tokenizer.hpp"
#include "hc/native/train_model.hpp"

namespace hc::native {
namespace {

struct TrainArgs {
  TrainShape shape;
  TrainOptions options;
  std::string text, heldout, out, tokenizer, report;
  int vocab = 0;  // 0: the tokenizer's size (or 1024 when the BPE is learned here)
  int log_every = 0;
  bool json = false;
};

std::string read_text(const std::string& path, const char* what) {
  std::vector<std::uint8_t> bytes;
  if (hc::Status error = read_file(path, bytes); !error.ok()) fail(error.error());
  if (bytes.empty())
    fail(hc::ErrorCode::Malformed, path + ": the " + std::string(what) + " file is empty");
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::int32_t> encode(const Tokenizer& tokenizer, const std::string& text,
                                 const std::string& path) {
  auto ids = tokenizer.encode(text);
  if (!ids.ok()) fail(hc::ErrorCode::Malformed, path + ": " + ids.error().message);
  return std::move(ids).value();
}

nlohmann::json load_json(const std::vector<double>& share) {
  const auto [lo, hi] = std::minmax_element(share.begin(), share.end());
  return {{"min", *lo}, {"max", *hi}, {"share", share}};
}

// Sizes first (exit 2), then inputs (exit 3), then the output directory: nothing is trained
// when any of them is wrong.
void check_train_args(TrainArgs& args) {
  if (args.vocab < 0) fail(hc::ErrorCode::InvalidArgument, "--vocab must be positive");
  // The model is trained on --seq-len windows: that is the context it states.
  args.shape.max_position_embeddings = args.options.seq_len;
  TrainShape probe = args.shape;
  probe.vocab = std::max(args.vocab, 2);
  if (auto config = train_config_json(probe); !config.ok())
    fail(hc::ErrorCode::InvalidArgument, config.error().message);
  if (args.options.seq_len < 2)
    fail(hc::ErrorCode::InvalidArgument, "--seq-len must be at least 2");
  if (args.options.batch < 1 || args.options.steps < 1) {
    fail(hc::ErrorCode::InvalidArgument, "--batch and --steps must be positive");
  }
}

void check_output_free(const std::string& out) {
  std::error_code ec;
  if (std::filesystem::exists(out, ec) &&
      !(std::filesystem::is_directory(out, ec) && std::filesystem::is_empty(out, ec))) {
    fail(hc::ErrorCode::InvalidArgument,
         out + ": the output already exists and is not an empty directory");
  }
}

struct TrainData {
  std::string tokenizer_json;
  std::vector<std::int32_t> train_ids, heldout_ids;
};

// The tokenizer (learned from the text unless given) and both token streams; sets the vocab
// and end-of-text id of args.shape.
TrainData prepare_data(TrainArgs& args) {
  const std::string text = read_text(args.text, "training text");
  const std::string heldout =
      args.heldout.empty() ? std::string() : read_text(args.heldout, "held-out text");
  check_output_free(args.out);
  TrainData data;
  if (args.tokenizer.empty()) {
    BpeTrainOptions bpe;
    bpe.vocab_size = std::size_t(args.vocab > 0 ? args.vocab : 1024);
    auto vocab = train_bpe(text, bpe);
    if (!vocab.ok()) fail(hc::ErrorCode::InvalidArgument, vocab.error().message);
    data.tokenizer_json = bpe_tokenizer_json(*vocab);
  } else {
    data.tokenizer_json = read_text(args.tokenizer, "tokenizer");
  }
  const Tokenizer tokenizer = take(Tokenizer::from_json(
      data.tokenizer_json, args.tokenizer.empty() ? "learned tokenizer.json" : args.tokenizer));
  const int tokenizer_vocab = static_cast<int>(tokenizer.vocab_size());
  args.shape.vocab = args.vocab > 0 ? args.vocab : tokenizer_vocab;
  if (args.shape.vocab < tokenizer_vocab) {
    fail(hc::ErrorCode::InvalidArgument, "--vocab " + std::to_string(args.shape.vocab) +
                                             " is below the tokenizer's " +
                                             std::to_string(tokenizer_vocab) + " ids");
  }
  if (auto eot = tokenizer.token_to_id("<|endoftext|>")) args.shape.eos_token_id = *eot;
  data.train_ids = encode(tokenizer, text, args.text);
  if (!heldout.empty()) data.heldout_ids = encode(tokenizer, heldout, args.heldout);
  if (data.train_ids.size() < std::size_t(args.options.seq_len) + 1) {
    fail(hc::ErrorCode::Malformed, args.text + ": " + std::to_string(data.train_ids.size()) +
                                       " tokens, fewer than --seq-len + 1");
  }
  return data;
}

// The progress bar and the loss lines every log_every steps.
class StepLog {
 public:
  StepLog(const TrainArgs& args)
      : m_json(args.json),
        m_log_every(args.log_every > 0 ? args.log_every : std::max(1, args.options.steps / 20)),
        m_tty(::isatty(STDERR_FILENO) == 1),
        m_bar(std::make_unique<ProgressBar>("train", std::size_t(args.options.steps), "steps")) {}

  void step(const TrainStep& s) {
    m_bar->advance();
    m_loss += s.loss;
    m_aux += s.aux;
    m_elapsed += s.seconds;
    ++m_window;
    if (m_json || (s.step % m_log_every != 0 && s.step != s.steps)) return;
    const double eta = m_elapsed / s.step * (s.steps - s.step);
    if (m_tty) std::cerr << "\r\033[K";  // over the progress bar
    std::cerr << strprintf("step %5d/%d  loss %.4f  aux %.3f  lr %.2e  %.3f s/step  ETA %s\n",
                           s.step, s.steps, m_loss / m_window, m_aux / m_window, s.lr,
                           m_elapsed / s.step, clock_text(eta).c_str());
    m_loss = m_aux = 0.0;
    m_window = 0;
  }
  void finish() { m_bar.reset(); }

 private:
  bool m_json;
  int m_log_every;
  bool m_tty;
  std::unique_ptr<ProgressBar> m_bar;
  double m_loss = 0.0, m_aux = 0.0, m_elapsed = 0.0;
  int m_window = 0;
};

// Writes the trained model (bf16) with its tokenizer; returns the checkpoint's size in bytes.
std::uint64_t write_trained(const TrainArgs& args, TrainedModel& trained,
                            const std::string& tokenizer_json) {
  std::vector<TensorToWrite> tensors;
  for (auto& [name, values] : trained.tensors) {
    tensors.push_back(
        TensorToWrite{name, hc::Dtype::BF16, trained.shapes.at(name), std::move(values)});
  }
  CheckpointWriteOptions write;
  write.tokenizer_json = tokenizer_json;
  check(write_checkpoint(args.out, trained.config, tensors, write));
  std::uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(args.out)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

struct LossSummary {
  double first = 0.0, last = 0.0;  // mean of the first and last 50 steps
  double step_seconds = 0.0;
};

LossSummary summarize_losses(const TrainedModel& trained) {
  LossSummary summary;
  const auto& losses = trained.losses;
  const std::size_t tail = std::min<std::size_t>(losses.size(), 50);
  for (std::size_t i = 0; i < tail; ++i) {
    summary.first += losses[i] / tail;
    summary.last += losses[losses.size() - tail + i] / tail;
  }
  for (double s : trained.step_seconds) summary.step_seconds += s / trained.step_seconds.size();
  return summary;
}

nlohmann::json train_report(const TrainArgs& args, const TrainedModel& trained,
                            const TrainData& data, const LossSummary& losses, std::uint64_t bytes) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& share : trained.heldout.expert_load) layers.push_back(load_json(share));
  return {{"model", args.out},
          {"family", args.shape.family},
          {"config", trained.config},
          {"steps", args.options.steps},
          {"batch", args.options.batch},
          {"seq_len", args.options.seq_len},
          {"seed", args.options.seed},
          {"threads", at::get_num_threads()},
          {"training_tokens", data.train_ids.size()},
          {"train_seconds", trained.seconds},
          {"step_seconds", losses.step_seconds},
          {"train_loss_first", losses.first},
          {"train_loss_last", losses.last},
          {"heldout",
           {{"tokens", trained.heldout.tokens},
            {"seq_len",
             args.options.eval_seq_len > 0 ? args.options.eval_seq_len : args.options.seq_len},
            {"perplexity_initial", trained.initial.perplexity},
            {"perplexity", trained.heldout.perplexity},
            {"nll", trained.heldout.nll},
            {"uniform_perplexity", args.shape.vocab},
            {"expert_load", layers}}},
          {"checkpoint_bytes", bytes}};
}

void print_train_summary(const TrainArgs& args, const TrainedModel& trained,
                         const LossSummary& losses, std::uint64_t bytes) {
  std::cout << strprintf("train: %d steps in %s (%.3f s/step); train loss %.4f -> %.4f\n",
                         args.options.steps, clock_text(trained.seconds).c_str(),
                         losses.step_seconds, losses.first, losses.last);
  if (trained.heldout.tokens > 0) {
    std::cout << strprintf(
        "held-out perplexity %.3f (untrained %.1f, uniform %d) over %zu tokens\n",
        trained.heldout.perplexity, trained.initial.perplexity, args.shape.vocab,
        trained.heldout.tokens);
    for (std::size_t l = 0; l < trained.heldout.expert_load.size(); ++l) {
      const auto& share = trained.heldout.expert_load[l];
      const auto [lo, hi] = std::minmax_element(share.begin(), share.end());
      std::cout << strprintf("  layer %zu expert load: min %.3f max %.3f (uniform %.3f)\n", l, *lo,
                             *hi, 1.0 / share.size());
    }
  }
  std::cout << "wrote " << args.out << " (" << bytes << " bytes)\n";
}

int run_train(TrainArgs& args) {
  check_train_args(args);
  const TrainData data = prepare_data(args);
  if (!args.json) {
    std::cerr << "train: " << args.shape.family << ", " << args.shape.layers << " layers, "
              << args.shape.experts << " experts (top-" << args.shape.top_k << "), hidden "
              << args.shape.hidden << ", vocab " << args.shape.vocab << "; "
              << data.train_ids.size() << " training tokens, " << data.heldout_ids.size()
              << " held-out; " << at::get_num_threads() << " -> " << args.options.threads
              << " threads\n";
  }
  StepLog log(args);
  auto trained = train_model(args.shape, args.options, data.train_ids, data.heldout_ids,
                             [&log](const TrainStep& s) { log.step(s); });
  log.finish();
  if (!trained.ok()) {
    // Usage and device errors keep their codes; anything else is a failed run (exit 4).
    const hc::ErrorCode code = trained.error().code;
    const bool keep = code == hc::ErrorCode::InvalidArgument ||
                      code == hc::ErrorCode::DeviceOutOfMemory ||
                      code == hc::ErrorCode::DeviceFailure;
    fail(keep ? code : hc::ErrorCode::NumericalFailure, trained.error().message);
  }
  const std::uint64_t bytes = write_trained(args, *trained, data.tokenizer_json);
  const LossSummary losses = summarize_losses(*trained);
  const nlohmann::json report = train_report(args, *trained, data, losses, bytes);
  if (!args.report.empty()) write_output(args.report, json_text(report, 2) + "\n");
  if (args.json) {
    print_json(report);
  } else {
    print_train_summary(args, *trained, losses, bytes);
  }
  return kExitOk;
}

}  // namespace

Command add_train_command(CLI::App& root) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = root.add_subcommand("train", kTrainSummary);
  TrainShape& s = args->shape;
  TrainOptions& o = args->options;
  cmd->add_option("--family", s.family, "mixtral, olmoe or qwen3_moe")->capture_default_str();
  cmd->add_option("--text", args->text, "UTF-8 training text")->required();
  cmd->add_option("--heldout", args->heldout, "UTF-8 held-out text for the final perplexity");
  cmd->add_option("--out", args->out, "Checkpoint directory to create")->required();
  cmd->add_option("--tokenizer", args->tokenizer,
                  "tokenizer.json to use (default: learn a byte-level BPE on --text)");
  cmd->add_option("--layers", s.layers)->capture_default_str();
  cmd->add_option("--experts", s.experts)->capture_default_str();
  cmd->add_option("--top-k", s.top_k)->capture_default_str();
  cmd->add_option("--hidden", s.hidden)->capture_default_str();
  cmd->add_option("--intermediate", s.intermediate, "Expert MLP size")->capture_default_str();
  cmd->add_option("--heads", s.heads)->capture_default_str();
  cmd->add_option("--kv-heads", s.kv_heads)->capture_default_str();
  cmd->add_option("--vocab", args->vocab, "Model vocabulary (default: the tokenizer's)");
  cmd->add_flag("--norm-topk-prob", s.norm_topk_prob,
                "Renormalise the top-k gates (olmoe/qwen3_moe; mixtral always does)");
  cmd->add_option("--seq-len", o.seq_len)->capture_default_str();
  cmd->add_option("--batch", o.batch)->capture_default_str();
  cmd->add_option("--steps", o.steps)->capture_default_str();
  cmd->add_option("--lr", o.lr, "Peak AdamW learning rate")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Warmup steps (-1: min(100, steps/10))")
      ->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay)->capture_default_str();
  cmd->add_option("--aux-coef", o.aux_coef, "Load-balancing loss weight")->capture_default_str();
  cmd->add_option("--seed", o.seed)->capture_default_str();
  cmd->add_option("--eval-seq-len", o.eval_seq_len,
                  "Held-out sequence length (as hodgecover eval --seq-len; default: --seq-len, "
                  "which is also the max_position_embeddings written)");
  cmd->add_option("--threads", o.threads, "CPU threads (0: LibTorch's default)")
      ->capture_default_str();
  cmd->add_option("--log-every", args->log_every, "Loss line every N steps (0: steps/20)");
  cmd->add_flag("--json", args->json, "Print the JSON report (no loss lines)");
  cmd->add_option("--report", args->report, "Also write the JSON report to this file");
  cmd->footer(
      "Example: hodgecover train --family olmoe --text train.txt --heldout heldout.txt "
      "--out tiny-olmoe --experts 32 --top-k 4 --intermediate 64 --steps 600");
  return Command{cmd, [args] { return run_train(*args); }};
}

}  // namespace hc::native
