// run_comparison: select → apply → evaluate for every method, ratio and Wanda setting, in a
// staging directory that is renamed to the output when the report is complete.
#include "hc/native/compare.hpp"

#include <chrono>
#include <cmath>
#include <map>

#include "hc/analysis.hpp"
#include "hc/native/apply.hpp"
#include "hc/native/compare_figures.hpp"
#include "hc/native/device.hpp"
#include "hc/native/evaluate.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/staging_dir.hpp"
#include "hc/native/text.hpp"
#include "hc/plan.hpp"

namespace hc::native {
namespace {

namespace fs = std::filesystem;

hc::Error write_error(const std::string& message) {
  return hc::make_error(hc::ErrorCode::WriteFailed, message);
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

hc::Status check_options(const CompareOptions& options) {
  auto invalid = [](const std::string& message) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, message);
  };
  if (options.stats == nullptr || options.stats->layers.empty()) {
    return invalid(options.stats_path + ": the statistics file has no MoE layers");
  }
  if (options.ratios.empty() && options.wanda_only.empty()) return invalid("compare: no ratios");
  for (double r : options.ratios) {
    if (!(r > 0.0 && r < 1.0)) return invalid(strprintf("compare: ratio %g is not in (0, 1)", r));
  }
  for (double w : options.wanda_only) {
    if (!(w > 0.0 && w < 1.0)) {
      return invalid(strprintf("compare: Wanda-only share %g is not in (0, 1)", w));
    }
  }
  if (!(options.wanda >= 0.0 && options.wanda < 1.0)) {
    return invalid(strprintf("compare: Wanda share %g is not in [0, 1)", options.wanda));
  }
  std::error_code ec;
  if (fs::exists(options.out, ec) && !fs::is_empty(options.out, ec)) {
    return write_error(options.out.string() + ": already exists and is not empty");
  }
  return hc::Ok{};
}

// The variants compared: the given ones, or one per method with the common switches.
std::vector<hc::Variant> variants_of(const CompareOptions& options) {
  if (!options.variants.empty()) return options.variants;
  std::vector<hc::Variant> variants = hc::method_variants(
      options.methods.empty() ? hc::supported_methods(*options.stats) : options.methods,
      options.selection, options.complex, options.random_seeds);
  for (auto& v : variants) v.mode = options.mode;
  return variants;
}

std::string complex_key(const hc::ComplexOptions& c) {
  return hc::selection_params(hc::SelectionOptions{}, c).dump();
}

using Analyses = std::map<std::string, std::vector<hc::LayerAnalysis>>;

std::map<int, std::vector<int>> kept_experts(const hc::Plan& plan) {
  std::map<int, std::vector<int>> kept;
  for (const auto& [layer, lp] : plan.layers) kept[layer] = lp.keep;
  return kept;
}

// One analysis per distinct complex (variants often share one), keyed by its switches, with
// orientation-averaged energies only where a variant ranks by them.
hc::Result<Analyses> analyze_variants(const CompareOptions& options,
                                      const std::vector<hc::Variant>& variants) {
  Analyses analyses;
  auto named = [&](const hc::Error& e) {
    return hc::make_error(e.code, options.stats_path + ": " + e.message);
  };
  for (const hc::Variant& v : variants) {
    const std::string key = complex_key(v.complex);
    if (!analyses.count(key)) {
      auto a = hc::analyze_file(*options.stats, v.complex);
      if (!a.ok()) return named(a.error());
      analyses.emplace(key, std::move(a).value());
    }
    if (v.selection.harmonic_target != hc::HarmonicTarget::Expected) continue;
    for (hc::LayerAnalysis& layer : analyses.at(key)) {
      if (hc::Status s = hc::ensure_expected(layer); !s) return named(s.error());
    }
  }
  return analyses;
}

// One comparison run: applies and scores every row into a staging directory.
class Comparison {
 public:
  Comparison(const CompareOptions& options, const CompareProgress& progress, fs::path root,
             Evaluator& evaluator, Evaluator* selector, CompareReport& report)
      : m_options(options),
        m_progress(progress),
        m_root(std::move(root)),
        m_evaluator(evaluator),
        m_selector(selector),
        m_report(report) {}

