// Orders a layer's experts so similar ones sit together in the pair-matrix view: average-linkage
// hierarchical clustering of the pair barriers, leaves read off the dendrogram left to right.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace hc::ui {

// A permutation of 0..experts-1. Pairs missing from `edges` count as twice the largest barrier
// (far apart). Deterministic: ties merge the lowest-numbered clusters first, and the cluster
// holding the lower expert goes left.
std::vector<int> cluster_order(int experts, const std::vector<std::array<std::int32_t, 2>>& edges,
                               const std::vector<float>& barrier);

}  // namespace hc::ui
