// run_comparison: select → apply → evaluate for every method, ratio and Wanda setting, in a
// staging directory that is renamed to the output when the report is complete.
#include "hc/native/compare.hpp"

#include <chrono>
#include <cmath>
#include <map>

#include "hc/analysis.hpp"
#include "hc/native/apply.hpp"
#include "hc/native/cli_common.hpp"
#include "hc/native/device.hpp"
#include "hc/native/evaluate.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/staging_dir.hpp"
#include "hc/plan.hpp"

namespace hc::native {
namespace {

namespace fs = std::filesystem;

hc::Error write_error(const std::string& message) {
  return hc::make_error(hc::ErrorCode::WriteFailed, message);
}

std::optional<hc::Error> write_text(const fs::path& path, const std::string& text) {
  if (auto error = write_text_atomic(path, text)) {
    return write_error(error->message);
  }
  return std::nullopt;
}

std::string row_name(const std::string& method, double ratio, double wanda) {
  std::string name = method + strprintf("-r%.0f", 100.0 * ratio);
  if (wanda > 0) name += strprintf("-wanda%.0f", 100.0 * wanda);
  return name;
}

hc::ReductionMode plan_mode(const hc::Plan& plan) {
  const std::string mode = plan.params.value("mode", std::string("prune"));
  return mode == "merge" ? hc::ReductionMode::Merge : hc::ReductionMode::Prune;
}

}  // namespace

hc::Result<KeepCheckpoints> parse_keep_checkpoints(const std::string& s) {
  if (s == "none") return KeepCheckpoints::None;
  if (s == "best") return KeepCheckpoints::Best;
  if (s == "all") return KeepCheckpoints::All;
  return hc::make_error(hc::ErrorCode::InvalidArgument,
                        "checkpoints '" + s + "': expected none, best or all");
}

const char* keep_checkpoints_name(KeepCheckpoints k) {
  switch (k) {
    case KeepCheckpoints::None: return "none";
    case KeepCheckpoints::Best: return "best";
    case KeepCheckpoints::All: return "all";
  }
  return "best";
}

hc::Result<CompareReport> run_comparison(const CompareOptions& options,
                                         const CompareProgress& progress) {
  if (options.stats == nullptr || options.stats->layers.empty()) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          options.stats_path + ": the statistics file has no MoE layers");
  }
  if (options.ratios.empty() && options.wanda_only.empty()) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, "compare: no ratios");
  }
  for (double r : options.ratios) {
    if (!(r > 0.0 && r < 1.0)) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            strprintf("compare: ratio %g is not in (0, 1)", r));
    }
  }
  for (double w : options.wanda_only) {
    if (!(w > 0.0 && w < 1.0)) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            strprintf("compare: Wanda-only share %g is not in (0, 1)", w));
    }
  }
  if (!(options.wanda >= 0.0 && options.wanda < 1.0)) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          strprintf("compare: Wanda share %g is not in [0, 1)", options.wanda));
  }
  std::error_code ec;
  if (fs::exists(options.out, ec) && !fs::is_empty(options.out, ec)) {
    return write_error(options.out.string() + ": already exists and is not empty");
  }
  std::vector<hc::Variant> variants = options.variants;
  if (variants.empty()) {
    variants = hc::method_variants(options.methods.empty() ? hc::all_methods() : options.methods,
                                   options.selection, options.complex, options.random_seeds);
    for (auto& v : variants) v.mode = options.mode;
  }
  std::vector<double> wandas{0.0};
  if (options.wanda > 0) wandas.push_back(options.wanda);

  // One analysis per distinct complex (variants often share one), keyed by its switches.
  auto complex_key = [](const hc::ComplexOptions& c) {
    return hc::selection_params(hc::SelectionOptions{}, c).dump();
  };
  std::map<std::string, std::vector<hc::LayerAnalysis>> analyses;
  for (const hc::Variant& v : variants) {
    const std::string key = complex_key(v.complex);
    if (!analyses.count(key)) {
      auto a = hc::analyze_file(*options.stats, v.complex);
      if (!a.ok()) {
        return hc::make_error(a.error().code, options.stats_path + ": " + a.error().message);
      }
      analyses.emplace(key, std::move(a).value());
    }
    // Orientation-averaged energies once, for every ratio, only where a variant ranks by them.
    if (v.selection.harmonic_target != hc::HarmonicTarget::Expected) continue;
    for (hc::LayerAnalysis& layer : analyses.at(key)) {
      if (hc::Status s = hc::ensure_expected(layer); !s) {
        return hc::make_error(s.error().code, options.stats_path + ": " + s.error().message);
      }
    }
  }
  auto staging = StagingDir::beside(options.out);
  if (!staging.ok()) return staging.error();
  const fs::path root = staging->path();
  fs::create_directories(root / "plans", ec);
  fs::create_directories(root / "checkpoints", ec);
  if (ec) return write_error(root.string() + ": " + ec.message());

  CompareReport report;
  report.model = options.model.string();
  report.stats = options.stats_path;
  report.data = options.data;
  report.sequences = options.sequences.size();
  report.seq_len = options.seq_len;
  report.device = device_text(options.device);
  report.complex = describe_complex(options.complex);
  report.checkpoints = keep_checkpoints_name(options.keep);
  report.select_data = options.select_data;

  const std::size_t total =
      options.ratios.size() * variants.size() * wandas.size() + options.wanda_only.size();
  std::size_t done = 0;
  if (progress) progress(done, total, "original model");
  auto evaluator = Evaluator::open(options.model, options.sequences, options.device);
  if (!evaluator.ok()) return evaluator.error();
  report.tokens = evaluator->reference().tokens;
  report.reference_perplexity = evaluator->reference().perplexity;
  report.reference_nll = evaluator->reference().nll;
  report.sequence_tokens = evaluator->reference().sequence_tokens;
  std::optional<Evaluator> selector;
  if (!options.select_sequences.empty()) {
    auto opened = Evaluator::open(options.model, options.select_sequences, options.device);
    if (!opened.ok()) return opened.error();
    report.select_sequence_tokens = opened->reference().sequence_tokens;
    selector.emplace(std::move(opened).value());
  }

  // Applies one plan and scores it; a plan the model cannot take becomes the row's error.
  auto run_row = [&](CompareRow& row, const hc::Plan& plan, const std::string& name,
                     double output_scale) -> hc::Status {
    const auto start = std::chrono::steady_clock::now();
    ApplyOptions apply;
    apply.model = options.model;
    apply.out = root / "checkpoints" / name;
    apply.mode = plan_mode(plan) == hc::ReductionMode::Merge ? ApplyMode::Merge : ApplyMode::Prune;
    apply.wanda = row.wanda;
    apply.output_scale = output_scale;
    auto summary = apply_plan(apply, plan, options.stats);
    if (!summary.ok()) {
      if (summary.error().code != hc::ErrorCode::InvalidArgument) return summary.error();
      row.error = summary.error().message;
    } else {
      report.reference_parameters = summary->parameters_before;
      row.parameters = summary->parameters_after;
      row.nonzero_parameters = summary->parameters_after - summary->wanda_zeros;
      auto scores = evaluator->evaluate(apply.out);
      if (!scores.ok()) return scores.error();
      row.perplexity = scores->perplexity;
      row.nll = scores->nll;
      row.kl = scores->kl;
      row.top1_agreement = scores->top1_agreement;
      row.sequence_kl = scores->sequence_kl;
      if (selector) {
        auto chosen = selector->evaluate(apply.out);
        if (!chosen.ok()) return chosen.error();
        row.select_kl = chosen->kl;
        row.select_sequence_kl = chosen->sequence_kl;
      }
      row.checkpoint = "checkpoints/" + name;
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return hc::Ok{};
  };

  std::map<std::pair<double, double>, std::size_t> best_by_group;  // kept best checkpoint
  auto keep_policy = [&](std::size_t index) {
    CompareRow& added = report.rows[index];
    if (added.checkpoint.empty() || options.keep == KeepCheckpoints::All) return;
    std::optional<std::size_t> drop = index;
    if (options.keep == KeepCheckpoints::Best) {
      const auto group = std::make_pair(added.ratio, 0.0);  // best per ratio, Wanda or not
      const auto it = best_by_group.find(group);
      if (it == best_by_group.end() || added.kl < report.rows[it->second].kl) {
        drop = it == best_by_group.end() ? std::nullopt : std::optional<std::size_t>(it->second);
        best_by_group[group] = index;
      }
    }
    if (drop) {
      CompareRow& dropped = report.rows[*drop];
      remove_tree(root / dropped.checkpoint, ec);
      dropped.checkpoint.clear();
    }
  };

  for (double ratio : options.ratios) {
    for (const hc::Variant& variant : variants) {
      hc::SelectionOptions selection = variant.selection;
      selection.keep = -1;
      selection.ratio = ratio;
      if (variant.mode) selection.mode = *variant.mode;
      auto keep = hc::keep_count(options.stats->layers.front().experts, selection);
      const auto& layer_analyses = analyses.at(complex_key(variant.complex));
      auto outcome = hc::select_file(*options.stats, layer_analyses, selection, variant.complex);

      CompareRow base;
      base.variant = variant.name;
      base.method = hc::method_name(selection.method);
      base.ratio = ratio;
      base.keep = keep.ok() ? *keep : 0;
      std::string plan_file = "plans/" + row_name(base.variant, ratio, 0) + ".json";
      if (outcome.ok()) {
        base.mode = hc::reduction_mode_name(plan_mode(outcome->plan));
        base.retained = mean_retained(outcome->retained);
        base.plan = plan_file;
        if (auto error = write_text(root / plan_file,
                                    json_text(hc::plan_to_json(outcome->plan), 2) + "\n")) {
          return *error;
        }
      } else {
        base.mode = hc::reduction_mode_name(selection.mode);
        base.error = outcome.error().message;
      }

      for (double wanda : wandas) {
        CompareRow row = base;
        row.wanda = wanda;
        const std::string name = row_name(row.variant, ratio, wanda);
        if (progress) progress(done, total, name);
        if (row.error.empty()) {
          if (hc::Status s = run_row(row, outcome->plan, name, variant.output_scale); !s)
            return s.error();
        }
        report.rows.push_back(row);
        keep_policy(report.rows.size() - 1);
        ++done;
        if (progress) progress(done, total, name);
      }
    }
  }

  // Controls: every expert kept, only Wanda.
  for (double wanda : options.wanda_only) {
    hc::SelectionOptions all;
    all.method = hc::Method::Frequency;
    all.keep = options.stats->layers.front().experts;
    const auto& first = analyses.begin()->second;
    auto outcome = hc::select_file(*options.stats, first, all, options.complex);
    if (!outcome.ok()) return outcome.error();
    CompareRow row;
    row.variant = "wanda-only";
    row.method = "none";
    row.mode = "prune";
    row.ratio = 0.0;
    row.keep = all.keep;
    row.wanda = wanda;
    row.retained = mean_retained(outcome->retained);
    const std::string name = row_name(row.variant, 0.0, wanda);
    if (progress) progress(done, total, name);
    if (hc::Status s = run_row(row, outcome->plan, name, 1.0); !s) return s.error();
    report.rows.push_back(row);
    keep_policy(report.rows.size() - 1);
    ++done;
    if (progress) progress(done, total, name);
  }

  annotate_report(report);
  if (auto error = write_text(root / "report.json", json_text(compare_report_json(report), 2) + "\n")) {
    return *error;
  }
  if (auto error = write_text(root / "report.md", compare_report_markdown(report))) return *error;
  if (fs::exists(options.out, ec)) fs::remove(options.out, ec);  // empty (checked above)
  fs::rename(root, options.out, ec);
  if (ec) return write_error(options.out.string() + ": cannot rename the finished report: " + ec.message());
  staging->release();
  return report;
}

}  // namespace hc::native
