// The methods × ratios × Wanda comparison (docs/METHOD.md): every selection method at several
// removal ratios, each plan applied (with and without Wanda) and scored against the original on the
// same held-out sequences.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hc/complex.hpp"
#include "hc/native/compare_report.hpp"
#include "hc/native/gate_correction.hpp"
#include "hc/result.hpp"
#include "hc/selection.hpp"
#include "hc/stats_file.hpp"
#include "hc/variants.hpp"

namespace hc::native {

enum class KeepCheckpoints { None, Best, All };
hc::Result<KeepCheckpoints> parse_keep_checkpoints(const std::string& s);
const char* keep_checkpoints_name(KeepCheckpoints k);

struct CompareOptions {
  std::filesystem::path model;  // original checkpoint (never modified)
  std::filesystem::path out;    // new directory: report.json, report.md, plans/, checkpoints/
  const hc::StatsFile* stats = nullptr;              // the model's statistics (from `extract`)
  std::string stats_path;                            // for the report
  std::vector<std::vector<std::int32_t>> sequences;  // held-out sequences (>= 2 tokens each)
  std::string data;                                  // their description, for the report
  std::size_t seq_len = 0;
  at::Device device = at::Device(at::kCPU);
  // What to compare: `variants` when given (names unique), else one variant per method of
  // `methods` (empty: every method) with `complex`/`selection`, random as `random_seeds` seeds.
  std::vector<hc::Variant> variants;
  std::vector<hc::Method> methods;
  int random_seeds = 1;
  // Optional selection text: every compressed model is also scored on these sequences, and
  // per ratio and Wanda setting the variant with the lowest KL on them is marked chosen, so
  // choices are made on this text and reported on the held-out one.
  std::vector<std::vector<std::int32_t>> select_sequences;
  std::string select_data;
  // Controls: every expert kept, Wanda at each of these shares (rows named "wanda-only").
  std::vector<double> wanda_only;
  std::vector<double> ratios{0.25, 0.5, 0.75};
  double wanda = 0.5;  // each plan also with this Wanda share; 0: no Wanda rows
  // Reduction for every method; unset: each method's own (hcsmoe merges, the others prune).
  std::optional<hc::ReductionMode> mode;
  hc::ComplexOptions complex;
  hc::SelectionOptions selection;  // HodgeCover parameters and seed; method/budget set per row
  // Which compressed checkpoints stay in out/checkpoints: the lowest-KL one per ratio (Best),
  // every one, or none.
  KeepCheckpoints keep = KeepCheckpoints::Best;
  // apply's gate correction for every row (a variant's gate_correction key overrides it).
  GateCorrection gate_correction = GateCorrection::Auto;
  // Also score each ratio's lowest-KL corrected plan (without Wanda) with the correction off,
  // as a row "<variant>+gate-off", so the report's gate section shows what the correction did.
  bool gate_baselines = false;
};

// (rows done, rows in all, the row about to run or just finished, as "method r50 wanda50").
using CompareProgress =
    std::function<void(std::size_t done, std::size_t total, const std::string&)>;

// Runs the comparison and writes options.out atomically (a temporary sibling renamed at the
// end; nothing is left behind on failure). A row whose plan cannot be applied (e.g. it keeps
// fewer experts than top-k, or a count grouped routing cannot divide) is reported with its
// reason instead of scores; model, I/O and data problems fail the whole run.
hc::Result<CompareReport> run_comparison(const CompareOptions& options,
                                         const CompareProgress& progress = {});

}  // namespace hc::native
