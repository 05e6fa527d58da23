// The merge operator, defined once: a group of experts becomes one expert whose weights (and
// biases) are the routing-frequency-weighted mean of its members' (docs/METHOD.md §7).
// Extraction measures barriers with it; apply writes merged experts with it.
#pragma once

#include <span>
#include <vector>

#include "hc/selection.hpp"

namespace hc {

// π_m = f_m / Σ f over the group, or uniform when no member was routed (Σ f = 0).
std::vector<double> merge_coefficients(std::span<const double> frequencies);

// The members whose weights form kept expert `survivor`: the survivor first, then the dropped
// experts plan.merge_into sends to it (ascending).
std::vector<int> merge_group(const LayerPlan& plan, int survivor);

// acc[j] += coefficient · member[j] (same lengths): one member at a time, in double.
void merge_accumulate(std::span<double> acc, std::span<const float> member, double coefficient);

// out[j] = Σ_m coefficients[m] · rows[m][j] for equally long member rows, accumulated in double.
std::vector<double> merge_rows(std::span<const std::span<const float>> rows,
                               std::span<const double> coefficients);

}  // namespace hc