  void set_total(std::size_t total) { m_total = total; }

  // Every Wanda setting of one variant at one ratio.
  hc::Status run_variant(double ratio, const hc::Variant& variant,
                         const std::vector<hc::LayerAnalysis>& analyses,
                         const std::vector<double>& wandas) {
    hc::SelectionOptions selection = variant.selection;
    selection.keep = -1;
    selection.ratio = ratio;
    if (variant.mode) selection.mode = *variant.mode;
    auto keep = hc::keep_count(m_options.stats->layers.front().experts, selection);
    // A method whose data the file lacks (loo without expert_loo) is a "not run" row that
    // gives the file-level reason.
    const hc::Status supported = hc::method_supported(*m_options.stats, selection.method);
    auto outcome = supported.ok()
                       ? hc::select_file(*m_options.stats, analyses, selection, variant.complex)
                       : hc::Result<hc::SelectionOutcome>(supported.error());

    CompareRow base;
    base.variant = variant.name;
    base.output_scale = variant.output_scale;
    base.method = hc::method_name(selection.method);
    base.ratio = ratio;
    base.keep = keep.ok() ? *keep : 0;
    if (outcome.ok()) {
      base.mode = hc::reduction_mode_name(plan_mode(outcome->plan));
      base.retained = hc::mean_retained(outcome->retained);
      base.plan = "plans/" + row_name(base.variant, ratio, 0) + ".json";
      base.kept = kept_experts(outcome->plan);
      HC_TRY_STATUS(write_text_atomic(m_root / base.plan,
                                      json_text(hc::plan_to_json(outcome->plan), 2) + "\n"));
    } else {
      base.mode = hc::reduction_mode_name(selection.mode);
      base.error = outcome.error().message;
    }
    for (double wanda : wandas) {
      CompareRow row = base;
      row.wanda = wanda;
      const hc::Plan* plan = outcome.ok() ? &outcome->plan : nullptr;
      HC_TRY_STATUS(add_row(row, plan, variant.output_scale, variant.gate_correction));
    }
    return hc::Ok{};
  }

  // Each ratio's lowest-KL corrected row without Wanda, again with the correction off (a row
  // "<variant>+gate-off"), unless the report already has that plan uncorrected.
  hc::Status run_gate_baselines() {
    const std::size_t rows = m_report.rows.size();
    for (double ratio : ratios_of(m_report.rows)) {
      std::optional<std::size_t> best;
      for (std::size_t i = 0; i < rows; ++i) {
        const CompareRow& row = m_report.rows[i];
        if (!ran(row) || row.ratio != ratio || row.wanda > 0 || row.gate_correction == "off" ||
            row.output_scale != 1.0 || row.plan.empty())
          continue;
        if (!best || row.kl < m_report.rows[*best].kl) best = i;
      }
      if (!best) continue;
      const CompareRow chosen = m_report.rows[*best];
      bool have = false;
      for (const CompareRow& row : m_report.rows) {
        have = have || (ran(row) && row.gate_correction == "off" && row.output_scale == 1.0 &&
                        row.method == chosen.method && row.mode == chosen.mode &&
                        row.ratio == ratio && row.wanda == 0 && row.kept == chosen.kept);
      }
      if (have) continue;
      std::vector<std::uint8_t> bytes;
      HC_TRY_STATUS(read_file(m_root / chosen.plan, bytes));
      auto plan = hc::parse_plan(std::string(bytes.begin(), bytes.end()), chosen.plan);
      if (!plan.ok()) return plan.error();
      CompareRow row = chosen;
      row.variant = chosen.variant + "+gate-off";
      row.checkpoint.clear();
      row.chosen = row.frontier = false;
      ++m_total;
      HC_TRY_STATUS(add_row(row, &*plan, 1.0, "off"));
    }
    return hc::Ok{};
  }

