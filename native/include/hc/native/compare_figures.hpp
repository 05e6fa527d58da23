// SVG figures of the comparison report (`figures/` beside report.md), drawn by the project
// itself: the frontier of parameters kept against KL, KL and top-1 agreement per removal ratio,
// and the experts each variant keeps per layer.
#pragma once

#include <string>
#include <vector>

#include "hc/native/compare_report.hpp"

namespace hc::native {

struct CompareFigure {
  std::string file;  // relative to the report's directory, e.g. "figures/frontier.svg"
  std::string alt;   // what it shows, for the markdown image
  std::string svg;   // the whole document
};

// Where each figure goes, relative to the report's directory ("figures/ratio-25.svg").
std::string frontier_figure_file();
std::string ratio_figure_file(double ratio);
std::string keep_figure_file(double ratio);

// Parameters kept (x) against KL (y, log scale) for every row that ran: one
// <g class="series" data-series="VARIANT"> per variant (markers filled without Wanda, hollow
// with it), <g class="best"> rings on the lowest KL per ratio, a dashed <polyline
// class="frontier">. Rows not run or with KL <= 0 are left out and counted in the root's
// data-skipped (data-points: the markers drawn).
std::string frontier_svg(const CompareReport& report);

// KL and top-1 agreement of each variant at one ratio as horizontal bars, grouped by variant
// (<g class="bar-group" data-variant=..>), one bar per Wanda setting (<rect class="bar"
// data-metric="kl|top1" data-wanda=..>); rows not run say so instead of a bar.
std::string ratio_svg(const CompareReport& report, double ratio);

// Small multiples, one layers × experts grid per variant at one ratio
// (<g class="grid" data-variant=.. data-kept=N>, N the kept cells), kept cells filled.
std::string keep_svg(const CompareReport& report, double ratio);

// Every figure of the report: the frontier, then for each removal ratio > 0 its bars and grid.
// Deterministic text; no NaN or Inf is ever written, whatever the rows hold.
std::vector<CompareFigure> compare_figures(const CompareReport& report);

}  // namespace hc::native
