// run_model_demo: the bundled model end to end — extract statistics from calibration text,
// decompose every layer, compare every method × ratio × Wanda on held-out text — into one
// output directory that replaces the previous demo's.
#include <stdlib.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "demo.hpp"
#include "hc/native/calibration.hpp"
#include "hc/native/checkpoint.hpp"
#include "hc/native/compare.hpp"
#include "hc/native/device.hpp"
#include "hc/native/extract.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/model_spec.hpp"
#include "hc/native/staging_dir.hpp"

#ifndef HC_BUNDLED_MODELS_DIR
#define HC_BUNDLED_MODELS_DIR "models"
#endif

namespace hc::native {
namespace {

namespace fs = std::filesystem;

void require_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fail(hc::ErrorCode::Malformed,
         path.string() + ": " + what + " not found" +
             (what == "model" ? " (pass --model DIR, or set HODGECOVER_MODELS)" : ""));
  }
}

// The previous demo's output may be replaced; anything else is left alone.
void check_replaceable(const fs::path& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec))
    fail(hc::ErrorCode::WriteFailed, out.string() + ": exists and is not a directory");
  if (fs::is_empty(out, ec) || fs::exists(out / "report.json", ec)) return;
  fail(hc::ErrorCode::WriteFailed,
       out.string() +
           ": exists and is not a previous demo output (no report.json); "
           "choose another --out");
}

// A progress bar per stage label.
struct StageBars {
  std::unique_ptr<ProgressBar> bar;
  std::string stage;
  std::size_t drawn = 0;
  void update(const std::string& label, std::size_t done, std::size_t total, const char* unit) {
    if (label != stage) {
      bar = std::make_unique<ProgressBar>(label, total, unit);
      stage = label;
      drawn = 0;
    }
    if (done > drawn) bar->advance(done - drawn);
    drawn = done;
    if (done >= total) bar->finish();
  }
};

// KL per method (rows) × ratio and Wanda (columns).
void print_kl_grid(const CompareReport& report, const std::vector<double>& ratios, double wanda) {
  std::vector<std::string> methods;
  for (const auto& row : report.rows) {
    if (std::find(methods.begin(), methods.end(), row.method) == methods.end())
      methods.push_back(row.method);
  }
  std::cout << "KL(original || compressed) per token on held-out text, lower is better:\n";
  std::cout << strprintf("%-11s", "method");
  for (double r : ratios) {
    std::cout << strprintf(" %9s", strprintf("-%.0f%%", 100 * r).c_str());
    if (wanda > 0) std::cout << strprintf(" %9s", strprintf("-%.0f%%+W", 100 * r).c_str());
  }
  std::cout << '\n';
  for (const auto& m : methods) {
    std::cout << strprintf("%-11s", m.c_str());
    for (double r : ratios) {
      for (int w = 0; w < (wanda > 0 ? 2 : 1); ++w) {
        std::string cell = "-";
        for (const auto& row : report.rows) {
          if (row.method == m && row.ratio == r && (row.wanda > 0) == (w == 1) &&
              row.variant == row.method) {
            cell = row.error.empty() ? strprintf("%.4f", row.kl) : "n/a";
          }
        }
        std::cout << strprintf(" %9s", cell.c_str());
      }
    }
    std::cout << '\n';
  }
}

}  // namespace

fs::path bundled_models_dir() {
  if (const char* env = std::getenv("HODGECOVER_MODELS"); env != nullptr && *env != '\0')
    return env;
  return HC_BUNDLED_MODELS_DIR;
}

