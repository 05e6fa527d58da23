// `hodgecover compare --model DIR --stats F.hcstats (--text|--ids FILE) --out DIR`: every method
// at several removal ratios, with and without Wanda, applied and evaluated; markdown + JSON table.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/native/calibration.hpp"
#include "hc/native/checkpoint.hpp"
#include "hc/native/compare.hpp"
#include "hc/native/device.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/model_spec.hpp"
#include "hc/variants.hpp"

namespace hc::native {
namespace {

struct CompareArgs {
  std::string model, stats, out;
  TokenSource source;
  std::vector<std::string> methods;
  std::vector<double> ratios{0.25, 0.5, 0.75};
  double wanda = 0.5;
  std::string mode = "auto";
  std::string gate_correction = "auto";
  std::size_t seq_len = 0;  // 0: default_sequence_length of --model
  std::size_t tokens = 0;
  std::string device = "auto";
  std::string checkpoints = "best";
  std::uint64_t seed = 0;
  std::string variants;  // JSON file of named variants (instead of --methods)
  TokenSource select_on;
  int random_seeds = 1;
  std::vector<double> wanda_only;
  ComplexSwitches complex;
  HodgeCoverSwitches hodgecover;
  bool json = false, gate_baselines = false;
};

void print_rows(const CompareReport& report) {
  std::cout << strprintf("%-20s %5s %6s %5s %12s %10s %7s %9s %9s %7s\n", "variant", "mode",
                         "ratio", "wanda", "perplexity", "KL", "top-1", "harmonic", "triangle",
                         "params");
  for (const auto& row : report.rows) {
    std::cout << strprintf("%-20s %5s %5.0f%% %5s ", row.variant.c_str(), row.mode.c_str(),
                           100 * row.ratio,
                           row.wanda > 0 ? strprintf("%.0f%%", 100 * row.wanda).c_str() : "-");
    if (!row.error.empty()) {
      std::cout << "not run: " << row.error << "\n";
      continue;
    }
    std::cout << strprintf("%12.4f %10.5f %6.1f%% %9.3f %9.3f %6.1f%%\n", row.perplexity, row.kl,
                           100 * row.top1_agreement, row.retained.harmonic, row.retained.triangle,
                           report.reference_parameters ? 100.0 * double(row.nonzero_parameters) /
                                                             double(report.reference_parameters)
                                                       : 0.0);
  }
}

int run_compare(const CompareArgs& args) {
  if (args.seq_len == 1) fail(hc::ErrorCode::InvalidArgument, "--seq-len must be at least 2");
  const at::Device device = take_option("--device", parse_device(args.device));
  tune_allocator_for_tensors();

  CompareOptions options;
  options.model = args.model;
  options.out = args.out;
  options.ratios = args.ratios;
  options.wanda = args.wanda;
  options.gate_correction =
      take_option("--gate-correction", parse_gate_correction(args.gate_correction));
  options.gate_baselines = args.gate_baselines;
  if (args.mode != "auto") options.mode = take(hc::parse_reduction_mode(args.mode));
  for (const auto& m : args.methods) options.methods.push_back(take(hc::parse_method(m)));
  options.keep = take(parse_keep_checkpoints(args.checkpoints));
  options.complex = complex_options(args.complex);
  options.selection = selection_options(args.hodgecover);
  options.selection.seed = args.seed;
  options.device = device;
  options.random_seeds = args.random_seeds;
  options.wanda_only = args.wanda_only;
  if (!args.variants.empty()) {
    std::vector<std::uint8_t> bytes;
    if (hc::Status error = read_file(args.variants, bytes); !error.ok()) fail(error.error());
    auto parsed = hc::parse_variants(std::string(bytes.begin(), bytes.end()), args.variants,
                                     options.selection, options.complex);
    if (!parsed.ok()) fail(hc::ErrorCode::Malformed, parsed.error().message);
    options.variants = std::move(parsed).value();
  }

  const LoadedStats stats = load_stats(args.stats);
  options.stats = &stats.stats;
  options.stats_path = stats.path;

  const Checkpoint checkpoint = take(open_checkpoint(args.model));
  const MoeModelSpec spec = take(model_spec_for(checkpoint));
  options.seq_len = args.seq_len > 0 ? args.seq_len : default_sequence_length(spec);
  const TokenStream stream =
      take(read_token_stream(args.model, args.source, static_cast<std::size_t>(spec.vocab_size)));
  options.sequences = split_sequences(stream.ids, options.seq_len, args.tokens, /*min_tail=*/2);
  options.data = stream.description;
  if (options.sequences.empty()) {
    fail(hc::ErrorCode::Malformed,
         (args.source.text_path.empty() ? args.source.ids_path : args.source.text_path) +
             ": fewer than two tokens to evaluate");
  }

  if (!args.select_on.text_path.empty() || !args.select_on.ids_path.empty()) {
    const TokenStream chosen = take(
        read_token_stream(args.model, args.select_on, static_cast<std::size_t>(spec.vocab_size)));
    options.select_sequences = split_sequences(chosen.ids, options.seq_len, args.tokens, 2);
    options.select_data = chosen.description;
    if (options.select_sequences.empty())
      fail(hc::ErrorCode::Malformed, chosen.description + ": fewer than two tokens to choose on");
  }

  std::unique_ptr<ProgressBar> bar;
  const CompareReport report =
      take(run_comparison(options, [&](std::size_t done, std::size_t total, const std::string&) {
        if (!bar) bar = std::make_unique<ProgressBar>("compare", total, "models");
        if (done > 0) bar->advance();
        if (done == total) bar->finish();
      }));
  bar.reset();
  if (args.json) {
    print_json(compare_report_json(report));
    return kExitOk;
  }
  std::cout << strprintf("compare: %s, original perplexity %.4f on %zu tokens (%s)\n",
                         args.model.c_str(), report.reference_perplexity, report.tokens,
                         report.data.c_str());
  print_rows(report);
  for (double ratio : args.ratios) {
    const auto best = best_row(report.rows, ratio);
    if (!best) continue;
    const CompareRow& row = report.rows[*best];
    std::cout << strprintf(
        "lowest KL at %.0f%% removed: %s%s (KL %.5f)\n", 100 * ratio, row.variant.c_str(),
        row.wanda > 0 ? strprintf(" + Wanda %.0f%%", 100 * row.wanda).c_str() : "", row.kl);
  }
  const std::filesystem::path out(args.out);
  std::cout << "report: " << (out / "report.md").string() << " (figures in "
            << (out / "figures").string() << "/) and " << (out / "report.json").string() << "\n";
  return kExitOk;
}

}  // namespace

Command add_compare_command(CLI::App& root) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = root.add_subcommand("compare", kCompareSummary);
  cmd->add_option("--model", args->model, "Original checkpoint directory (never modified)")
      ->required();
  cmd->add_option("--stats", args->stats, "The model's statistics file (from `extract`)")
      ->required();
  auto* text = cmd->add_option("--text", args->source.text_path,
                               "Held-out UTF-8 text, encoded with the model's tokenizer.json");
  auto* ids = cmd->add_option("--ids", args->source.ids_path,
                              "Pre-tokenized held-out ids instead of --text (.npy or raw int32)");
  text->excludes(ids);
  ids->excludes(text);
  cmd->add_option("--out", args->out,
                  "New directory for report.md, report.json, figures/, plans/ and checkpoints/")
      ->required();
  cmd->add_option("--methods", args->methods,
                  "Methods to run (default: every method the statistics file has data for)")
      ->delimiter(',');
  cmd->add_option("--ratios", args->ratios, "Shares of experts removed per layer")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--gate-correction", args->gate_correction,
                  "apply's gate correction for every row: auto, off, linear or mass (a "
                  "variant's gate_correction key overrides it)")
      ->capture_default_str();
  cmd->add_option("--wanda", args->wanda,
                  "Each plan also with this Wanda share of every surviving expert row zeroed "
                  "(0: no Wanda rows)")
      ->capture_default_str();
  cmd->add_option("--mode", args->mode,
                  "auto: each method's own (hcsmoe merges, others prune); prune or merge: all")
      ->check(CLI::IsMember({"auto", "prune", "merge"}))
      ->capture_default_str();
  cmd->add_option("--checkpoints", args->checkpoints,
                  "Compressed checkpoints kept in OUT/checkpoints: best (lowest KL per ratio), "
                  "all or none")
      ->check(CLI::IsMember({"none", "best", "all"}))
      ->capture_default_str();
  cmd->add_option("--seq-len", args->seq_len,
                  "Tokens per held-out sequence (default: 512, or the model's "
                  "max_position_embeddings if smaller)");
  cmd->add_option("--tokens", args->tokens, "Use at most this many held-out tokens (0: all)")
      ->capture_default_str();
  cmd->add_option("--device", args->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for --method random")->capture_default_str();
  auto* variants = cmd->add_option(
      "--variants", args->variants,
      "JSON file {\"variants\":[{\"name\":..,\"method\":..,<switch>:<value>,..}]}: compare "
      "these named variants instead of --methods (switch names as in plan params)");
  cmd->get_option("--methods")->excludes(variants);
  auto* select_text = cmd->add_option(
      "--select-on", args->select_on.text_path,
      "Calibration-side text: every model is also scored on it, and per ratio and Wanda the "
      "variant with the lowest KL on it is marked chosen (report it on the held-out --text)");
  auto* select_ids = cmd->add_option("--select-on-ids", args->select_on.ids_path,
                                     "Pre-tokenized ids instead of --select-on");
  select_text->excludes(select_ids);
  cmd->add_option("--random-seeds", args->random_seeds,
                  "Run random with seeds 0..N-1 (variants random.s0, ...; mean and spread "
                  "reported)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--wanda-only", args->wanda_only,
                  "Control rows: every expert kept, Wanda at these shares (e.g. 0.25,0.5)")
      ->delimiter(',');
  add_complex_options(*cmd, args->complex);
  add_hodgecover_options(*cmd, args->hodgecover);
  cmd->add_flag("--gate-baselines", args->gate_baselines,
                "Also score each ratio's lowest-KL corrected plan (without Wanda) uncorrected, "
                "so the report's gate-correction section shows the effect");
  cmd->add_flag("--json", args->json, "Print the report JSON instead of the table");
  cmd->footer(
      "KL is mean KL(p_original || p_compressed) per token on the held-out data, with 95%\n"
      "bootstrap intervals over sequences and paired intervals of each row's difference to the\n"
      "best; the table's retained masses are the Hodge masses each plan keeps. figures/ holds\n"
      "SVG charts linked from report.md: parameters kept against KL, KL and top-1 agreement per\n"
      "ratio, and the experts each variant keeps per layer.\n"
      "Example: hodgecover compare --model m --stats m.hcstats --text heldout.txt --out cmp");
  return Command{cmd, [args] {
                   if (args->source.text_path.empty() && args->source.ids_path.empty()) {
                     fail(hc::ErrorCode::InvalidArgument,
                          "give --text FILE or --ids FILE (held-out data)");
                   }
                   return run_compare(*args);
                 }};
}

}  // namespace hc::native
