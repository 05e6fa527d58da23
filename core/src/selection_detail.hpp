// Internal helpers shared by selection.cpp and baselines.cpp (not installed: core/src is not an
// include directory of hc_core's users).
#pragma once

#include <cstdint>
#include <vector>

#include "hc/selection.hpp"

namespace hc::detail {

// Dense symmetric pair-barrier matrix: E x E row-major, entry (i, j) = b_ij from the layer's
// edge list, `missing` where the pair is absent (or its barrier is not finite), 0 on the
// diagonal.
std::vector<double> pair_barrier_matrix(const LayerStats& layer, double missing);

// The `keep` experts with the largest score (ties: lower index), ascending. Experts beyond the
// score vector and non-finite scores rank last.
std::vector<int> top_experts(const std::vector<float>& score, int experts, int keep);

// A seeded uniform choice of `keep` of `experts`, ascending; identical on every platform.
// `stream` (the layer index) decorrelates layers that share one seed.
std::vector<int> random_experts(int experts, int keep, std::uint64_t seed, std::uint64_t stream);

// HC-SMoE-style merge plan: average-linkage clusters, each keeping its most frequent expert.
LayerPlan hcsmoe_plan(const LayerStats& layer, int keep);

}  // namespace hc::detail