namespace {

// The model and the two texts (bundled unless given), checked before any work.
struct DemoInputs {
  fs::path model, calibration, heldout;
  std::string name;  // the model's directory name
};

DemoInputs resolve_inputs(const ModelDemoArgs& args) {
  const fs::path models = bundled_models_dir();
  DemoInputs in;
  in.model = args.model.empty() ? models / kDefaultModel : fs::path(args.model);
  in.calibration =
      args.calibration.empty() ? models / "data" / "calibration.txt" : fs::path(args.calibration);
  in.heldout = args.heldout.empty() ? models / "data" / "heldout.txt" : fs::path(args.heldout);
  require_file(in.model, "model");
  require_file(in.calibration, "calibration text");
  require_file(in.heldout, "held-out text");
  in.name = in.model.filename().empty() ? in.model.parent_path().filename().string()
                                        : in.model.filename().string();
  return in;
}

// 1. Statistics and merge barriers from the calibration text.
void extract_stage(const ModelDemoArgs& args, const DemoInputs& in, const fs::path& stats_path,
                   std::size_t seq_len, at::Device device, StageBars& bars) {
  ExtractOptions extract;
  extract.model = in.model;
  extract.source.text_path = in.calibration.string();
  extract.out = stats_path;
  extract.tokens = args.tokens;
  extract.seq_len = seq_len;
  extract.device = device;
  extract.max_triangles = args.max_triangles;
  if (!args.json) {
    std::cout << "[1/3] extract: statistics and merge barriers from " << in.calibration.string()
              << "\n";
  }
  const ExtractSummary extracted =
      take(run_extract(extract, [&](const std::string& stage, std::size_t done, std::size_t total) {
        bars.update(stage, done, total,
                    stage.find("pairs") != std::string::npos ? "pairs" : "triangles");
      }));
  bars.bar.reset();
  std::size_t triangles = 0;
  for (const auto& layer : extracted.stats.layers) triangles += layer.triangles.size();
  if (!args.json) {
    std::cout << strprintf(
        "      %zu MoE layers, %llu calibration tokens, %zu measured triangles, %.1f s\n\n",
        extracted.stats.layers.size(), static_cast<unsigned long long>(extracted.stats.tokens),
        triangles, extracted.seconds);
  }
}

// 3. Every method x ratio x Wanda on the held-out text, applied and evaluated into `run_dir`.
CompareReport compare_stage(const ModelDemoArgs& args, const DemoInputs& in,
                            const LoadedStats& loaded, const MoeModelSpec& spec,
                            const fs::path& run_dir, std::size_t seq_len, at::Device device,
                            StageBars& bars) {
  CompareOptions compare;
  compare.model = in.model;
  compare.out = run_dir;
  compare.stats = &loaded.stats;
  compare.stats_path = in.name + ".hcstats";
  compare.ratios = args.ratios;
  compare.wanda = args.wanda;
  compare.keep = take(parse_keep_checkpoints(args.checkpoints));
  compare.gate_baselines = true;  // the report shows what the gate correction did per ratio
  compare.device = device;
  compare.seq_len = seq_len;
  TokenSource held;
  held.text_path = in.heldout.string();
  const TokenStream stream =
      take(read_token_stream(in.model, held, static_cast<std::size_t>(spec.vocab_size)));
  compare.sequences = split_sequences(stream.ids, seq_len, args.eval_tokens, /*min_tail=*/2);
  compare.data = stream.description;
  if (compare.sequences.empty()) {
    fail(hc::ErrorCode::Malformed, in.heldout.string() + ": too little text");
  }
  if (!args.json) {
    std::cout << "[3/3] compare: every method x removal ratio x Wanda, on " << stream.description
              << "\n";
  }
  CompareReport report =
      take(run_comparison(compare, [&](std::size_t done, std::size_t total, const std::string&) {
        bars.update("compare", done, total, "models");
      }));
  bars.bar.reset();
  return report;
}

// The statistics file joins the report; the finished directory replaces `out`.
fs::path assemble_output(const fs::path& stats_path, const fs::path& run_dir, const fs::path& out) {
  std::error_code ec;
  fs::rename(stats_path, run_dir / stats_path.filename(), ec);
  if (ec) {
    fail(hc::ErrorCode::WriteFailed,
         (run_dir / stats_path.filename()).string() + ": " + ec.message());
  }
  if (fs::exists(out, ec)) remove_tree(out, ec);
  if (ec) {
    fail(hc::ErrorCode::WriteFailed,
         out.string() + ": cannot remove the previous demo output: " + ec.message());
  }
  fs::rename(run_dir, out, ec);
  if (ec) fail(hc::ErrorCode::WriteFailed, out.string() + ": " + ec.message());
  return out / stats_path.filename();
}

void print_demo_json(const fs::path& out, const fs::path& stats,
                     const std::vector<hc::LayerAnalysis>& analyses, const CompareReport& report) {
  nlohmann::json betti = nlohmann::json::array();
  for (const auto& a : analyses) {
    betti.push_back(
        {{"layer", a.layer}, {"betti", {a.hodge.betti[0], a.hodge.betti[1], a.hodge.betti[2]}}});
  }
  print_json({{"out", out.string()},
              {"stats", stats.string()},
              {"layers", betti},
              {"report", compare_report_json(report)}});
}

void print_demo_summary(const ModelDemoArgs& args, const MoeModelSpec& spec,
                        const CompareReport& report, const fs::path& out, const fs::path& stats) {
  std::cout << strprintf("original: held-out perplexity %.3f (uniform over the vocabulary: %d)\n",
                         report.reference_perplexity, spec.vocab_size);
  print_kl_grid(report, args.ratios, args.wanda);
  for (double ratio : args.ratios) {
    const auto best = best_row(report.rows, ratio);
    if (!best) continue;
    const CompareRow& row = report.rows[*best];
    const std::string wanda = row.wanda > 0 ? strprintf(" + Wanda %.0f%%", 100 * row.wanda) : "";
    std::cout << strprintf("lowest KL at %.0f%% removed: %s%s (KL %.4f, perplexity %.3f)\n",
                           100 * ratio, row.method.c_str(), wanda.c_str(), row.kl, row.perplexity);
  }
  for (const GateEffect& e : report.gate_effects) {
    if (e.wanda > 0 || e.variant.find("+gate-off") != std::string::npos) continue;
    std::cout << strprintf("gate correction (%s) at %.0f%% removed, %s: KL %.4f, uncorrected %.4f",
                           e.gate.c_str(), 100 * e.ratio, e.variant.c_str(), e.kl, e.kl_off);
    if (e.vs_off) {
      std::cout << strprintf(" (difference %+.4f, 95%% CI %+.4f … %+.4f)", e.vs_off->estimate,
                             e.vs_off->low, e.vs_off->high);
    }
    std::cout << "\n";
  }
  std::cout << "\nwrote " << out.string()
            << "/: report.md (with its figures in figures/*.svg), report.json, plans/, "
               "checkpoints/ ("
            << args.checkpoints << "), " << stats.filename().string() << "\n"
            << "open the statistics and the report in the dashboard:\n"
            << "  bash scripts/site.sh serve 8000 " << stats.string() << " "
            << (out / "report.json").string() << "\n"
            << "  build/web/hodgecover-dashboard " << stats.string() << " "
            << (out / "report.json").string() << "   (desktop)\n";
}

}  // namespace

