// Baseline selections (docs/METHOD.md): score rankings, seeded random choice, HC-SMoE-style
// average-linkage clustering, and the nearest-survivor map used by merge mode.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "hc/selection.hpp"
#include "selection_detail.hpp"

namespace hc {
namespace detail {
namespace {

// splitmix64 kept local so random selection does not depend on the synthesiser's sources and
// stays bit-identical across compilers (only 64-bit unsigned arithmetic).
class Mixer {
 public:
  explicit Mixer(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t next() {
    m_state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = m_state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) without modulo bias: draws below 2^64 mod n are rejected.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t reject_below = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= reject_below) return r % n;
    }
  }

 private:
  std::uint64_t m_state;
};

double finite_or(double x, double fallback) {
  return std::isfinite(x) ? x : fallback;
}

}  // namespace

std::vector<double> pair_barrier_matrix(const LayerStats& layer, double missing) {
  const int n = std::max(0, layer.experts);
  const std::size_t stride = static_cast<std::size_t>(n);
  std::vector<double> d(stride * stride, missing);
  for (int i = 0; i < n; ++i) d[i * stride + i] = 0.0;
  const std::size_t m = std::min(layer.edges.size(), layer.edge_barrier.size());
  for (std::size_t e = 0; e < m; ++e) {
    const int a = layer.edges[e][0], b = layer.edges[e][1];
    if (a < 0 || b < 0 || a >= n || b >= n || a == b) continue;
    const double value = finite_or(layer.edge_barrier[e], missing);
    d[a * stride + b] = value;
    d[b * stride + a] = value;
  }
  return d;
}

std::vector<int> top_experts(const std::vector<float>& score, int experts, int keep) {
  const double lowest = -std::numeric_limits<double>::infinity();
  std::vector<double> key(std::max(0, experts), lowest);
  for (int i = 0; i < experts && i < static_cast<int>(score.size()); ++i)
    key[i] = finite_or(score[i], lowest);
  std::vector<int> order(key.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key[a] > key[b]; });
  order.resize(std::clamp(keep, 0, experts < 0 ? 0 : experts));
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<int> random_experts(int experts, int keep, std::uint64_t seed, std::uint64_t stream) {
  if (experts <= 0) return {};
  keep = std::clamp(keep, 0, experts);
  Mixer rng(seed ^ (0xd1b54a32d192ed03ULL * (stream + 1)));
  std::vector<int> pool(experts);
  std::iota(pool.begin(), pool.end(), 0);
  // Partial Fisher-Yates: the first `keep` slots become a uniform sample without replacement.
  for (int i = 0; i < keep; ++i) {
    const auto j = i + static_cast<int>(rng.below(static_cast<std::uint64_t>(experts - i)));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(keep);
  std::sort(pool.begin(), pool.end());
  return pool;
}

LayerPlan hcsmoe_plan(const LayerStats& layer, int keep) {
  LayerPlan plan;
  plan.layer = layer.layer;
  const int n = std::max(0, layer.experts);
  if (n == 0) return plan;
  const std::vector<int> cluster = average_linkage_clusters(layer, keep);
  const int k = cluster.empty() ? 0 : *std::max_element(cluster.begin(), cluster.end()) + 1;
  auto freq = [&](int i) {
    return i < static_cast<int>(layer.frequency.size()) ? finite_or(layer.frequency[i], 0.0) : 0.0;
  };
  std::vector<int> survivor(k, -1);
  for (int i = 0; i < n; ++i) {
    int& s = survivor[cluster[i]];
    if (s < 0 || freq(i) > freq(s)) s = i;  // ascending scan: ties stay with the lower id
  }
  for (int i = 0; i < n; ++i) {
    const int s = survivor[cluster[i]];
    if (s == i)
      plan.keep.push_back(i);
    else
      plan.merge_into[i] = s;
  }
  return plan;
}

}  // namespace detail

