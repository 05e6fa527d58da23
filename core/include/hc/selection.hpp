// Expert selection per layer: HodgeCover (docs/METHOD.md), the baselines (docs/METHOD.md) and the
// retained Hodge masses of any survivor set.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hc/complex.hpp"
#include "hc/hodge.hpp"
#include "hc/hodge_expected.hpp"
#include "hc/result.hpp"
#include "hc/stats_file.hpp"

namespace hc {

// Loo ranks on the file's leave-one-out scores (LayerStats::loo, format 1.1), Substitute and
// HodgeRank on the directed substitution barriers (LayerStats::substitution, format 1.3), which
// older and synthetic files lack: see method_supported.
enum class Method {
  HodgeCover,
  Frequency,
  Reap,
  Ean,
  Loo,
  Random,
  Pairwise,
  HcSmoe,
  Substitute,
  HodgeRank
};
enum class VertexScore { Reap, Frequency, None };
// How the greedy credits a triangle that is not yet covered. Partial: each kept vertex earns
// w_t / cover_tri up to cover_tri (monotone submodular surrogate; never blind to the first
// vertex of an irreducible triple). Binary: only the vertex that completes coverage earns w_t.
enum class TriangleCredit { Partial, Binary };
enum class ReductionMode { Prune, Merge };
// Which per-edge harmonic energy ranks HodgeCover's critical edges. Expected: averaged over
// every edge orientation (hodge_expected.hpp), so renumbering experts only renumbers the plan.
// Oriented: the squared harmonic part under the complex's orientation (the first reading;
// depends on expert numbering under --orientation index; kept to reproduce earlier results).
enum class HarmonicTarget { Expected, Oriented };

const char* method_name(Method m);
Result<Method> parse_method(const std::string& s);
Result<VertexScore> parse_vertex_score(const std::string& s);
const char* vertex_score_name(VertexScore s);
Result<TriangleCredit> parse_triangle_credit(const std::string& s);
Result<ReductionMode> parse_reduction_mode(const std::string& s);
Result<HarmonicTarget> parse_harmonic_target(const std::string& s);
const char* harmonic_target_name(HarmonicTarget t);
const char* reduction_mode_name(ReductionMode m);
// Every method, in the order the CLI and the dashboard list them.
const std::vector<Method>& all_methods();

// Whether the layer carries the statistics method `m` ranks on: InvalidArgument saying which
// tensor is missing otherwise (only loo needs one that files before format 1.1 lack).
// select_layer returns the same error, prefixed with the layer.
Status method_supported(const LayerStats& layer, Method m);
// The same for every layer of a file; the error names the layers that lack the data unless all do.
Status method_supported(const StatsFile& stats, Method m);
// all_methods() less those the file lacks data for, in the same order: the default for
// listings that run every method (select --compare, compare).
std::vector<Method> supported_methods(const StatsFile& stats);

struct SelectionOptions {
  Method method = Method::HodgeCover;
  int keep = -1;           // experts kept per layer; when < 0, `ratio` is used
  double ratio = 0.5;      // fraction removed: keep = E - round(ratio * E)
  std::uint64_t seed = 0;  // for Method::Random
  double rho_h = 0.8;      // harmonic-critical edge mass share
  double rho_t = 0.8;      // triplet-critical excess share
  int cover_tri = 2;       // vertices of a triangle that must survive to cover it
  // λ_t = 0 by default: on calibration text of all three bundled models the triangle term
  // only cost KL (docs/results.md); the triangle machinery stays available as a switch.
  double lambda_e = 1.0, lambda_t = 0.0, lambda_v = 1.0;
  VertexScore vertex_score = VertexScore::Reap;
  TriangleCredit triangle_credit = TriangleCredit::Partial;
  ReductionMode mode = ReductionMode::Prune;  // recorded in the plan; hcsmoe implies Merge
  // The complex's fill rule (the Complex does not record it): under Sum the triplet excess is
  // taken against b_ij + b_ik + b_jk instead of the largest pair barrier.
  FillRule fill = FillRule::Tau;
  // Oriented by default, with the complex oriented by REAP (ComplexOptions): the best reading
  // on calibration text (docs/results.md), and equivariant because the orientation comes
  // from the experts, not their numbers.
  HarmonicTarget harmonic_target = HarmonicTarget::Oriented;
};

// InvalidArgument when an option is out of range: rho_h/rho_t outside [0,1], cover_tri
// outside 1..3, a negative or non-finite lambda, or (when keep < 0) a ratio outside [0,1).
Status validate_selection_options(const SelectionOptions& options);

// Experts kept for a layer of E experts under the options (InvalidArgument if out of 1..E).
Result<int> keep_count(int experts, const SelectionOptions& options);

// Weighted coverage targets of one layer (docs/METHOD.md). Weights are normalised to sum 1.
struct CoverageTargets {
  std::vector<std::array<int, 2>> edges;  // critical edges (expert ids)
  std::vector<double> edge_weight;
  std::vector<std::array<int, 3>> triangles;  // critical triangles (expert ids, ascending)
  std::vector<double> triangle_weight;
  std::vector<double> vertex_weight;  // [E] normalised vertex score (zeros for None)
  // Per-edge energies (complex edge order) the targets were ranked on, and that retained_masses
  // measures: orientation-averaged under HarmonicTarget::Expected, the squared parts of the
  // decomposition otherwise. Empty for targets not built by hodgecover_targets.
  Eigen::VectorXd energy_gradient, energy_curl, energy_harmonic;
};

// HodgeCover targets: harmonic-critical edges (per options.harmonic_target: from `expected`,
// computed here when null, or from `hodge`) and triplet-critical triangles from the layer's
// candidate triangles (excess against max pair barrier, or the pair sum under FillRule::Sum).
CoverageTargets hodgecover_targets(const LayerStats& layer, const Complex& complex,
                                   const HodgeDecomposition& hodge, const SelectionOptions& options,
                                   const ExpectedEnergies* expected = nullptr);
// Pairwise ablation targets: edges by raw barrier, no triangles.
CoverageTargets pairwise_targets(const LayerStats& layer, const Complex& complex,
                                 const SelectionOptions& options);

// Objective F(S) with binary triangle coverage (docs/METHOD.md) and its partial-credit surrogate.
double coverage_objective(const CoverageTargets& targets, const std::vector<int>& kept,
                          const SelectionOptions& options, TriangleCredit credit);

// Greedy maximisation; returns the kept experts sorted ascending. Ties: larger vertex weight,
// then lower index; gains within 1e-12 * (lambda_e + lambda_t + lambda_v) count as tied, so
// rounding in the incremental gain updates never decides. Deterministic.
std::vector<int> greedy_cover(const CoverageTargets& targets, int experts, int keep,
                              const SelectionOptions& options);

struct LayerPlan {
  int layer = 0;
  std::vector<int> keep;          // ascending
  std::map<int, int> merge_into;  // dropped expert -> survivor with smallest barrier to it
};

// Selects one layer with any method. For HodgeCover the complex and its decomposition are
// required (pass the ones built with the same switches); other methods ignore hodge.
// `hodge_targets`, when given, must be hodgecover_targets(layer, complex, hodge, options); callers
// that also need them for retained masses pass them so they are computed once. A layer without
// the method's data (method_supported) is an InvalidArgument error, never a plan.
Result<LayerPlan> select_layer(const LayerStats& layer, const Complex& complex,
                               const HodgeDecomposition& hodge, const SelectionOptions& options,
                               const CoverageTargets* hodge_targets = nullptr);

// `substitute`: the kept set S (|S| = keep) minimising the cost of the dropped experts' best
// kept substitutes, sum over i not in S of min_{j in S} d(i -> j) (docs/METHOD.md §6). Each
// d(i -> j) is already a sum over expert i's routed tokens with i's gates, so an expert's
// routed weight is in its costs. Exact (every keep set) when there are at most 200 000 of them,
// else greedy (each step keeps the expert that lowers the total most) then single exchanges to a
// local optimum, with no approximation guarantee for this asymmetric cost (tests compare it with
// exhaustive search). Deterministic; ties to the lower index. `substitute` maps each dropped
// expert to its kept substitute (the merge plan).
enum class SubstituteSearch { Auto, LocalSearch };  // LocalSearch: never exhaustive (tests)
struct SubstitutePlan {
  std::vector<int> keep;          // ascending
  std::map<int, int> substitute;  // dropped -> argmin_{j in S} d(i -> j)
  double cost = 0.0;
  bool exact = false;  // found by exhaustive search
};
SubstitutePlan substitute_selection(const LayerStats& layer, int keep,
                                    SubstituteSearch search = SubstituteSearch::Auto);

// HodgeRank on the antisymmetric substitution flow F_ij = d(i -> j) - d(j -> i) over the
// complete graph: hardness_i = mean_j F_ij (high: costly to replace, easy to substitute for
// others), whose differences h_i - h_j are F's gradient part; energies over the pairs i < j.
struct SubstitutionFlow {
  std::vector<double> hardness;  // [E]
  double energy = 0.0;           // |F|^2
  double gradient_energy = 0.0;  // |grad F|^2
  double gradient_share() const { return energy > 0 ? gradient_energy / energy : 0.0; }
};
SubstitutionFlow substitution_flow(const LayerStats& layer);

// For every dropped expert, the survivor with the smallest pair barrier (ties: lower id).
std::map<int, int> nearest_survivor(const LayerStats& layer, const std::vector<int>& keep);

// Average-linkage clustering of experts on the pair-barrier matrix into k clusters (missing
// pairs count as the layer's largest barrier). Returns a cluster id per expert, 0..k-1,
// numbered by smallest member.
std::vector<int> average_linkage_clusters(const LayerStats& layer, int k);

// Share of each Hodge mass carried by elements the survivor set covers: edges with an endpoint
// kept; critical triangles with >= cover_tri vertices kept. Edge energies are the targets'
// (orientation-averaged by default), or the decomposition's when the targets carry none. Each
// in [0,1]; a component with (numerically) zero mass reports 1: nothing of it can be lost.
struct RetainedMasses {
  double gradient = 1, curl = 1, harmonic = 1, triangle = 1;
};
RetainedMasses retained_masses(const Complex& complex, const HodgeDecomposition& hodge,
                               const CoverageTargets& hodge_targets, const std::vector<int>& kept,
                               int cover_tri);

// Mean of each retained mass over the layers of a selection (all 1 when there are none).
RetainedMasses mean_retained(const std::map<int, RetainedMasses>& by_layer);

}  // namespace hc
