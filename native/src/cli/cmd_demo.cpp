// `hodgecover demo`: the bundled default job. With LibTorch: the bundled trained model end to
// end (demo_model.cpp). With --synthetic, or without LibTorch: a synthetic statistics file with
// planted structure, decomposed and selected.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "demo.hpp"
#include "hc/synth.hpp"

namespace hc::native {
namespace {

struct DemoArgs {
  bool synthetic = false;
  ModelDemoArgs model;
  std::string out;
  int layers = 8;
  int experts = 32;
  std::uint64_t seed = 0;
  double ratio = 0.5;
};

// A fresh private directory under the system temp dir, so repeated demos never collide.
std::filesystem::path make_demo_dir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "hodgecover-demo-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    fail(hc::ErrorCode::WriteFailed, "cannot create a temporary directory under " +
                                         std::filesystem::temp_directory_path().string());
  }
  return pattern;
}

std::string planted_summary(const hc::StatsFile& stats, const hc::Plan& plan, int cover_tri) {
  const auto planted = hc::planted_from_metadata(stats);
  int covered = 0;
  for (const auto& triple : planted) {
    const auto it = plan.layers.find(triple.layer);
    if (it == plan.layers.end()) continue;
    int kept = 0;
    for (int v : triple.experts) {
      kept += std::binary_search(it->second.keep.begin(), it->second.keep.end(), v) ? 1 : 0;
    }
    covered += kept >= cover_tri ? 1 : 0;
  }
  return strprintf("%d/%zu", covered, planted.size());
}

int run_demo(const DemoArgs& args) {
  hc::SynthOptions synth;
  synth.layers = args.layers;
  synth.experts = args.experts;
  synth.seed = args.seed;
  hc::SynthResult generated = take(hc::synthesize(synth));
  generated.stats.metadata["producer"] = std::string("hodgecover ") + kVersion + " demo";
  const std::vector<std::uint8_t> bytes = take(hc::write_stats(generated.stats));

  std::filesystem::path path = args.out;
  if (args.out.empty()) {
    const std::filesystem::path dir = make_demo_dir();
    path = dir / "demo.hcstats";
    try {
      write_output(path.string(), bytes);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(dir, ec);
      throw;
    }
  } else {
    write_output(path.string(), bytes);
  }

  std::cout << strprintf(
      "HodgeCover demo: synthetic statistics, %d layers x %d experts, seed %llu.\n\n", args.layers,
      args.experts, static_cast<unsigned long long>(args.seed));
  std::cout << strprintf("[1/3] wrote %s (%zu bytes)\n\n", path.c_str(), bytes.size());

  // Read back from disk so the demo exercises the same path as every other command.
  const LoadedStats loaded = load_stats(path.string());
  const hc::ComplexOptions complex;
  const auto analyses = analyze_stats(loaded.stats, complex, std::nullopt, loaded.path);
  std::cout << "[2/3] decomposition: " << describe_complex(complex) << '\n';
  print_decomposition_table(std::cout, analyses);

  hc::SelectionOptions options;
  options.ratio = args.ratio;
  const int keep = take(hc::keep_count(args.experts, options));
  std::cout << strprintf("\n[3/3] selection at ratio %g: keep %d of %d experts per layer\n",
                         args.ratio, keep, args.experts);
  std::vector<MethodRetained> rows;
  std::string planted;
  for (hc::Method method : {hc::Method::HodgeCover, hc::Method::Frequency, hc::Method::Reap}) {
    options.method = method;
    const auto outcome = take(hc::select_file(loaded.stats, analyses, options, complex));
    rows.push_back({method, mean_retained(outcome.retained)});
    planted += strprintf("%s%s %s", planted.empty() ? "" : ", ", hc::method_name(method),
                         planted_summary(loaded.stats, outcome.plan, options.cover_tri).c_str());
  }
  print_retained_table(std::cout, rows);
  std::cout << strprintf("planted irreducible triples kept intact (>= %d of 3 experts): %s\n\n",
                         options.cover_tri, planted.c_str());
  const std::string file = path.string();
  std::cout << "next:\n"
            << strprintf("  hodgecover info %s\n", file.c_str())
            << strprintf("  hodgecover select %s --ratio %g --compare\n", file.c_str(), args.ratio)
            << strprintf("  hodgecover select %s --method hodgecover --ratio %g --out plan.json\n",
                         file.c_str(), args.ratio);
  return kExitOk;
}

}  // namespace

