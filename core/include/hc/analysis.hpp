// Whole-file analysis: build, decompose and select every layer, and the JSON reports the CLI
// and the dashboard's JavaScript API print (docs/CLI.md).
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "hc/complex.hpp"
#include "hc/hodge.hpp"
#include "hc/hodge_expected.hpp"
#include "hc/plan.hpp"
#include "hc/result.hpp"
#include "hc/selection.hpp"
#include "hc/stats_file.hpp"

namespace hc {

struct LayerAnalysis {
  int layer = 0;
  Complex complex;
  HodgeDecomposition hodge;
  // Orientation-averaged per-edge energies (selection ranks by them with --harmonic-target
  // expected). Computed on demand (ensure_expected, or by selection), since heavily filled layers
  // make them cost several decompositions.
  std::optional<ExpectedEnergies> expected;
  // Files with directed substitution barriers (format 1.3): the gradient share of the
  // antisymmetric substitution flow's energy (substitution_flow), else empty.
  std::optional<double> flow_gradient_share;
};

// Decomposes one layer.
Result<LayerAnalysis> analyze_layer(const LayerStats& layer, const ComplexOptions& options,
                                    const HodgeOptions& hodge = {});

// Decomposes one layer again (the τ slider), warm-started from `previous`, an earlier analysis
// of the same layer (hodge_decompose's warm overload: same result to the solver tolerance).
Result<LayerAnalysis> reanalyze_layer(const LayerStats& layer, const ComplexOptions& options,
                                      const LayerAnalysis& previous,
                                      const HodgeOptions& hodge = {});

// Fills analysis.expected if it is empty.
Status ensure_expected(LayerAnalysis& analysis);

// Decomposes every layer, or only `only_layer` when set (InvalidArgument if absent).
Result<std::vector<LayerAnalysis>> analyze_file(const StatsFile& stats,
                                                const ComplexOptions& options,
                                                std::optional<int> only_layer = std::nullopt);

// One layer of `decompose --json`: {"layer","experts","tau","edges","filled_triangles","betti",
// "signal","gradient","curl","harmonic","energy":{"gradient","curl","harmonic"},
// "expected":{"gradient","curl","harmonic" (per edge),"sampled"},
// "expected_energy":{"gradient","curl","harmonic"}, and, for format 1.3 files,
// "substitution_flow":{"gradient_share"}}. The oriented parts follow the complex's
// orientation; the expected ones are averaged over all orientations (ranked by --harmonic-target
// expected).
nlohmann::json decomposition_json(const LayerAnalysis& analysis);

struct SelectionOutcome {
  Plan plan;
  std::map<int, RetainedMasses> retained;  // by layer
};

// Selects every analysed layer with one method; the retained masses are always measured on
// the HodgeCover targets so methods are comparable.
Result<SelectionOutcome> select_file(const StatsFile& stats,
                                     const std::vector<LayerAnalysis>& analyses,
                                     const SelectionOptions& options,
                                     const ComplexOptions& complex);

// Plan JSON plus "retained":{"L":{"gradient","curl","harmonic","triangle"}}.
nlohmann::json selection_json(const SelectionOutcome& outcome);

}  // namespace hc
