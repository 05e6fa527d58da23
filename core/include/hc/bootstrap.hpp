// Paired bootstrap over held-out sequences: confidence intervals for a model's mean KL and for
// the difference between two models scored on the same sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hc/result.hpp"

namespace hc {

struct Interval {
  double estimate = 0.0;         // on the full sample
  double low = 0.0, high = 0.0;  // percentile interval
  // True when the interval lies entirely above zero (for a difference: really worse).
  bool above_zero() const { return low > 0.0; }
};

struct BootstrapOptions {
  int resamples = 2000;
  double level = 0.95;
  std::uint64_t seed = 0x68636263ull;  // fixed: reports are reproducible
};

// Per-sequence sums (e.g. of KL over the sequence's positions) and position counts. The
// statistic is the position-weighted mean Σ sums / Σ tokens, resampling whole sequences with
// replacement. InvalidArgument for mismatched or empty inputs or a bad level.
Result<Interval> bootstrap_mean(const std::vector<double>& sums,
                                const std::vector<std::size_t>& tokens,
                                const BootstrapOptions& options = {});

// Mean of a minus mean of b over the same sequences, each resample drawing the same sequences
// for both (paired): differences between compressed models are far tighter than their
// separate intervals suggest, because hard sequences are hard for every model.
Result<Interval> bootstrap_paired_difference(const std::vector<double>& a_sums,
                                             const std::vector<double>& b_sums,
                                             const std::vector<std::size_t>& tokens,
                                             const BootstrapOptions& options = {});

}  // namespace hc
