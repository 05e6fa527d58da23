// Greedy maximisation of the HodgeCover objective (docs/METHOD.md) with incremental marginal gains:
// adding an expert only touches the gains of experts that share a still-open target with it.
#include <algorithm>
#include <cstddef>
#include <numeric>
#include <vector>

#include "hc/selection.hpp"

namespace hc {
namespace {

// Incidence lists in compressed form: items(v) = ids[start[v] .. start[v+1]).
struct Incidence {
  std::vector<int> start, ids;

  template <typename Visit>
  void build(int n, std::size_t items, Visit visit_vertices) {
    start.assign(n + 1, 0);
    for (std::size_t i = 0; i < items; ++i) visit_vertices(i, [&](int v) { ++start[v + 1]; });
    std::partial_sum(start.begin(), start.end(), start.begin());
    ids.resize(start[n]);
    std::vector<int> fill(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < items; ++i)
      visit_vertices(i, [&](int v) { ids[fill[v]++] = static_cast<int>(i); });
  }
};

}  // namespace

std::vector<int> greedy_cover(const CoverageTargets& targets, int experts, int keep,
                              const SelectionOptions& options) {
  const int n = std::max(0, experts);
  keep = std::clamp(keep, 0, n);
  std::vector<int> chosen;
  if (keep == n) {
    chosen.resize(n);
    std::iota(chosen.begin(), chosen.end(), 0);
    return chosen;
  }
  const int cover = std::clamp(options.cover_tri, 1, 3);
  const bool binary = options.triangle_credit == TriangleCredit::Binary;
  auto valid = [n](int v) { return v >= 0 && v < n; };

  std::vector<double> v(n, 0.0), gain(n, 0.0);
  for (int i = 0; i < n && i < static_cast<int>(targets.vertex_weight.size()); ++i)
    v[i] = targets.vertex_weight[i];
  for (int i = 0; i < n; ++i) gain[i] = options.lambda_v * v[i];

  // Edges: open until one endpoint is kept; each endpoint of an open edge gains its weight.
  const std::size_t m = std::min(targets.edges.size(), targets.edge_weight.size());
  Incidence edge_of;
  edge_of.build(n, m, [&](std::size_t e, auto&& at) {
    const auto& [a, b] = targets.edges[e];
    if (!valid(a) || !valid(b)) return;
    at(a);
    if (b != a) at(b);
  });
  std::vector<double> edge_gain(m, 0.0);
  std::vector<char> edge_open(m, 0);
  for (std::size_t e = 0; e < m; ++e) {
    const auto& [a, b] = targets.edges[e];
    if (!valid(a) || !valid(b)) continue;
    edge_gain[e] = options.lambda_e * targets.edge_weight[e];
    edge_open[e] = 1;
    gain[a] += edge_gain[e];
    if (b != a) gain[b] += edge_gain[e];
  }

  // Triangles: `unit` is what one more kept vertex earns. Partial: w/cover for each of the first
  // `cover` vertices. Binary: w, but only for the vertex that brings the count to `cover`.
  const std::size_t t_count = std::min(targets.triangles.size(), targets.triangle_weight.size());
  auto tri_ok = [&](std::size_t t) {
    const auto& [a, b, c] = targets.triangles[t];
    return valid(a) && valid(b) && valid(c) && a != b && a != c && b != c;
  };
  Incidence tri_of;
  tri_of.build(n, t_count, [&](std::size_t t, auto&& at) {
    if (!tri_ok(t)) return;
    for (int x : targets.triangles[t]) at(x);
  });
  std::vector<double> unit(t_count, 0.0);
  std::vector<int> count(t_count, 0);
  for (std::size_t t = 0; t < t_count; ++t) {
    if (!tri_ok(t)) continue;
    const double w = options.lambda_t * targets.triangle_weight[t];
    unit[t] = binary ? w : w / cover;
    if (!binary || cover == 1)
      for (int x : targets.triangles[t]) gain[x] += unit[t];
  }

  // Gains differ from a from-scratch sum by rounding only; differences within `tie` are ties,
  // so the result does not hinge on the order in which updates were accumulated.
  const double tie = 1e-12 * (options.lambda_e + options.lambda_t + options.lambda_v);
  std::vector<char> in(n, 0);
  chosen.reserve(keep);
  for (int step = 0; step < keep; ++step) {
    int best = -1;
    for (int u = 0; u < n; ++u) {
      if (in[u]) continue;
      if (best < 0) {
        best = u;
        continue;
      }
      const double d = gain[u] - gain[best];
      if (d > tie || (d >= -tie && v[u] > v[best])) best = u;
    }
    in[best] = 1;
    chosen.push_back(best);

    for (int k = edge_of.start[best]; k < edge_of.start[best + 1]; ++k) {
      const int e = edge_of.ids[k];
      if (!edge_open[e]) continue;
      edge_open[e] = 0;
      const auto& [a, b] = targets.edges[e];
      gain[a] -= edge_gain[e];
      if (b != a) gain[b] -= edge_gain[e];
    }
    for (int k = tri_of.start[best]; k < tri_of.start[best + 1]; ++k) {
      const int t = tri_of.ids[k];
      const int c = ++count[t];
      double delta = 0.0;
      if (c == cover)
        delta = -unit[t];  // covered: nobody earns more
      else if (binary && c == cover - 1)
        delta = unit[t];  // the next vertex would complete it
      if (delta != 0.0)
        for (int x : targets.triangles[t])
          if (!in[x]) gain[x] += delta;
    }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace hc
