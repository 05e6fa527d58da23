// Hand-built layers shared by the core test suites.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "hc/stats_file.hpp"

namespace hc::test {

// A layer of E experts with uniform statistics, the given edges/barriers and candidate
// triangles/barriers.
LayerStats make_layer(int experts, const std::vector<std::array<int, 2>>& edges,
                      const std::vector<float>& edge_barrier,
                      const std::vector<std::array<int, 3>>& triangles = {},
                      const std::vector<float>& triangle_barrier = {});

// The complete graph on E experts with barrier(i, j) on each pair (i<j, lexicographic order).
LayerStats complete_layer(int experts, const std::function<float(int, int)>& barrier);

// Small deterministic generator for fixtures: splitmix64 with its own float mapping, so the same
// stream comes out natively and under WASM (std distributions differ between standard libraries).
struct FixtureRng {
  std::uint64_t state;
  std::uint64_t next();
  double uniform();  // [0, 1)
  int below(int n);  // [0, n), n > 0
};

// The complete graph on E experts with barriers uniform in [0, 1), random frequencies, and
// `triangles` distinct random candidate triples (i<j<k) with barriers uniform in
// [0, triangle_scale). With the default tau quantile 0.75 about 0.75 / triangle_scale of the
// candidates fill.
LayerStats random_layer(int experts, int triangles, std::uint64_t seed,
                        float triangle_scale = 1.5f);

}  // namespace hc::test
