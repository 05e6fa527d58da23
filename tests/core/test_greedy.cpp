// Greedy coverage (docs/METHOD.md) against brute force, a naive recompute-all-gains greedy, the
// (1 - 1/e) submodular bound, a swap heuristic, and its determinism and tie rules.
#include <algorithm>
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "hc/selection.hpp"

namespace {

using hc::CoverageTargets;
using hc::SelectionOptions;
using hc::TriangleCredit;

// splitmix64: the same instances on every platform (std distributions differ between libc++
// and libstdc++, and this suite also runs under WASM). Draws are sequenced in statements, never
// as sibling function arguments, whose evaluation order differs between compilers.
struct TestRng {
  std::uint64_t state;
  std::uint64_t next() {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
};

void normalise(std::vector<double>& w) {
  double sum = 0;
  for (double x : w) sum += x;
  if (sum > 0)
    for (double& x : w) x /= sum;
}

// Random targets on n experts. `levels` > 0 quantises every weight to that many values so that
// exact ties in gains and vertex weights are common.
CoverageTargets random_targets(TestRng& rng, int n, int edges, int triangles, int levels = 0) {
  auto weight = [&] {
    if (levels > 0) return 1.0 + rng.below(levels);
    const double u = rng.uniform();
    return u * u * u + 1e-3;  // heavy-tailed, like harmonic energies
  };
  CoverageTargets t;
  for (int e = 0; e < edges; ++e) {
    const int a = rng.below(n);
    int b = rng.below(n - 1);
    if (b >= a) ++b;
    t.edges.push_back({std::min(a, b), std::max(a, b)});
    t.edge_weight.push_back(weight());
  }
  for (int k = 0; k < triangles && n >= 3; ++k) {
    std::array<int, 3> v;
    do v = {rng.below(n), rng.below(n), rng.below(n)};
    while (v[0] == v[1] || v[1] == v[2] || v[0] == v[2]);
    std::sort(v.begin(), v.end());
    t.triangles.push_back(v);
    t.triangle_weight.push_back(weight());
  }
  for (int i = 0; i < n; ++i) t.vertex_weight.push_back(weight());
  normalise(t.edge_weight);
  normalise(t.triangle_weight);
  normalise(t.vertex_weight);
  return t;
}

std::vector<int> members(unsigned mask, int n) {
  std::vector<int> s;
  for (int i = 0; i < n; ++i)
    if (mask >> i & 1u) s.push_back(i);
  return s;
}

double brute_force_best(const CoverageTargets& t, int n, int k, const SelectionOptions& o,
                        TriangleCredit credit) {
  double best = -1;
  for (unsigned mask = 0; mask < (1u << n); ++mask)
    if (std::popcount(mask) == k)
      best = std::max(best, hc::coverage_objective(t, members(mask, n), o, credit));
  return best;
}

// Reference greedy: every gain recomputed from the objective itself at every step, with the
// documented comparison (gains within 1e-12 * sum of lambdas tie; then larger v, lower index).
std::vector<int> naive_greedy(const CoverageTargets& t, int n, int k, const SelectionOptions& o) {
  const double tie = 1e-12 * (o.lambda_e + o.lambda_t + o.lambda_v);
  std::vector<int> s;
  std::vector<char> in(n, 0);
  for (int step = 0; step < k; ++step) {
    const double base = hc::coverage_objective(t, s, o, o.triangle_credit);
    int best = -1;
    double best_gain = 0;
    for (int u = 0; u < n; ++u) {
      if (in[u]) continue;
      std::vector<int> with = s;
      with.push_back(u);
      const double g = hc::coverage_objective(t, with, o, o.triangle_credit) - base;
      const double d = g - best_gain;
      if (best < 0 || d > tie || (d >= -tie && t.vertex_weight[u] > t.vertex_weight[best])) {
        best = u;
        best_gain = g;
      }
    }
    in[best] = 1;
    s.push_back(best);
  }
  std::sort(s.begin(), s.end());
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(greedy)

BOOST_AUTO_TEST_CASE(modular_objectives_are_solved_exactly) {
  // Two genuinely modular cases: vertex weights only, and partial triangle credit with
  // cover_tri = 3 (each kept vertex earns w_t/3 whatever else is kept). Edge coverage is not
  // modular (the second endpoint earns nothing), so lambda_e = 0 in both.
  TestRng rng{11};
  for (int instance = 0; instance < 200; ++instance) {
    const int n = 3 + rng.below(8);
    const int k = 1 + rng.below(n);
    const CoverageTargets t = random_targets(rng, n, 2 * n, 2 * n);
    SelectionOptions o;
    o.lambda_e = 0;
    if (instance % 2 == 0) {
      o.lambda_t = 0;
    } else {
      o.cover_tri = 3;
      o.lambda_v = rng.uniform();
    }
    const std::vector<int> g = hc::greedy_cover(t, n, k, o);
    BOOST_REQUIRE_EQUAL(static_cast<int>(g.size()), k);
    const double best = brute_force_best(t, n, k, o, TriangleCredit::Partial);
    BOOST_TEST(hc::coverage_objective(t, g, o, TriangleCredit::Partial) >= best - 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(partial_credit_meets_the_submodular_bound) {
  const double bound = 1.0 - 1.0 / std::exp(1.0);
  TestRng rng{23};
  int suboptimal = 0;
  for (int instance = 0; instance < 300; ++instance) {
    const int n = 4 + rng.below(7);
    const int k = 1 + rng.below(n - 1);
    const int edges = rng.below(3 * n), triangles = rng.below(3 * n);
    const CoverageTargets t = random_targets(rng, n, edges, triangles);
    SelectionOptions o;
    o.cover_tri = 1 + instance % 3;
    o.lambda_v = rng.uniform() * 0.5;
    const std::vector<int> g = hc::greedy_cover(t, n, k, o);
    const double value = hc::coverage_objective(t, g, o, TriangleCredit::Partial);
    const double best = brute_force_best(t, n, k, o, TriangleCredit::Partial);
    BOOST_TEST(value >= bound * best - 1e-12);
    BOOST_TEST(value <= best + 1e-12);
    if (value < best - 1e-12) ++suboptimal;
  }
  BOOST_TEST_MESSAGE("greedy below the brute-force optimum in " << suboptimal << "/300 instances");
}

BOOST_AUTO_TEST_CASE(greedy_against_top_k_plus_one_swap) {
  // Alternative heuristic: the K experts of largest vertex weight, then the single best
  // improving swap, judged on the binary objective F. Greedy does NOT always beat it (greedy
  // commits early to high-coverage experts that a larger K would have covered anyway), so this
  // asserts what does hold and reports how often the heuristic wins:
  //  - with K = 1 and gains measured on F itself (binary credit, or cover_tri = 1) greedy is
  //    exactly optimal, and one swap from the top-1 start is a full search;
  //  - greedy's partial-credit value is >= (1 - 1/e) of the heuristic's partial-credit value.
  const double bound = 1.0 - 1.0 / std::exp(1.0);
  TestRng rng{37};
  int swap_wins = 0, start_wins = 0, total = 0;
  for (int instance = 0; instance < 600; ++instance) {
    const int n = 4 + rng.below(7);
    const int k = instance % 5 == 0 ? 1 : 1 + rng.below(n - 1);
    const int edges = rng.below(3 * n), triangles = rng.below(2 * n);
    const CoverageTargets t = random_targets(rng, n, edges, triangles);
    SelectionOptions o;
    o.cover_tri = 1 + instance % 3;
    o.triangle_credit = instance % 2 ? TriangleCredit::Binary : TriangleCredit::Partial;
    o.lambda_v = rng.uniform() * 0.5;

    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return t.vertex_weight[a] > t.vertex_weight[b]; });
    const std::vector<int> start(order.begin(), order.begin() + k);
    auto binary = [&](const std::vector<int>& s) {
      return hc::coverage_objective(t, s, o, TriangleCredit::Binary);
    };
    std::vector<int> swapped = start;
    double swapped_value = binary(start);
    for (int i = 0; i < k; ++i)
      for (int u = 0; u < n; ++u) {
        if (std::find(start.begin(), start.end(), u) != start.end()) continue;
        std::vector<int> s = start;
        s[i] = u;
        if (binary(s) > swapped_value) {
          swapped_value = binary(s);
          swapped = s;
        }
      }

    const std::vector<int> g = hc::greedy_cover(t, n, k, o);
    const double greedy_value = binary(g);
    const bool exact_gains = o.triangle_credit == TriangleCredit::Binary || o.cover_tri == 1;
    if (k == 1 && exact_gains) BOOST_TEST(greedy_value >= swapped_value - 1e-12);
    const double partial_g = hc::coverage_objective(t, g, o, TriangleCredit::Partial);
    const double partial_s = hc::coverage_objective(t, swapped, o, TriangleCredit::Partial);
    if (o.triangle_credit == TriangleCredit::Partial)
      BOOST_TEST(partial_g >= bound * partial_s - 1e-12);
    ++total;
    if (swapped_value > greedy_value + 1e-12) ++swap_wins;
    if (binary(start) > greedy_value + 1e-12) ++start_wins;
  }
  BOOST_TEST_MESSAGE("top-K + one swap beats greedy on F in "
                     << swap_wins << "/" << total << " instances; the top-K start alone in "
                     << start_wins);
}

BOOST_AUTO_TEST_CASE(incremental_equals_naive_recompute) {
  TestRng rng{41};
  for (int instance = 0; instance < 400; ++instance) {
    const int n = 3 + rng.below(14);
    const int k = rng.below(n + 1);
    // Every third instance has quantised weights, so exact ties are exercised as well.
    const int levels = instance % 3 == 0 ? 3 : 0;
    const int edges = rng.below(4 * n), triangles = rng.below(3 * n);
    const CoverageTargets t = random_targets(rng, n, edges, triangles, levels);
    SelectionOptions o;
    o.cover_tri = 1 + rng.below(3);
    o.triangle_credit = rng.below(2) ? TriangleCredit::Binary : TriangleCredit::Partial;
    o.lambda_e = rng.below(3) * 0.5;
    o.lambda_t = rng.below(3) * 0.5;
    o.lambda_v = rng.below(3) * 0.5;
    const std::vector<int> fast = hc::greedy_cover(t, n, k, o);
    const std::vector<int> slow = naive_greedy(t, n, k, o);
    BOOST_TEST(fast == slow, "instance " << instance);
  }
}

BOOST_AUTO_TEST_CASE(deterministic_and_independent_of_target_order) {
  TestRng rng{53};
  const int n = 128;
  const CoverageTargets t = random_targets(rng, n, 3000, 2000);
  SelectionOptions o;
  for (int k : {1, 17, 64, 127, 128}) {
    const std::vector<int> a = hc::greedy_cover(t, n, k, o);
    BOOST_TEST(a == hc::greedy_cover(t, n, k, o));
    BOOST_TEST(static_cast<int>(a.size()) == k);
    BOOST_TEST(std::is_sorted(a.begin(), a.end()));
    BOOST_TEST((std::adjacent_find(a.begin(), a.end()) == a.end()));
  }
  // Reversing the target lists changes only the order in which gains are accumulated.
  CoverageTargets r = t;
  std::reverse(r.edges.begin(), r.edges.end());
  std::reverse(r.edge_weight.begin(), r.edge_weight.end());
  std::reverse(r.triangles.begin(), r.triangles.end());
  std::reverse(r.triangle_weight.begin(), r.triangle_weight.end());
  BOOST_TEST(hc::greedy_cover(t, n, 40, o) == hc::greedy_cover(r, n, 40, o));
}

BOOST_AUTO_TEST_CASE(tie_breaking) {
  SelectionOptions o;
  CoverageTargets t;
  // No targets and no vertex scores: every gain is 0, lowest indices win.
  t.vertex_weight.assign(5, 0.0);
  BOOST_TEST(hc::greedy_cover(t, 5, 3, o) == (std::vector<int>{0, 1, 2}));
  // Equal gains (lambda_v = 0): larger vertex weight first, then lower index.
  o.lambda_v = 0;
  t.vertex_weight = {0.1, 0.4, 0.1, 0.4};
  BOOST_TEST(hc::greedy_cover(t, 4, 2, o) == (std::vector<int>{1, 3}));
  BOOST_TEST(hc::greedy_cover(t, 4, 3, o) == (std::vector<int>{0, 1, 3}));
  // A real gain difference beats the vertex weight: edge (0,2) goes to 0 (tie with 2 on gain
  // and on weight), then the now-equal gains fall back to weight: 1.
  t.edges = {{0, 2}};
  t.edge_weight = {1.0};
  BOOST_TEST(hc::greedy_cover(t, 4, 1, o) == (std::vector<int>{0}));
  BOOST_TEST(hc::greedy_cover(t, 4, 2, o) == (std::vector<int>{0, 1}));
  // Budgets at the ends.
  BOOST_TEST(hc::greedy_cover(t, 4, 0, o).empty());
  BOOST_TEST(hc::greedy_cover(t, 4, 9, o) == (std::vector<int>{0, 1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(partial_credit_sees_the_first_vertex_of_a_triple) {
  // Triangle (0,1,2) worth 1, edge (3,4) worth 0.3 (lambda_e = 1), cover_tri = 2, K = 2.
  // Partial credit starts the triple and completes it (F = 1); binary credit sees no gain from
  // a lone triangle vertex, takes the edge first and ends at F = 0.3.
  CoverageTargets t;
  t.triangles = {{0, 1, 2}};
  t.triangle_weight = {1.0};
  t.edges = {{3, 4}};
  t.edge_weight = {0.3};
  t.vertex_weight.assign(5, 0.2);
  SelectionOptions o;
  o.lambda_v = 0;
  o.lambda_t = 1;  // the triangle term is what this test is about (off by default)
  const std::vector<int> partial = hc::greedy_cover(t, 5, 2, o);
  BOOST_TEST(partial == (std::vector<int>{0, 1}));
  BOOST_TEST(hc::coverage_objective(t, partial, o, TriangleCredit::Binary) == 1.0);
  o.triangle_credit = TriangleCredit::Binary;
  const std::vector<int> binary = hc::greedy_cover(t, 5, 2, o);
  BOOST_TEST(binary == (std::vector<int>{0, 3}));
  BOOST_TEST(hc::coverage_objective(t, binary, o, TriangleCredit::Binary) == 0.3 * o.lambda_e,
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(objective_counts_coverage_as_specified) {
  CoverageTargets t;
  t.edges = {{0, 1}, {2, 3}};
  t.edge_weight = {0.25, 0.75};
  t.triangles = {{0, 1, 2}};
  t.triangle_weight = {1.0};
  t.vertex_weight = {0.1, 0.2, 0.3, 0.4};
  SelectionOptions o;
  o.lambda_e = 1;
  o.lambda_t = 2;
  o.lambda_v = 4;
  const auto tol = boost::test_tools::tolerance(1e-12);
  // {0}: edge (0,1) covered; the triangle has 1 of cover_tri = 2 vertices.
  BOOST_TEST(hc::coverage_objective(t, {0}, o, TriangleCredit::Binary) == 0.25 + 0.4, tol);
  BOOST_TEST(hc::coverage_objective(t, {0}, o, TriangleCredit::Partial) == 0.25 + 1.0 + 0.4, tol);
  // {0,2}: everything covered; the triangle earns no more than full credit.
  BOOST_TEST(hc::coverage_objective(t, {0, 2}, o, TriangleCredit::Binary) == 1.0 + 2.0 + 1.6, tol);
  BOOST_TEST(hc::coverage_objective(t, {0, 1, 2}, o, TriangleCredit::Partial) == 1 + 2 + 2.4, tol);
  o.cover_tri = 3;
  BOOST_TEST(hc::coverage_objective(t, {0, 2}, o, TriangleCredit::Binary) == 1.0 + 1.6, tol);
  BOOST_TEST(
      hc::coverage_objective(t, {0, 2}, o, TriangleCredit::Partial) == 1.0 + 2.0 * 2 / 3 + 1.6,
      tol);
}

BOOST_AUTO_TEST_SUITE_END()