std::map<int, int> nearest_survivor(const LayerStats& layer, const std::vector<int>& keep) {
  std::map<int, int> out;
  const int n = std::max(0, layer.experts);
  std::vector<char> kept(n, 0);
  std::vector<int> survivors;
  for (int s : keep)
    if (s >= 0 && s < n && !kept[s]) {
      kept[s] = 1;
      survivors.push_back(s);
    }
  if (survivors.empty()) return out;
  std::sort(survivors.begin(), survivors.end());
  // An unmeasured pair is never preferred over a measured one; with none measured the lowest
  // survivor is used.
  const std::vector<double> d =
      detail::pair_barrier_matrix(layer, std::numeric_limits<double>::infinity());
  const std::size_t stride = static_cast<std::size_t>(n);
  for (int x = 0; x < n; ++x) {
    if (kept[x]) continue;
    int best = survivors.front();
    for (int s : survivors)
      if (d[x * stride + s] < d[x * stride + best]) best = s;
    out[x] = best;
  }
  return out;
}

std::vector<int> average_linkage_clusters(const LayerStats& layer, int k) {
  const int n = std::max(0, layer.experts);
  if (n == 0) return {};
  k = std::clamp(k, 1, n);
  double largest = 0.0;
  for (float b : layer.edge_barrier)
    if (std::isfinite(b)) largest = std::max(largest, static_cast<double>(b));
  std::vector<double> d = detail::pair_barrier_matrix(layer, largest);
  const std::size_t stride = static_cast<std::size_t>(n);

  // Clusters live in slots named by their smallest member (merges go into the lower slot), so
  // "ties go to the lowest indices" means the lexicographically smallest (slot, slot) pair.
  // Each slot caches its nearest higher slot; a merge only invalidates a few caches, which
  // keeps the whole run near O(E^2) instead of rescanning all pairs per merge.
  std::vector<int> size(n, 1), label(n), nearest(n, -1);
  std::vector<char> active(n, 1);
  std::vector<double> nearest_d(n, 0.0);
  std::iota(label.begin(), label.end(), 0);
  auto rescan = [&](int i) {
    nearest[i] = -1;
    for (int j = i + 1; j < n; ++j) {
      if (!active[j]) continue;
      if (nearest[i] < 0 || d[i * stride + j] < nearest_d[i]) {
        nearest[i] = j;
        nearest_d[i] = d[i * stride + j];
      }
    }
  };
  for (int i = 0; i < n; ++i) rescan(i);

  for (int clusters = n; clusters > k; --clusters) {
    int a = -1;
    for (int i = 0; i < n; ++i)
      if (active[i] && nearest[i] >= 0 && (a < 0 || nearest_d[i] < nearest_d[a])) a = i;
    const int b = nearest[a];
    const double sa = size[a], sb = size[b];
    for (int c = 0; c < n; ++c) {
      if (!active[c] || c == a || c == b) continue;
      // Lance-Williams update: the mean pairwise barrier between the union and c.
      const double merged = (sa * d[a * stride + c] + sb * d[b * stride + c]) / (sa + sb);
      d[a * stride + c] = merged;
      d[c * stride + a] = merged;
    }
    size[a] += size[b];
    active[b] = 0;
    for (int& l : label)
      if (l == b) l = a;
    for (int i = 0; i < b; ++i) {
      if (!active[i]) continue;
      if (i == a || nearest[i] == a || nearest[i] == b) {
        rescan(i);
      } else if (i < a) {
        const double da = d[i * stride + a];
        if (da < nearest_d[i] || (da == nearest_d[i] && a < nearest[i])) {
          nearest[i] = a;
          nearest_d[i] = da;
        }
      }
    }
  }

  std::vector<int> id(n, -1);
  int next = 0;
  for (int i = 0; i < n; ++i)
    if (active[i]) id[i] = next++;
  std::vector<int> cluster(n);
  for (int i = 0; i < n; ++i) cluster[i] = id[label[i]];
  return cluster;
}

}  // namespace hc
