// Hand-built layers shared by the core test suites.
#include "fixtures.hpp"

#include <algorithm>
#include <set>

namespace hc::test {

LayerStats make_layer(int experts, const std::vector<std::array<int, 2>>& edges,
                      const std::vector<float>& edge_barrier,
                      const std::vector<std::array<int, 3>>& triangles,
                      const std::vector<float>& triangle_barrier) {
  LayerStats layer;
  layer.layer = 0;
  layer.experts = experts;
  layer.frequency.assign(experts, 1.0f / static_cast<float>(experts));
  layer.gate_mass.assign(experts, 1.0f / static_cast<float>(experts));
  layer.reap.assign(experts, 1.0f);
  layer.ean.assign(experts, 1.0f);
  for (const auto& e : edges) layer.edges.push_back({e[0], e[1]});
  layer.edge_barrier = edge_barrier;
  for (const auto& t : triangles) layer.triangles.push_back({t[0], t[1], t[2]});
  layer.triangle_barrier = triangle_barrier;
  return layer;
}

LayerStats complete_layer(int experts, const std::function<float(int, int)>& barrier) {
  std::vector<std::array<int, 2>> edges;
  std::vector<float> values;
  for (int i = 0; i < experts; ++i)
    for (int j = i + 1; j < experts; ++j) {
      edges.push_back({i, j});
      values.push_back(barrier(i, j));
    }
  return make_layer(experts, edges, values);
}

std::uint64_t FixtureRng::next() {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double FixtureRng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

int FixtureRng::below(int n) {
  return static_cast<int>(next() % static_cast<std::uint64_t>(n));
}

LayerStats random_layer(int experts, int triangles, std::uint64_t seed, float triangle_scale) {
  FixtureRng rng{seed};
  LayerStats layer =
      complete_layer(experts, [&](int, int) { return static_cast<float>(rng.uniform()); });
  for (auto& f : layer.frequency) f = static_cast<float>(rng.uniform());
  std::set<std::array<int, 3>> seen;
  const long long possible = static_cast<long long>(experts) * (experts - 1) * (experts - 2) / 6;
  while (static_cast<long long>(seen.size()) < std::min<long long>(triangles, possible)) {
    std::array<int, 3> t{rng.below(experts), rng.below(experts), rng.below(experts)};
    std::sort(t.begin(), t.end());
    if (t[0] == t[1] || t[1] == t[2] || !seen.insert(t).second) continue;
    layer.triangles.push_back({t[0], t[1], t[2]});
    layer.triangle_barrier.push_back(static_cast<float>(rng.uniform() * triangle_scale));
  }
  return layer;
}

}  // namespace hc::test
