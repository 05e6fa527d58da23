// Named selection variants (a method plus its switches) for ablations: `compare --variants`
// reads them from JSON, and the built-in method list is expressed the same way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hc/complex.hpp"
#include "hc/result.hpp"
#include "hc/selection.hpp"

namespace hc {

struct Variant {
  std::string name;                   // unique, as reported; [A-Za-z0-9_.+-] only
  SelectionOptions selection;         // method and switches (budget set per row)
  ComplexOptions complex;             // the complex the method sees
  std::optional<ReductionMode> mode;  // unset: the method's own (hcsmoe merges)
  // Applied, not selected: survivors' outputs scaled by this (a shrinkage control; see
  // native ApplyOptions::output_scale). 1 for every real method.
  double output_scale = 1.0;
  // Applied, not selected: apply's --gate-correction for this variant (auto, off, linear,
  // mass); empty: the comparison's own setting.
  std::string gate_correction;
};

// {"variants":[{"name":"...","method":"hodgecover","lambda_t":0.25,...},...]}. Keys besides
// name and method: mode, seed, rho_h, rho_t, cover_tri, lambda_e, lambda_t, lambda_v,
// vertex_score, triangle_credit, harmonic_target, tau_quantile, tau, orientation, edges, fill,
// output_scale (in (0, 10]), gate_correction (auto, off, linear or mass).
// Unset keys take `base_selection` / `base_complex`. Unknown keys, bad values, duplicate or
// unsafe names are InvalidArgument errors prefixed with `source`.
Result<std::vector<Variant>> parse_variants(const std::string& text, const std::string& source,
                                            const SelectionOptions& base_selection,
                                            const ComplexOptions& base_complex);

// One variant per method with the base switches, named after the method. `random_seeds` > 1
// turns random into that many variants "random.s0", "random.s1", ... (seeds 0..n-1).
std::vector<Variant> method_variants(const std::vector<Method>& methods,
                                     const SelectionOptions& base_selection,
                                     const ComplexOptions& base_complex, int random_seeds = 1);

}  // namespace hc