int run_model_demo(const ModelDemoArgs& args) {
  const DemoInputs in = resolve_inputs(args);
  if (args.seq_len == 1) fail(hc::ErrorCode::InvalidArgument, "--seq-len must be at least 2");
  const at::Device device = take_option("--device", parse_device(args.device));
  tune_allocator_for_tensors();
  const fs::path out = args.out;
  check_replaceable(out);
  const Checkpoint checkpoint = take(open_checkpoint(in.model));
  const MoeModelSpec spec = take(model_spec_for(checkpoint));
  const std::size_t seq_len = args.seq_len > 0 ? args.seq_len : default_sequence_length(spec);
  if (!args.json) {
    std::cout << strprintf(
        "HodgeCover demo on %s (%s, %zu layers, %d experts, top-%d, vocab %d)\n\n",
        in.model.c_str(), family_model_type(spec.family), spec.layers.size(), spec.num_experts,
        spec.top_k, spec.vocab_size);
  }

  const StagingDir scratch = take(StagingDir::beside(out));
  const fs::path stats_path = scratch.path() / (in.name + ".hcstats");
  StageBars bars;
  extract_stage(args, in, stats_path, seq_len, device, bars);

  // 2. Decomposition (read back from disk, as every other command does).
  const LoadedStats loaded = load_stats(stats_path.string());
  const hc::ComplexOptions complex;
  const auto analyses = analyze_stats(loaded.stats, complex, std::nullopt, loaded.path);
  if (!args.json) {
    std::cout << "[2/3] decompose: " << hc::describe_complex(complex) << '\n';
    print_decomposition_table(std::cout, analyses);
    std::cout << '\n';
  }

  const fs::path run_dir = scratch.path() / "run";
  const CompareReport report =
      compare_stage(args, in, loaded, spec, run_dir, seq_len, device, bars);
  const fs::path final_stats = assemble_output(stats_path, run_dir, out);
  if (args.json) {
    print_demo_json(out, final_stats, analyses, report);
  } else {
    print_demo_summary(args, spec, report, out, final_stats);
  }
  return kExitOk;
}

}  // namespace hc::native
