// Percentile bootstrap over sequences (resampled with replacement, seeded SplitMix64 so the
// same report comes out on every platform).
#include "hc/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "hc/synth.hpp"

namespace hc {
namespace {

Status check(std::size_t a, std::size_t b, std::size_t tokens, const BootstrapOptions& o) {
  if (a == 0 || a != b || a != tokens)
    return make_error(ErrorCode::InvalidArgument,
                      "bootstrap: per-sequence inputs are empty or differ in length");
  if (!(o.level > 0.0 && o.level < 1.0) || o.resamples < 10)
    return make_error(ErrorCode::InvalidArgument,
                      "bootstrap: level must be in (0, 1) and resamples >= 10");
  return Ok{};
}

// value(draw) for each resample, then the two tail quantiles.
template <typename Statistic>
Interval percentile_interval(std::size_t n, const BootstrapOptions& o, double estimate,
                             Statistic statistic) {
  SplitMix64 rng(o.seed);
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(o.resamples));
  std::vector<std::size_t> draw(n);
  for (int r = 0; r < o.resamples; ++r) {
    for (std::size_t& d : draw) d = static_cast<std::size_t>(rng.below(n));
    values.push_back(statistic(draw));
  }
  std::sort(values.begin(), values.end());
  const double tail = (1.0 - o.level) / 2.0;
  auto at = [&](double q) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
  };
  return Interval{estimate, at(tail), at(1.0 - tail)};
}

}  // namespace

Result<Interval> bootstrap_mean(const std::vector<double>& sums,
                                const std::vector<std::size_t>& tokens,
                                const BootstrapOptions& options) {
  HC_TRY_STATUS(check(sums.size(), sums.size(), tokens.size(), options));
  double s = 0.0, t = 0.0;
  for (std::size_t i = 0; i < sums.size(); ++i) {
    s += sums[i];
    t += static_cast<double>(tokens[i]);
  }
  if (!(t > 0.0)) return make_error(ErrorCode::InvalidArgument, "bootstrap: no positions");
  return percentile_interval(sums.size(), options, s / t, [&](const std::vector<std::size_t>& d) {
    double ds = 0.0, dt = 0.0;
    for (std::size_t i : d) {
      ds += sums[i];
      dt += static_cast<double>(tokens[i]);
    }
    return dt > 0.0 ? ds / dt : 0.0;
  });
}

Result<Interval> bootstrap_paired_difference(const std::vector<double>& a_sums,
                                             const std::vector<double>& b_sums,
                                             const std::vector<std::size_t>& tokens,
                                             const BootstrapOptions& options) {
  HC_TRY_STATUS(check(a_sums.size(), b_sums.size(), tokens.size(), options));
  std::vector<double> diff(a_sums.size());
  for (std::size_t i = 0; i < diff.size(); ++i) diff[i] = a_sums[i] - b_sums[i];
  return bootstrap_mean(diff, tokens, options);
}

}  // namespace hc
