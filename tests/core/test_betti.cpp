// Betti numbers (docs/METHOD.md) of hand-made complexes with known topology, the Euler
// characteristic, and the exact GF(p) rank of B2 against a dense floating-point rank.
#include <Eigen/Dense>
#include <array>
#include <boost/test/unit_test.hpp>
#include <vector>

#include "fixtures.hpp"
#include "hc/complex.hpp"
#include "hc/hodge.hpp"

namespace {

using Betti = std::array<int, 3>;

// A complex on `vertices` with exactly the given edges and filled triangles (every triangle's
// edges are added; tau = 1, all barriers 0.5) plus `hollow` candidates that become holes.
hc::Complex make_complex(int vertices, std::vector<std::array<int, 2>> edges,
                         const std::vector<std::array<int, 3>>& filled,
                         const std::vector<std::array<int, 3>>& hollow = {}) {
  auto add_edge = [&](int a, int b) {
    const std::array<int, 2> e{std::min(a, b), std::max(a, b)};
    if (std::find(edges.begin(), edges.end(), e) == edges.end()) edges.push_back(e);
  };
  std::vector<std::array<int, 3>> triangles;
  std::vector<float> barriers;
  for (const auto* list : {&filled, &hollow})
    for (const auto& t : *list) {
      add_edge(t[0], t[1]);
      add_edge(t[0], t[2]);
      add_edge(t[1], t[2]);
      triangles.push_back(t);
      barriers.push_back(list == &filled ? 0.5f : 2.0f);
    }
  const std::vector<float> edge_barrier(edges.size(), 0.5f);
  hc::ComplexOptions o;
  o.tau = 1.0;
  auto cx = hc::build_complex(
      hc::test::make_layer(vertices, edges, edge_barrier, triangles, barriers), o);
  BOOST_TEST_REQUIRE(cx.ok());
  BOOST_TEST_REQUIRE(cx->triangle_count() == static_cast<int>(filled.size()));
  return std::move(*cx);
}

int dense_rank(const Eigen::SparseMatrix<double>& m) {
  if (m.rows() == 0 || m.cols() == 0) return 0;
  Eigen::FullPivLU<Eigen::MatrixXd> lu{Eigen::MatrixXd(m)};
  lu.setThreshold(1e-9);
  return static_cast<int>(lu.rank());
}

void check_euler(const hc::Complex& cx) {
  const Betti b = hc::betti_numbers(cx);
  BOOST_TEST(b[0] - b[1] + b[2] == cx.vertex_count - cx.edge_count() + cx.triangle_count());
  for (int x : b) BOOST_TEST(x >= 0);
}

const std::vector<std::array<int, 3>> kTetrahedron = {{0, 1, 2}, {0, 1, 3}, {0, 2, 3}, {1, 2, 3}};

}  // namespace

BOOST_AUTO_TEST_SUITE(betti)

BOOST_AUTO_TEST_CASE(single_filled_triangle) {
  const hc::Complex cx = make_complex(3, {}, {{0, 1, 2}});
  BOOST_TEST((hc::betti_numbers(cx) == Betti{1, 0, 0}));
  BOOST_TEST(hc::boundary_2_rank(cx) == 1);
}

BOOST_AUTO_TEST_CASE(hollow_triangle_has_one_loop) {
  const hc::Complex cx = make_complex(3, {}, {}, {{0, 1, 2}});
  BOOST_TEST(cx.holes.size() == 1u);
  BOOST_TEST((hc::betti_numbers(cx) == Betti{1, 1, 0}));
  BOOST_TEST(hc::boundary_2_rank(cx) == 0);
}

BOOST_AUTO_TEST_CASE(two_triangles_sharing_an_edge) {
  const hc::Complex cx = make_complex(4, {}, {{0, 1, 2}, {1, 2, 3}});
  BOOST_TEST((hc::betti_numbers(cx) == Betti{1, 0, 0}));
  // With the second one hollow, the loop 1-2-3 stays open.
  const hc::Complex half = make_complex(4, {}, {{0, 1, 2}}, {{1, 2, 3}});
  BOOST_TEST((hc::betti_numbers(half) == Betti{1, 1, 0}));
}

BOOST_AUTO_TEST_CASE(hollow_tetrahedron_encloses_a_void) {
  const hc::Complex cx = make_complex(4, {}, kTetrahedron);
  BOOST_TEST((hc::betti_numbers(cx) == Betti{1, 0, 1}));
  BOOST_TEST(hc::boundary_2_rank(cx) == 3);
  // Three faces: a disc, contractible.
  const hc::Complex open =
      make_complex(4, {}, {kTetrahedron.begin(), kTetrahedron.end() - 1}, {kTetrahedron.back()});
  BOOST_TEST((hc::betti_numbers(open) == Betti{1, 0, 0}));
}

