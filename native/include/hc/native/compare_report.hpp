// The methods × ratios × Wanda comparison report (`hodgecover compare`, `demo`): one row per
// compressed model, written as JSON (format "hodgecover.compare") and as markdown tables.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hc/bootstrap.hpp"
#include "hc/selection.hpp"

namespace hc::native {

struct CompareRow {
  std::string variant;          // variant name (the method's name for the built-in list)
  std::string method;           // selection method name
  std::string mode;             // prune or merge (as applied)
  double ratio = 0.0;           // share of experts removed per layer
  int keep = 0;                 // experts kept per MoE layer
  double wanda = 0.0;           // share of each surviving expert row zeroed (0: none)
  std::string gate_correction;  // apply's gate correction as applied (off, linear, mass)
  double output_scale = 1.0;    // the variant's fixed output scale (1: none)
  hc::RetainedMasses retained;  // mean over layers, measured on the HodgeCover targets
  std::string plan;             // plan file, relative to the report's directory
  // The plan's kept experts (ascending) per transformer layer; empty when the plan failed.
  std::map<int, std::vector<int>> kept;
  std::string checkpoint;  // kept checkpoint, relative; empty when not kept
  // Empty when the row ran; otherwise why not (e.g. the budget keeps fewer than top-k), and
  // the scores below are meaningless.
  std::string error;
  double perplexity = 0.0, nll = 0.0, kl = 0.0, top1_agreement = 0.0;
  std::uint64_t parameters = 0;            // stored elements of the compressed checkpoint
  std::uint64_t nonzero_parameters = 0;    // parameters minus the Wanda zeros
  double seconds = 0.0;                    // apply + evaluation
  std::vector<double> sequence_kl;         // KL summed per held-out sequence (not serialised)
  std::vector<double> select_sequence_kl;  // the same on the selection text (--select-on)
  double select_kl = std::nan("");         // mean KL on the selection text; NaN without one

  // Filled by annotate_report.
  std::optional<hc::Interval> kl_interval;  // 95% bootstrap interval of the held-out KL
  // Paired 95% interval of (this KL − the lowest KL) in the same ratio and Wanda group; a row
  // whose interval reaches 0 is indistinguishable from the best on this data.
  std::optional<hc::Interval> vs_best;
  bool chosen = false;    // lowest selection-text KL in its (ratio, Wanda) group
  bool frontier = false;  // no other row keeps no more parameters with a lower KL
};

// Spearman rank correlation, over the plans of one ratio (without Wanda), between KL and each
// retained Hodge mass and the smallest of the four. Negative: keeping more of it goes with a
// lower KL.
struct MassCorrelation {
  double ratio = 0.0;
  int plans = 0;
  double gradient = 0, curl = 0, harmonic = 0, triangle = 0, smallest = 0;
};

// What a gate correction did to one plan: the corrected row against the same plan uncorrected
// (and, when the report has them and a selection text, against the fixed output scale chosen
// on that text), with paired 95% intervals over held-out sequences.
struct GateEffect {
  double ratio = 0.0, wanda = 0.0;
  std::string variant, method, gate;  // the corrected row and its correction
  std::string baseline;               // the same plan uncorrected
  double kl = 0.0, kl_off = 0.0;
  std::optional<hc::Interval> vs_off;  // corrected − uncorrected
  std::string scaled;                  // the chosen fixed-scale row (empty: none)
  double scale = 1.0, kl_scaled = std::nan("");
  std::optional<hc::Interval> vs_scaled;  // corrected − fixed scale
};

struct CompareReport {
  std::string model;  // original checkpoint
  std::string stats;  // statistics file the plans came from
  std::string data;   // held-out data description
  std::size_t tokens = 0, sequences = 0, seq_len = 0;
  std::string device;
  std::string complex;      // complex switches, as text
  std::string checkpoints;  // which checkpoints were kept: none, best or all
  int experts = 0;          // experts per MoE layer of the original (0: unknown)
  double reference_perplexity = 0.0, reference_nll = 0.0;
  std::uint64_t reference_parameters = 0;
  std::vector<CompareRow> rows;
  std::vector<std::size_t> sequence_tokens;         // predicted positions per held-out sequence
  std::string select_data;                          // selection text (empty: none)
  std::vector<std::size_t> select_sequence_tokens;  // its positions per sequence
  std::vector<MassCorrelation> correlations;        // filled by annotate_report
  std::vector<GateEffect> gate_effects;             // filled by annotate_report
};

// True when the row was applied and scored (no error, finite KL).
bool ran(const CompareRow& row);
// An interval as {"estimate", "low", "high"} (null when absent), and as "low … high".
nlohmann::json interval_json(const std::optional<hc::Interval>& i);
std::string interval_text(const std::optional<hc::Interval>& i, const char* format);

// The distinct removal ratios of the rows, in the order they first appear.
std::vector<double> ratios_of(const std::vector<CompareRow>& rows);

// Share of the original parameters a row stores and keeps non-zero (1 without a reference).
double kept_share(const CompareReport& report, const CompareRow& row);

// Fills the intervals, the chosen rows, the frontier, the correlations and the gate effects
// from the rows.
void annotate_report(CompareReport& report);

// Gate effects (compare_gate.cpp): every ran row with a correction paired with the same plan
// uncorrected (same method, mode, ratio, Wanda and kept experts, output scale 1).
void annotate_gate_effects(CompareReport& report);
nlohmann::json gate_effects_json(const CompareReport& report);
void markdown_gate_effects(std::ostream& md, const CompareReport& report);

// {"format":"hodgecover.compare","version":1,"model",..,"reference":{..},"rows":[..]}; the
// scores of a row that did not run are null and its "error" says why; "kept" is the plan's
// {"layer":[experts..]} (null when the plan failed).
nlohmann::json compare_report_json(const CompareReport& report);

// One markdown table per ratio (rows by method, with and without Wanda), then the winners; links
// the figures of compare_figures (figures/*.svg beside it).
std::string compare_report_markdown(const CompareReport& report);

// Index of the row with the lowest KL among the rows that ran and match the filter
// (ratio, and wanda when given); none if no row qualifies.
std::optional<std::size_t> best_row(const std::vector<CompareRow>& rows, double ratio,
                                    std::optional<bool> with_wanda = std::nullopt);

}  // namespace hc::native
