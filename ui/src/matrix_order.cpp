// cluster_order: average-linkage (UPGMA) clustering of the pair barriers, O(E^3) over a dense
// matrix, which is a few milliseconds at 128 experts and runs once per layer.
#include "hc/ui/matrix_order.hpp"

#include <algorithm>
#include <limits>

namespace hc::ui {

std::vector<int> cluster_order(int experts, const std::vector<std::array<std::int32_t, 2>>& edges,
                               const std::vector<float>& barrier) {
  const int n = std::max(0, experts);
  if (n <= 2) {
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    return order;
  }
  double largest = 0;
  for (std::size_t e = 0; e < edges.size() && e < barrier.size(); ++e)
    if (barrier[e] == barrier[e]) largest = std::max(largest, static_cast<double>(barrier[e]));
  const double missing = largest > 0 ? 2 * largest : 1.0;
  std::vector<double> d(static_cast<std::size_t>(n) * n, missing);
  for (std::size_t e = 0; e < edges.size() && e < barrier.size(); ++e) {
    const int i = edges[e][0], j = edges[e][1];
    if (i < 0 || j < 0 || i >= n || j >= n || i == j || !(barrier[e] == barrier[e])) continue;
    d[static_cast<std::size_t>(i) * n + j] = d[static_cast<std::size_t>(j) * n + i] = barrier[e];
  }
  // Clusters 0..n-1 are the experts; merged clusters reuse the slot of their lower member.
  // leaves[c] lists the experts of the cluster in slot c in dendrogram order.
  std::vector<std::vector<int>> leaves(n);
  std::vector<int> size(n, 1);
  std::vector<char> alive(n, 1);
  for (int i = 0; i < n; ++i) leaves[i] = {i};
  for (int step = 0; step < n - 1; ++step) {
    int bi = -1, bj = -1;
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < n; ++i) {
      if (!alive[i]) continue;
      for (int j = i + 1; j < n; ++j) {
        if (!alive[j]) continue;
        const double v = d[static_cast<std::size_t>(i) * n + j];
        if (v < best) best = v, bi = i, bj = j;
      }
    }
    if (bi < 0) break;
    for (int k = 0; k < n; ++k) {
      if (!alive[k] || k == bi || k == bj) continue;
      const double v = (size[bi] * d[static_cast<std::size_t>(bi) * n + k] +
                        size[bj] * d[static_cast<std::size_t>(bj) * n + k]) /
                       (size[bi] + size[bj]);
      d[static_cast<std::size_t>(bi) * n + k] = d[static_cast<std::size_t>(k) * n + bi] = v;
    }
    leaves[bi].insert(leaves[bi].end(), leaves[bj].begin(), leaves[bj].end());
    leaves[bj].clear();
    size[bi] += size[bj];
    alive[bj] = 0;
  }
  std::vector<int> order;
  order.reserve(n);
  for (int i = 0; i < n; ++i)
    if (alive[i]) order.insert(order.end(), leaves[i].begin(), leaves[i].end());
  return order;
}

}  // namespace hc::ui
