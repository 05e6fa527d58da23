// The methods × ratios × Wanda comparison report (`hodgecover compare`, `demo`): one row per
// compressed model, written as JSON (format "hodgecover.compare") and as markdown tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hc/selection.hpp"

namespace hc::native {

struct CompareRow {
  std::string method;   // selection method name
  std::string mode;     // prune or merge (as applied)
  double ratio = 0.0;   // share of experts removed per layer
  int keep = 0;         // experts kept per MoE layer
  double wanda = 0.0;   // share of each surviving expert row zeroed (0: none)
  hc::RetainedMasses retained;  // mean over layers, measured on the HodgeCover targets
  std::string plan;             // plan file, relative to the report's directory
  std::string checkpoint;       // kept checkpoint, relative; empty when not kept
  // Empty when the row ran; otherwise why not (e.g. the budget keeps fewer than top-k), and
  // the scores below are meaningless.
  std::string error;
  double perplexity = 0.0, nll = 0.0, kl = 0.0, top1_agreement = 0.0;
  std::uint64_t parameters = 0;          // stored elements of the compressed checkpoint
  std::uint64_t nonzero_parameters = 0;  // parameters minus the Wanda zeros
  double seconds = 0.0;                  // apply + evaluation
};

struct CompareReport {
  std::string model;        // original checkpoint
  std::string stats;        // statistics file the plans came from
  std::string data;         // held-out data description
  std::size_t tokens = 0, sequences = 0, seq_len = 0;
  std::string device;
  std::string complex;      // complex switches, as text
  std::string checkpoints;  // which checkpoints were kept: none, best or all
  double reference_perplexity = 0.0, reference_nll = 0.0;
  std::uint64_t reference_parameters = 0;
  std::vector<CompareRow> rows;
};

// {"format":"hodgecover.compare","version":1,"model",..,"reference":{..},"rows":[..]}; the
// scores of a row that did not run are null and its "error" says why.
nlohmann::json compare_report_json(const CompareReport& report);

// One markdown table per ratio (rows by method, with and without Wanda), then the winners.
std::string compare_report_markdown(const CompareReport& report);

// Index of the row with the lowest KL among the rows that ran and match the filter
// (ratio, and wanda when given); none if no row qualifies.
std::optional<std::size_t> best_row(const std::vector<CompareRow>& rows, double ratio,
                                    std::optional<bool> with_wanda = std::nullopt);

}  // namespace hc::native
