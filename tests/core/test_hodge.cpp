// Hodge decomposition invariants (docs/METHOD.md): B1 B2 = 0, exact reconstruction, orthogonality,
// residuals, pure gradient/curl signals, the closed form against a pseudo-inverse, disconnected
// graphs, independence of file order, degenerate inputs, and the direct curl solve against CGLS
// (and its fallback when the triangles' edges carry a 1-cycle).
#include <Eigen/Dense>
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <numeric>
#include <tuple>
#include <vector>

#include "fixtures.hpp"
#include "hc/complex.hpp"
#include "hc/hodge.hpp"

namespace {

using hc::ComplexOptions;

struct Decomposed {
  hc::Complex complex;
  hc::HodgeDecomposition hodge;
};

Decomposed decompose(const hc::LayerStats& layer, const ComplexOptions& options = {},
                     const hc::HodgeOptions& hodge = {}) {
  auto cx = hc::build_complex(layer, options);
  BOOST_TEST_REQUIRE(cx.ok());
  auto h = hc::hodge_decompose(*cx, hodge);
  if (!h.ok()) BOOST_TEST_MESSAGE(h.error().message);
  BOOST_TEST_REQUIRE(h.ok());
  return {std::move(*cx), std::move(*h)};
}

// Minimum-norm solution of L0 s = B1 f by a dense complete orthogonal decomposition.
Eigen::VectorXd pinv_potential(const hc::Complex& cx) {
  const Eigen::MatrixXd b1 = Eigen::MatrixXd(hc::boundary_1(cx));
  const Eigen::MatrixXd l0 = b1 * b1.transpose();
  return Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>(l0).solve(b1 * cx.signal);
}

// The invariants every decomposition must satisfy.
void check_invariants(const Decomposed& d) {
  const Eigen::VectorXd& f = d.complex.signal;
  const auto& h = d.hodge;
  const double ff = f.squaredNorm();
  const double fn = std::sqrt(ff);
  BOOST_TEST((h.gradient + h.curl + h.harmonic - f).cwiseAbs().maxCoeff() <=
             1e-10 * std::max(1.0, fn));
  BOOST_TEST(std::abs(h.gradient.dot(h.curl)) <= 1e-9 * ff + 1e-300);
  BOOST_TEST(std::abs(h.gradient.dot(h.harmonic)) <= 1e-9 * ff + 1e-300);
  BOOST_TEST(std::abs(h.curl.dot(h.harmonic)) <= 1e-9 * ff + 1e-300);
  const Eigen::SparseMatrix<double> b1 = hc::boundary_1(d.complex);
  const Eigen::SparseMatrix<double> b2 = hc::boundary_2(d.complex);
  const Eigen::VectorXd b1h = b1 * h.harmonic;
  const Eigen::VectorXd b2th = b2.transpose() * h.harmonic;
  BOOST_TEST(b1h.norm() <= 1e-8 * fn);
  BOOST_TEST(b2th.norm() <= 1e-8 * fn);
  BOOST_TEST(h.residual_b1 <= 1e-8);
  BOOST_TEST(h.residual_b2t <= 1e-8);
  // The gradient really is B1^T s with the reported potential, zero-mean per component.
  BOOST_TEST((Eigen::VectorXd(b1.transpose() * h.potential) - h.gradient).cwiseAbs().maxCoeff() <=
             1e-12 * std::max(1.0, fn));
  const auto& e = h.energy;
  BOOST_TEST(e.total == ff, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.gradient + e.curl + e.harmonic <= ff * (1 + 1e-9) + 1e-300);
  BOOST_TEST(e.gradient + e.curl + e.harmonic >= ff * (1 - 1e-9));
  BOOST_TEST(e.gradient == h.gradient.squaredNorm());
  BOOST_TEST((h.betti == hc::betti_numbers(d.complex)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hodge)

BOOST_AUTO_TEST_CASE(b1_times_b2_is_exactly_zero) {
  for (auto orientation : {hc::Orientation::Index, hc::Orientation::Frequency}) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      ComplexOptions o;
      o.orientation = orientation;
      auto cx = hc::build_complex(hc::test::random_layer(15, 200, seed), o);
      BOOST_TEST_REQUIRE(cx.ok());
      BOOST_TEST(cx->triangle_count() > 20);
      const Eigen::MatrixXd product =
          Eigen::MatrixXd(hc::boundary_1(*cx)) * Eigen::MatrixXd(hc::boundary_2(*cx));
      BOOST_TEST(product.cwiseAbs().maxCoeff() == 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(random_complexes_satisfy_the_invariants) {
  for (auto orientation : {hc::Orientation::Index, hc::Orientation::Frequency}) {
    for (std::uint64_t seed = 10; seed < 14; ++seed) {
      ComplexOptions o;
      o.orientation = orientation;
      const Decomposed d = decompose(hc::test::random_layer(24, 600, seed), o);
      BOOST_TEST(d.complex.triangle_count() > 100);
      BOOST_TEST((d.hodge.curl_method != hc::CurlMethod::None));
      check_invariants(d);
      BOOST_TEST(d.hodge.energy.curl > 0.0);
      BOOST_TEST(d.hodge.energy.harmonic > 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(realistic_layer_128_experts) {
  // The docs/results.md scale: 8128 edges and 4096 candidates of which about half fill.
  const Decomposed d = decompose(hc::test::random_layer(128, 4096, 7));
  BOOST_TEST(d.complex.edge_count() == 8128);
  BOOST_TEST(d.complex.triangle_count() > 1500);
  BOOST_TEST(d.complex.holes.size() > 1500u);
  check_invariants(d);
}

BOOST_AUTO_TEST_CASE(gradient_signal_has_no_curl_or_harmonic_part) {
  hc::test::FixtureRng rng{3};
  auto cx = hc::build_complex(hc::test::random_layer(12, 120, 3), ComplexOptions{});
  BOOST_TEST_REQUIRE(cx.ok());
  BOOST_TEST(cx->triangle_count() > 10);
  Eigen::VectorXd s(12);
  for (auto& x : s) x = rng.uniform() - 0.3;
  cx->signal = Eigen::SparseMatrix<double>(hc::boundary_1(*cx)).transpose() * s;
  auto h = hc::hodge_decompose(*cx);
  BOOST_TEST_REQUIRE(h.ok());
  const double fn = cx->signal.norm();
  BOOST_TEST((h->gradient - cx->signal).norm() <= 1e-12 * fn);
  BOOST_TEST(h->curl.norm() <= 1e-10 * fn);
  BOOST_TEST(h->harmonic.norm() <= 1e-10 * fn);
  // Minimum norm: the potential is s shifted to zero mean.
  BOOST_TEST((h->potential - (s.array() - s.mean()).matrix()).norm() <= 1e-12 * s.norm());
  BOOST_TEST(h->energy.fraction(h->energy.gradient) == 1.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(curl_signal_is_recovered) {
  hc::test::FixtureRng rng{5};
  auto cx = hc::build_complex(hc::test::random_layer(14, 200, 5), ComplexOptions{});
  BOOST_TEST_REQUIRE(cx.ok());
  const Eigen::SparseMatrix<double> b2 = hc::boundary_2(*cx);
  Eigen::VectorXd c(b2.cols());
  for (auto& x : c) x = rng.uniform() - 0.5;
  cx->signal = b2 * c;
  auto h = hc::hodge_decompose(*cx);
  BOOST_TEST_REQUIRE(h.ok());
  const double fn = cx->signal.norm();
  BOOST_TEST((h->curl - cx->signal).norm() <= 1e-9 * fn);
  BOOST_TEST(h->gradient.norm() <= 1e-12 * fn);
  BOOST_TEST(h->harmonic.norm() <= 1e-9 * fn);
  BOOST_TEST(h->potential.norm() <= 1e-12 * fn);
}

BOOST_AUTO_TEST_CASE(closed_form_matches_pseudo_inverse) {
  // Complete graph: the closed form s = B1 f / E.
  const hc::LayerStats full = hc::test::random_layer(9, 40, 21);
  const Decomposed complete = decompose(full);
  const Eigen::VectorXd reference = pinv_potential(complete.complex);
  BOOST_TEST((complete.hodge.potential - reference).norm() <= 1e-12 * reference.norm());

  // The same graph plus an isolated vertex is no longer complete, so it takes the general
  // solve; the gradient must not change and the isolated vertex gets potential 0.
  hc::LayerStats padded = full;
  padded.experts = 10;
  padded.frequency.push_back(0.5f);
  padded.gate_mass.push_back(0.1f);
  padded.reap.push_back(1.0f);
  padded.ean.push_back(1.0f);
  ComplexOptions o;
  o.tau = complete.complex.tau;
  const Decomposed general = decompose(padded, o);
  BOOST_TEST((general.hodge.gradient - complete.hodge.gradient).norm() <=
             1e-12 * complete.complex.signal.norm());
  BOOST_TEST((general.hodge.potential.head(9) - complete.hodge.potential).norm() <=
             1e-12 * reference.norm());
  BOOST_TEST(general.hodge.potential[9] == 0.0);
  BOOST_TEST(general.hodge.betti[0] == 2);
  check_invariants(general);
}

BOOST_AUTO_TEST_CASE(disconnected_threshold_graph) {
  // Two clusters {0..5} and {6..11}: cheap pairs inside, expensive pairs across.
  hc::test::FixtureRng rng{8};
  hc::LayerStats layer = hc::test::complete_layer(12, [&](int i, int j) {
    const bool same = (i < 6) == (j < 6);
    return static_cast<float>(same ? rng.uniform() : 5.0 + rng.uniform());
  });
  for (int i = 0; i < 12; ++i)
    for (int j = i + 1; j < 12; ++j)
      for (int k = j + 1; k < 12; ++k)
        if (rng.uniform() < 0.3) {
          layer.triangles.push_back({i, j, k});
          layer.triangle_barrier.push_back(static_cast<float>(rng.uniform() * 2));
        }
  ComplexOptions o;
  o.tau = 1.0;
  o.edges = hc::EdgeMode::Threshold;
  const Decomposed d = decompose(layer, o);
  BOOST_TEST(d.complex.edge_count() == 30);
  BOOST_TEST(d.hodge.betti[0] == 2);
  check_invariants(d);
  BOOST_TEST(d.hodge.potential.head(6).sum() == 0.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(d.hodge.potential.tail(6).sum() == 0.0, boost::test_tools::tolerance(1e-12));
  const Eigen::VectorXd reference = pinv_potential(d.complex);
  BOOST_TEST((d.hodge.potential - reference).norm() <= 1e-10 * reference.norm());

  // A sparser threshold leaves isolated vertices and a forest: no curl, no harmonic part
  // beyond what the cycles carry.
  o.tau = 0.3;
  check_invariants(decompose(layer, o));
}

BOOST_AUTO_TEST_CASE(independent_of_file_order) {
  const hc::LayerStats layer = hc::test::random_layer(16, 300, 31);
  hc::LayerStats shuffled = layer;
  hc::test::FixtureRng rng{99};
  std::vector<int> edge_perm(layer.edges.size());
  std::iota(edge_perm.begin(), edge_perm.end(), 0);
  for (std::size_t i = edge_perm.size() - 1; i > 0; --i)
    std::swap(edge_perm[i],
              edge_perm[static_cast<std::size_t>(rng.below(static_cast<int>(i) + 1))]);
  for (std::size_t i = 0; i < edge_perm.size(); ++i) {
    shuffled.edges[i] = layer.edges[static_cast<std::size_t>(edge_perm[i])];
    shuffled.edge_barrier[i] = layer.edge_barrier[static_cast<std::size_t>(edge_perm[i])];
  }
  std::reverse(shuffled.triangles.begin(), shuffled.triangles.end());
  std::reverse(shuffled.triangle_barrier.begin(), shuffled.triangle_barrier.end());
  for (std::size_t t = 0; t < shuffled.triangles.size(); t += 2)  // vertex order within a row
    std::swap(shuffled.triangles[t][0], shuffled.triangles[t][2]);

  for (auto orientation : {hc::Orientation::Index, hc::Orientation::Frequency}) {
    ComplexOptions o;
    o.orientation = orientation;
    const Decomposed a = decompose(layer, o);
    const Decomposed b = decompose(shuffled, o);
    BOOST_TEST(a.complex.tau == b.complex.tau);
    BOOST_TEST(a.complex.triangle_count() == b.complex.triangle_count());
    BOOST_TEST(a.hodge.betti == b.hodge.betti);
    for (int e = 0; e < b.complex.edge_count(); ++e) {
      const int original = edge_perm[static_cast<std::size_t>(b.complex.edge_source[e])];
      BOOST_TEST((a.complex.edges[original] == b.complex.edges[e]));
      BOOST_TEST(std::abs(a.hodge.gradient[original] - b.hodge.gradient[e]) <= 1e-10);
      BOOST_TEST(std::abs(a.hodge.curl[original] - b.hodge.curl[e]) <= 1e-10);
      BOOST_TEST(std::abs(a.hodge.harmonic[original] - b.hodge.harmonic[e]) <= 1e-10);
    }
    BOOST_TEST((a.hodge.potential - b.hodge.potential).cwiseAbs().maxCoeff() <= 1e-10);
  }
}

BOOST_AUTO_TEST_CASE(zero_signal_and_degenerate_complexes) {
  // f = 0 with triangles: everything is exactly zero, no NaN.
  const Decomposed zero = decompose(hc::test::random_layer(8, 30, 2, 0.0f), [] {
    ComplexOptions o;
    o.tau = 0.0;
    return o;
  }());
  hc::Complex cx = zero.complex;
  cx.signal.setZero();
  auto h = hc::hodge_decompose(cx);
  BOOST_TEST_REQUIRE(h.ok());
  BOOST_TEST(cx.triangle_count() > 0);
  BOOST_TEST(h->gradient.cwiseAbs().maxCoeff() == 0.0);
  BOOST_TEST(h->curl.cwiseAbs().maxCoeff() == 0.0);
  BOOST_TEST(h->harmonic.cwiseAbs().maxCoeff() == 0.0);
  BOOST_TEST(h->energy.total == 0.0);
  BOOST_TEST(h->energy.fraction(h->energy.harmonic) == 0.0);
  BOOST_TEST(h->residual_b1 == 0.0);
  BOOST_TEST(h->residual_b2t == 0.0);

  // No triangles: curl is zero and harmonic = f - gradient.
  const Decomposed flat = decompose(hc::test::complete_layer(
      7, [](int i, int j) { return static_cast<float>((i * 7 + j * 3) % 5); }));
  BOOST_TEST(flat.complex.triangle_count() == 0);
  BOOST_TEST(flat.hodge.curl_iterations == 0);
  BOOST_TEST(flat.hodge.curl.cwiseAbs().maxCoeff() == 0.0);
  BOOST_TEST(flat.hodge.betti[1] == 15);  // 21 edges - 6
  check_invariants(flat);

  // No edges at all, and no vertices at all.
  for (int experts : {0, 1, 4}) {
    auto empty = hc::build_complex(hc::test::make_layer(experts, {}, {}), ComplexOptions{});
    BOOST_TEST_REQUIRE(empty.ok());
    auto he = hc::hodge_decompose(*empty);
    BOOST_TEST_REQUIRE(he.ok());
    BOOST_TEST(he->gradient.size() == 0);
    BOOST_TEST(he->potential.size() == experts);
    BOOST_TEST(he->betti[0] == experts);
  }
}

BOOST_AUTO_TEST_CASE(direct_and_iterative_curl_agree) {
  // Sparse to saturated fillings, both fill rules, complete and threshold edges: the direct solve
  // (taken whenever it is exact) and CGLS give the same parts to the solver tolerance.
  int direct = 0, iterative = 0;
  for (const auto& [experts, candidates, seed] : std::vector<std::tuple<int, int, std::uint64_t>>{
           {12, 120, 1}, {24, 600, 2}, {40, 1500, 3}, {128, 4096, 4}}) {
    const hc::LayerStats layer = hc::test::random_layer(experts, candidates, seed);
    for (double q : {0.1, 0.5, 0.75, 1.0}) {
      for (auto edges : {hc::EdgeMode::Complete, hc::EdgeMode::Threshold}) {
        ComplexOptions o;
        o.tau_quantile = q;
        o.edges = edges;
        hc::HodgeOptions cgls;
        cgls.curl_solver = hc::CurlSolver::Iterative;
        const Decomposed a = decompose(layer, o);
        const Decomposed c = decompose(layer, o, cgls);
        if (a.complex.triangle_count() == 0) continue;
        check_invariants(a);
        BOOST_TEST((c.hodge.curl_method == hc::CurlMethod::Iterative));
        direct += a.hodge.curl_method == hc::CurlMethod::Direct;
        iterative += a.hodge.curl_method == hc::CurlMethod::Iterative;
        const double fn = a.complex.signal.norm();
        BOOST_TEST((a.hodge.curl - c.hodge.curl).norm() <= 1e-9 * fn);
        BOOST_TEST((a.hodge.harmonic - c.hodge.harmonic).norm() <= 1e-9 * fn);
        BOOST_TEST((a.hodge.betti == c.hodge.betti));
        if (a.hodge.curl_method == hc::CurlMethod::Direct) {
          BOOST_TEST(a.hodge.curl_iterations == 0);
          BOOST_TEST(a.hodge.curl_coefficients.size() == 0);
        }
      }
    }
  }
  // Random candidates leave 1-cycles among the triangles' edges more often than real layers
  // (every layer of the bundled models solves directly), so both paths are exercised here.
  BOOST_TEST(direct >= 5);
  BOOST_TEST(iterative >= 5);
}

BOOST_AUTO_TEST_CASE(curl_falls_back_to_cgls_around_a_hole) {
  // Six faces of an octahedron (antipodes 0-5, 1-3, 2-4) without the opposite faces 012 and
  // 345: an annulus. Its edges carry one 1-cycle that no filled triangle bounds, so the direct
  // solve would misplace that cycle's share in the curl; CGLS must run instead.
  const std::vector<std::array<int, 3>> faces = {{0, 1, 4}, {0, 3, 2}, {0, 3, 4},
                                                 {5, 1, 2}, {5, 1, 4}, {5, 3, 2}};
  hc::LayerStats layer = hc::test::complete_layer(
      6, [](int i, int j) { return static_cast<float>(1 + (i * 5 + j * 3) % 7); });
  for (auto t : faces) {
    std::sort(t.begin(), t.end());
    layer.triangles.push_back({t[0], t[1], t[2]});
    layer.triangle_barrier.push_back(0.0f);
  }
  const Decomposed a = decompose(layer);
  BOOST_TEST_REQUIRE(a.complex.triangle_count() == 6);
  BOOST_TEST((a.hodge.betti == std::array<int, 3>{1, 4, 0}));  // 15 - 5 - 6 edges' cycles left
  BOOST_TEST((a.hodge.curl_method == hc::CurlMethod::Iterative));
  check_invariants(a);
  // Filling one removed face closes the hole: the direct solve applies and agrees.
  layer.triangles.push_back({0, 1, 2});
  layer.triangle_barrier.push_back(0.0f);
  const Decomposed closed = decompose(layer);
  hc::HodgeOptions cgls;
  cgls.curl_solver = hc::CurlSolver::Iterative;
  const Decomposed reference = decompose(layer, {}, cgls);
  BOOST_TEST((closed.hodge.curl_method == hc::CurlMethod::Direct));
  check_invariants(closed);
  BOOST_TEST((closed.hodge.curl - reference.hodge.curl).norm() <=
             1e-9 * closed.complex.signal.norm());
}

BOOST_AUTO_TEST_CASE(solver_failure_and_bad_options) {
  auto cx = hc::build_complex(hc::test::random_layer(20, 500, 4), ComplexOptions{});
  BOOST_TEST_REQUIRE(cx.ok());
  hc::HodgeOptions starved;
  starved.curl_solver = hc::CurlSolver::Iterative;
  starved.max_iterations = 2;  // two CGLS steps cannot reach 1e-8
  auto h = hc::hodge_decompose(*cx, starved);
  BOOST_TEST_REQUIRE(!h.ok());
  BOOST_TEST((h.error().code == hc::ErrorCode::NumericalFailure));
  BOOST_TEST(h.error().message.find("B2^T") != std::string::npos);

  for (double tol : {0.0, -1.0, std::nan("")}) {
    hc::HodgeOptions bad;
    bad.tolerance = tol;
    BOOST_TEST((hc::hodge_decompose(*cx, bad).error().code == hc::ErrorCode::InvalidArgument));
  }
  hc::Complex broken = *cx;
  broken.signal.resize(3);
  BOOST_TEST((hc::hodge_decompose(broken).error().code == hc::ErrorCode::InvalidArgument));
}

BOOST_AUTO_TEST_SUITE_END()