  // A control: every expert kept, only Wanda.
  hc::Status run_wanda_only(double wanda, const std::vector<hc::LayerAnalysis>& analyses) {
    hc::SelectionOptions all;
    all.method = hc::Method::Frequency;
    all.keep = m_options.stats->layers.front().experts;
    auto outcome = hc::select_file(*m_options.stats, analyses, all, m_options.complex);
    if (!outcome.ok()) return outcome.error();
    CompareRow row;
    row.variant = "wanda-only";
    row.method = "none";
    row.mode = "prune";
    row.ratio = 0.0;
    row.keep = all.keep;
    row.wanda = wanda;
    row.retained = hc::mean_retained(outcome->retained);
    row.kept = kept_experts(outcome->plan);
    return add_row(row, &outcome->plan, 1.0);
  }

 private:
  // Scores one row (unless its plan failed), records it and applies the keep policy.
  hc::Status add_row(CompareRow& row, const hc::Plan* plan, double output_scale,
                     const std::string& gate_correction = "") {
    const std::string name = row_name(row.variant, row.ratio, row.wanda);
    if (m_progress) m_progress(m_done, m_total, name);
    GateCorrection gate = m_options.gate_correction;
    if (!gate_correction.empty()) {
      auto parsed = parse_gate_correction(gate_correction);
      if (!parsed.ok()) return parsed.error();
      gate = *parsed;
    }
    if (plan != nullptr) HC_TRY_STATUS(score_row(row, *plan, name, output_scale, gate));
    m_report.rows.push_back(row);
    keep_policy(m_report.rows.size() - 1);
    ++m_done;
    if (m_progress) m_progress(m_done, m_total, name);
    return hc::Ok{};
  }