BOOST_AUTO_TEST_CASE(graphs_components_and_isolated_vertices) {
  // Two disjoint edges on four vertices.
  BOOST_TEST((hc::betti_numbers(make_complex(4, {{0, 1}, {2, 3}}, {})) == Betti{2, 0, 0}));
  // An isolated vertex counts as a component.
  BOOST_TEST((hc::betti_numbers(make_complex(3, {{0, 1}}, {})) == Betti{2, 0, 0}));
  BOOST_TEST((hc::betti_numbers(make_complex(5, {}, {})) == Betti{5, 0, 0}));
  // A 4-cycle and K4 without faces.
  BOOST_TEST(
      (hc::betti_numbers(make_complex(4, {{0, 1}, {1, 2}, {2, 3}, {0, 3}}, {})) == Betti{1, 1, 0}));
  BOOST_TEST((hc::betti_numbers(make_complex(4, {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}},
                                             {})) == Betti{1, 3, 0}));
  // Two filled triangles in separate components plus a hollow one.
  const hc::Complex mixed = make_complex(9, {}, {{0, 1, 2}, {3, 4, 5}}, {{6, 7, 8}});
  BOOST_TEST((hc::betti_numbers(mixed) == Betti{3, 1, 0}));
}

BOOST_AUTO_TEST_CASE(closed_surfaces_need_elimination) {
  // No free edges on closed surfaces, so these exercise the column reduction, not the collapse.
  // Octahedron: a sphere.
  const hc::Complex octahedron = make_complex(
      6, {},
      {{0, 2, 4}, {0, 2, 5}, {0, 3, 4}, {0, 3, 5}, {1, 2, 4}, {1, 2, 5}, {1, 3, 4}, {1, 3, 5}});
  BOOST_TEST((hc::betti_numbers(octahedron) == Betti{1, 0, 1}));
  // Seven-vertex torus: triangles {i, i+1, i+3} and {i, i+2, i+3} mod 7.
  std::vector<std::array<int, 3>> torus;
  for (int i = 0; i < 7; ++i) {
    for (const auto& t : {std::array<int, 3>{i, (i + 1) % 7, (i + 3) % 7},
                          std::array<int, 3>{i, (i + 2) % 7, (i + 3) % 7}}) {
      std::array<int, 3> s = t;
      std::sort(s.begin(), s.end());
      torus.push_back(s);
    }
  }
  const hc::Complex t = make_complex(7, {}, torus);
  BOOST_TEST(t.edge_count() == 21);
  BOOST_TEST((hc::betti_numbers(t) == Betti{1, 2, 1}));
  // Six-vertex projective plane: over GF(2) it would read (1,1,1); over a large prime field, as
  // over the rationals, it is (1,0,0).
  const hc::Complex rp2 = make_complex(6, {},
                                       {{0, 1, 2},
                                        {0, 2, 3},
                                        {0, 3, 4},
                                        {0, 4, 5},
                                        {0, 1, 5},
                                        {1, 2, 4},
                                        {2, 3, 5},
                                        {1, 3, 4},
                                        {2, 4, 5},
                                        {1, 3, 5}});
  BOOST_TEST(rp2.edge_count() == 15);
  BOOST_TEST((hc::betti_numbers(rp2) == Betti{1, 0, 0}));
  BOOST_TEST(hc::boundary_2_rank(rp2) == 10);
}

BOOST_AUTO_TEST_CASE(rank_matches_dense_rank_on_random_complexes) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    // From sparse fillings (mostly collapsible) to every triple filled (many 2-cycles).
    const int experts = 6 + static_cast<int>(seed % 5);
    const float scale = seed <= 4 ? 1.5f : (seed <= 8 ? 0.9f : 0.0f);
    hc::ComplexOptions o;
    o.orientation = seed % 2 ? hc::Orientation::Frequency : hc::Orientation::Index;
    if (seed % 3 == 0) o.edges = hc::EdgeMode::Threshold;
    auto cx = hc::build_complex(hc::test::random_layer(experts, 200, seed, scale), o);
    BOOST_TEST_REQUIRE(cx.ok());
    const int rank = hc::boundary_2_rank(*cx);
    BOOST_TEST(rank == dense_rank(hc::boundary_2(*cx)));
    const Betti b = hc::betti_numbers(*cx);
    BOOST_TEST(b[0] == cx->vertex_count - dense_rank(hc::boundary_1(*cx)));
    check_euler(*cx);
  }
}

BOOST_AUTO_TEST_CASE(elimination_core_matches_dense_rank) {
  // About as many triangles as edges: neither the forest nor the fill-free pivots clear these,
  // so the least-degree elimination does real work (cores of 40 to 200 rows).
  for (const auto& [experts, triangles] :
       std::vector<std::array<int, 2>>{{16, 96}, {20, 152}, {24, 220}, {28, 302}, {28, 378}}) {
    for (auto orientation : {hc::Orientation::Index, hc::Orientation::Frequency}) {
      hc::ComplexOptions o;
      o.orientation = orientation;
      const auto seed = static_cast<std::uint64_t>(experts * 1000 + triangles);
      auto cx = hc::build_complex(hc::test::random_layer(experts, triangles, seed, 0.0f), o);
      BOOST_TEST_REQUIRE(cx.ok());
      BOOST_TEST(hc::boundary_2_rank(*cx) == dense_rank(hc::boundary_2(*cx)));
      check_euler(*cx);
    }
  }
}

BOOST_AUTO_TEST_CASE(euler_characteristic_on_larger_complexes) {
  for (std::uint64_t seed = 40; seed < 44; ++seed) {
    auto cx = hc::build_complex(hc::test::random_layer(60, 3000, seed, 0.9f), hc::ComplexOptions{});
    BOOST_TEST_REQUIRE(cx.ok());
    check_euler(*cx);
    const Betti b = hc::betti_numbers(*cx);
    BOOST_TEST(b[0] == 1);
    BOOST_TEST(b[2] >= 0);
  }
}

BOOST_AUTO_TEST_SUITE_END()