Command add_demo_command(CLI::App& root, ModelDemoRunner model_demo) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd = root.add_subcommand("demo", kDemoSummary);
  cmd->add_option("--out", args->out,
                  "Output directory (default demo-out; replaced if it holds a previous demo's "
                  "report); with --synthetic, the statistics file (default: a new temp dir)");
  cmd->add_option(
      "--model", args->model.model,
      std::string("Checkpoint directory (default: the bundled models/") + kDefaultModel + ")");
  cmd->add_option("--calibration", args->model.calibration,
                  "Calibration text (default: the bundled models/data/calibration.txt)");
  cmd->add_option("--heldout", args->model.heldout,
                  "Held-out text (default: the bundled models/data/heldout.txt)");
  cmd->add_option("--tokens", args->model.tokens, "Calibration tokens for extract")
      ->capture_default_str();
  cmd->add_option("--eval-tokens", args->model.eval_tokens, "Held-out tokens per evaluation")
      ->capture_default_str();
  cmd->add_option("--seq-len", args->model.seq_len,
                  "Tokens per sequence (default: 512, or the model's max_position_embeddings "
                  "if smaller)");
  cmd->add_option("--max-triangles", args->model.max_triangles,
                  "Stage-1 candidate triangles measured per layer")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--ratios", args->model.ratios, "Shares of experts removed per layer")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--wanda", args->model.wanda, "Wanda share of the with-Wanda rows (0: none)")
      ->capture_default_str();
  cmd->add_option("--checkpoints", args->model.checkpoints,
                  "Compressed checkpoints kept: best (lowest KL per ratio), all or none")
      ->check(CLI::IsMember({"none", "best", "all"}))
      ->capture_default_str();
  cmd->add_option("--device", args->model.device, "auto, cpu, cuda or cuda:N")
      ->capture_default_str();
  cmd->add_flag("--json", args->model.json, "Print a JSON summary (with the full report)");
  cmd->add_flag("--synthetic", args->synthetic,
                "Synthetic statistics with planted structure instead of the model (no LibTorch "
                "needed)");
  cmd->add_option("--layers", args->layers, "--synthetic: MoE layers")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--experts", args->experts, "--synthetic: experts per layer")
      ->check(CLI::Range(4, 512))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "--synthetic: random seed")->capture_default_str();
  cmd->add_option("--ratio", args->ratio, "--synthetic: share of experts removed per layer")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->footer(
      "Writes demo-out/: report.md and report.json (the comparison table), figures/ (SVG\n"
      "charts linked from report.md), plans/, the best compressed checkpoint per ratio, and the\n"
      "model's statistics file. Open both in the dashboard:\n"
      "  bash scripts/site.sh serve 8000 demo-out/MODEL.hcstats demo-out/report.json\n"
      "Examples:\n"
      "  hodgecover demo\n"
      "  hodgecover demo --model models/tiny-mixtral --out demo-mixtral\n"
      "  hodgecover demo --synthetic --experts 64");
  return Command{cmd, [args, model_demo] {
                   if (args->synthetic || !model_demo) {
                     if (!args->synthetic) {
                       std::cout << "(this build has no LibTorch: running the synthetic demo)\n";
                     }
                     return run_demo(*args);
                   }
                   ModelDemoArgs model = args->model;
                   if (!args->out.empty()) model.out = args->out;
                   return model_demo(model);
                 }};
}

}  // namespace hc::native