  // Applies one plan and scores it; a plan the model cannot take becomes the row's error.
  hc::Status score_row(CompareRow& row, const hc::Plan& plan, const std::string& name,
                       double output_scale, GateCorrection gate) {
    const auto start = std::chrono::steady_clock::now();
    ApplyOptions apply;
    apply.model = m_options.model;
    apply.out = m_root / "checkpoints" / name;
    apply.mode = plan_mode(plan) == hc::ReductionMode::Merge ? ApplyMode::Merge : ApplyMode::Prune;
    apply.wanda = row.wanda;
    apply.output_scale = output_scale;
    apply.gate_correction = gate;
    auto summary = apply_plan(apply, plan, m_options.stats);
    if (!summary.ok()) {
      if (summary.error().code != hc::ErrorCode::InvalidArgument) return summary.error();
      row.error = summary.error().message;
    } else {
      m_report.reference_parameters = summary->parameters_before;
      row.gate_correction = gate_correction_name(summary->gate.applied);
      row.parameters = summary->parameters_after;
      row.nonzero_parameters = summary->parameters_after - summary->wanda_zeros;
      auto scores = m_evaluator.evaluate(apply.out);
      if (!scores.ok()) return scores.error();
      row.perplexity = scores->perplexity;
      row.nll = scores->nll;
      row.kl = scores->kl;
      row.top1_agreement = scores->top1_agreement;
      row.sequence_kl = scores->sequence_kl;
      if (m_selector != nullptr) {
        auto chosen = m_selector->evaluate(apply.out);
        if (!chosen.ok()) return chosen.error();
        row.select_kl = chosen->kl;
        row.select_sequence_kl = chosen->sequence_kl;
      }
      row.checkpoint = "checkpoints/" + name;
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return hc::Ok{};
  }

  // Deletes checkpoints the user does not keep: all but the best per ratio, or all.
  void keep_policy(std::size_t index) {
    CompareRow& added = m_report.rows[index];
    if (added.checkpoint.empty() || m_options.keep == KeepCheckpoints::All) return;
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::size_t drop = index;
    if (m_options.keep == KeepCheckpoints::Best) {
      const auto group = std::make_pair(added.ratio, 0.0);  // best per ratio, Wanda or not
      const auto it = m_best_by_group.find(group);
      if (it == m_best_by_group.end()) {
        drop = kNone;
        m_best_by_group[group] = index;
      } else if (added.kl < m_report.rows[it->second].kl) {
        drop = it->second;
        it->second = index;
      }
    }
    if (drop == kNone) return;
    CompareRow& dropped = m_report.rows[drop];
    std::error_code ec;
    remove_tree(m_root / dropped.checkpoint, ec);
    dropped.checkpoint.clear();
  }

  const CompareOptions& m_options;
  const CompareProgress& m_progress;
  fs::path m_root;
  Evaluator& m_evaluator;
  Evaluator* m_selector;
  CompareReport& m_report;
  std::size_t m_done = 0, m_total = 0;
  std::map<std::pair<double, double>, std::size_t> m_best_by_group;  // kept best checkpoint
};

// The report's header fields from the options.
CompareReport report_header(const CompareOptions& options) {
  CompareReport report;
  report.model = options.model.string();
  report.stats = options.stats_path;
  report.data = options.data;
  report.sequences = options.sequences.size();
  report.seq_len = options.seq_len;
  report.device = device_text(options.device);
  report.complex = hc::describe_complex(options.complex);
  report.checkpoints = keep_checkpoints_name(options.keep);
  report.experts = options.stats->layers.front().experts;
  report.select_data = options.select_data;
  return report;
}

// Writes report.json, report.md and its figures into the staging root, then renames it into
// place.
hc::Status write_report(const CompareOptions& options, CompareReport& report, StagingDir& staging) {
  const fs::path root = staging.path();
  annotate_report(report);
  std::error_code ec;
  fs::create_directories(root / "figures", ec);
  if (ec) return write_error((root / "figures").string() + ": " + ec.message());
  for (const CompareFigure& figure : compare_figures(report))
    HC_TRY_STATUS(write_text_atomic(root / figure.file, figure.svg));
  HC_TRY_STATUS(
      write_text_atomic(root / "report.json", json_text(compare_report_json(report), 2) + "\n"));
  HC_TRY_STATUS(write_text_atomic(root / "report.md", compare_report_markdown(report)));
  if (fs::exists(options.out, ec)) fs::remove(options.out, ec);  // empty (checked before)
  fs::rename(root, options.out, ec);
  if (ec) {
    return write_error(options.out.string() +
                       ": cannot rename the finished report: " + ec.message());
  }
  staging.release();
  return hc::Ok{};
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
    case KeepCheckpoints::None:
      return "none";
    case KeepCheckpoints::Best:
      return "best";
    case KeepCheckpoints::All:
      return "all";
  }
  return "best";
}

hc::Result<CompareReport> run_comparison(const CompareOptions& options,
                                         const CompareProgress& progress) {
  HC_TRY_STATUS(check_options(options));
  const std::vector<hc::Variant> variants = variants_of(options);
  std::vector<double> wandas{0.0};
  if (options.wanda > 0) wandas.push_back(options.wanda);
  auto analyses = analyze_variants(options, variants);
  if (!analyses.ok()) return analyses.error();

  auto staging = StagingDir::beside(options.out);
  if (!staging.ok()) return staging.error();
  const fs::path root = staging->path();
  std::error_code ec;
  fs::create_directories(root / "plans", ec);
  fs::create_directories(root / "checkpoints", ec);
  if (ec) return write_error(root.string() + ": " + ec.message());

  CompareReport report = report_header(options);
  const std::size_t total =
      options.ratios.size() * variants.size() * wandas.size() + options.wanda_only.size();
  if (progress) progress(0, total, "original model");
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

  Comparison comparison(options, progress, root, *evaluator, selector ? &*selector : nullptr,
                        report);
  comparison.set_total(total);
  for (double ratio : options.ratios) {
    for (const hc::Variant& variant : variants) {
      HC_TRY_STATUS(comparison.run_variant(ratio, variant,
                                           analyses->at(complex_key(variant.complex)), wandas));
    }
  }
  if (options.gate_baselines) HC_TRY_STATUS(comparison.run_gate_baselines());
  for (double wanda : options.wanda_only) {
    HC_TRY_STATUS(comparison.run_wanda_only(wanda, analyses->begin()->second));
  }
  HC_TRY_STATUS(write_report(options, report, *staging));
  return report;
}

}  // namespace hc::native
