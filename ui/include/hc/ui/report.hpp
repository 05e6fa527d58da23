// A comparison report read for the dashboard: report.json as written by `hodgecover compare` and
// `demo` (format "hodgecover.compare" version 1, docs/FORMAT.md), reduced to what the report
// views draw: one row per compressed model with its scores and the experts it kept per layer.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/result.hpp"

namespace hc::ui {

struct ReportRow {
  std::string variant;  // e.g. "hodgecover", "frequency", "random.s2"
  std::string method;
  std::string mode;   // prune or merge
  double ratio = 0;   // share of experts removed per layer (0: the Wanda-only control)
  int keep = 0;       // experts kept per layer
  double wanda = 0;   // share of each surviving row zeroed (0: none)
  std::string error;  // non-empty when the row did not run; its scores are NaN
  double perplexity = std::numeric_limits<double>::quiet_NaN();
  double kl = std::numeric_limits<double>::quiet_NaN();
  double top1 = std::numeric_limits<double>::quiet_NaN();
  double params_kept = std::numeric_limits<double>::quiet_NaN();  // share of the original's
  double kl_low = std::numeric_limits<double>::quiet_NaN();       // 95% interval, when given
  double kl_high = std::numeric_limits<double>::quiet_NaN();
  bool frontier = false;                 // no other row keeps fewer parameters with a lower KL
  bool chosen = false;                   // chosen on the selection text in its group
  std::map<int, std::vector<int>> kept;  // transformer layer -> kept experts (empty: not given)

  bool ran() const { return error.empty() && kl == kl; }
};

struct Report {
  std::string model, stats, data;  // as recorded by compare
  double reference_perplexity = std::numeric_limits<double>::quiet_NaN();
  std::vector<ReportRow> rows;
  std::vector<double> ratios;         // distinct removal ratios in first-appearance order
  std::vector<std::string> variants;  // distinct variant names in first-appearance order
};

// Parses report.json. InvalidArgument / FormatError naming `source` for anything that is not a
// version-1 comparison report (wrong format tag, missing rows, wrong field types, a negative or
// non-integer expert index). Missing optional fields (scores of failed rows, "kept" in reports
// written before it existed) are allowed.
Result<Report> parse_report(std::string_view text, const std::string& source);

// True when the bytes look like JSON (first non-blank byte '{', no zero byte in the first 64)
// rather than a statistics file (whose 8-byte length prefix may start with '{').
bool looks_like_json(std::span<const std::uint8_t> bytes);

// "hodgecover, 50% removed + Wanda 50%".
std::string row_label(const ReportRow& row);

// Index of the lowest-KL row that ran at `ratio` with (or without) Wanda, or -1.
int lowest_kl_row(const Report& report, double ratio, bool with_wanda);

}  // namespace hc::ui
