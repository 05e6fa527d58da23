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
  if (options.ratios.empty()) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, "compare: no ratios");
  }
  for (double r : options.ratios) {
    if (!(r > 0.0 && r < 1.0)) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            strprintf("compare: ratio %g is not in (0, 1)", r));
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
  const std::vector<hc::Method> methods =
      options.methods.empty() ? hc::all_methods() : options.methods;
  std::vector<double> wandas{0.0};
  if (options.wanda > 0) wandas.push_back(options.wanda);

  auto analyses = hc::analyze_file(*options.stats, options.complex);
  if (!analyses.ok()) {
    return hc::make_error(analyses.error().code,
                          options.stats_path + ": " + analyses.error().message);
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

  const std::size_t total = options.ratios.size() * methods.size() * wandas.size();
  std::size_t done = 0;
  if (progress) progress(done, total, "original model");
  auto evaluator = Evaluator::open(options.model, options.sequences, options.device);
  if (!evaluator.ok()) return evaluator.error();
  report.tokens = evaluator->reference().tokens;
  report.reference_perplexity = evaluator->reference().perplexity;
  report.reference_nll = evaluator->reference().nll;

  std::map<double, std::size_t> best_by_ratio;  // row index of the kept best checkpoint
  for (double ratio : options.ratios) {
    for (hc::Method method : methods) {
      hc::SelectionOptions selection = options.selection;
      selection.method = method;
      selection.keep = -1;
      selection.ratio = ratio;
      if (options.mode) selection.mode = *options.mode;
      auto keep = hc::keep_count(options.stats->layers.front().experts, selection);
      auto outcome = hc::select_file(*options.stats, *analyses, selection, options.complex);

      CompareRow base;
      base.method = hc::method_name(method);
      base.ratio = ratio;
      base.keep = keep.ok() ? *keep : 0;
      std::string plan_file = "plans/" + row_name(base.method, ratio, 0) + ".json";
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
        const std::string name = row_name(row.method, ratio, wanda);
        if (progress) progress(done, total, name);
        if (row.error.empty()) {
          const auto start = std::chrono::steady_clock::now();
          ApplyOptions apply;
          apply.model = options.model;
          apply.out = root / "checkpoints" / name;
          apply.mode = plan_mode(outcome->plan) == hc::ReductionMode::Merge ? ApplyMode::Merge
                                                                             : ApplyMode::Prune;
          apply.wanda = wanda;
          auto summary = apply_plan(apply, outcome->plan, options.stats);
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
            row.checkpoint = "checkpoints/" + name;
          }
          row.seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
        report.rows.push_back(row);
        const std::size_t index = report.rows.size() - 1;

        // Keep the checkpoint only as the policy says.
        CompareRow& added = report.rows.back();
        if (!added.checkpoint.empty() && options.keep != KeepCheckpoints::All) {
          std::optional<std::size_t> drop = index;
          if (options.keep == KeepCheckpoints::Best) {
            const auto it = best_by_ratio.find(ratio);
            if (it == best_by_ratio.end() || added.kl < report.rows[it->second].kl) {
              drop = it == best_by_ratio.end() ? std::nullopt
                                               : std::optional<std::size_t>(it->second);
              best_by_ratio[ratio] = index;
            }
          }
          if (drop) {
            CompareRow& dropped = report.rows[*drop];
            remove_tree(root / dropped.checkpoint, ec);
            dropped.checkpoint.clear();
          }
        }
        ++done;
        if (progress) progress(done, total, name);
      }
    }
  }

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
