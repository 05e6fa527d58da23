// Warm-started decompositions (the τ slider): reusing the gradient and Betti numbers and starting
// CGLS from the previous curl coefficients gives the cold result to the solver tolerance, for τ
// moves in both directions; complexes whose edges moved, and unusable previous results, go cold.
// Most cases force CGLS (what warm starts are for); one runs the default direct solve.
#include <Eigen/SparseCore>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

#include "fixtures.hpp"
#include "hc/analysis.hpp"
#include "hc/complex.hpp"
#include "hc/hodge.hpp"

namespace {

using hc::ComplexOptions;
using hc::LayerAnalysis;

LayerAnalysis cold(const hc::LayerStats& layer, const ComplexOptions& o,
                   const hc::HodgeOptions& h = {}) {
  auto a = hc::analyze_layer(layer, o, h);
  if (!a) BOOST_TEST_MESSAGE(a.error().message);
  BOOST_TEST_REQUIRE(a.ok());
  return std::move(a).value();
}

LayerAnalysis warm(const hc::LayerStats& layer, const ComplexOptions& o,
                   const LayerAnalysis& previous, const hc::HodgeOptions& h = {}) {
  auto a = hc::reanalyze_layer(layer, o, previous, h);
  if (!a) BOOST_TEST_MESSAGE(a.error().message);
  BOOST_TEST_REQUIRE(a.ok());
  return std::move(a).value();
}

// The warm result is the cold one to the solver tolerance, and satisfies the same checks.
void check_matches_cold(const LayerAnalysis& w, const LayerAnalysis& c, double tolerance) {
  BOOST_TEST_REQUIRE((w.complex.filled == c.complex.filled));
  BOOST_TEST_REQUIRE((w.complex.edges == c.complex.edges));
  BOOST_TEST_REQUIRE(w.complex.filled_source.size() == w.complex.filled.size());
  const double fn = c.complex.signal.norm();
  BOOST_TEST((w.hodge.gradient - c.hodge.gradient).norm() <= tolerance * fn);
  BOOST_TEST((w.hodge.potential - c.hodge.potential).norm() <= tolerance * fn);
  BOOST_TEST((w.hodge.curl - c.hodge.curl).norm() <= tolerance * fn);
  BOOST_TEST((w.hodge.harmonic - c.hodge.harmonic).norm() <= tolerance * fn);
  BOOST_TEST(std::abs(w.hodge.energy.curl - c.hodge.energy.curl) <= tolerance * fn * fn);
  BOOST_TEST(std::abs(w.hodge.energy.harmonic - c.hodge.energy.harmonic) <= tolerance * fn * fn);
  BOOST_TEST(w.hodge.residual_b1 <= tolerance);
  BOOST_TEST(w.hodge.residual_b2t <= tolerance);
  // Betti numbers are exact, reused or not.
  BOOST_TEST((w.hodge.betti == c.hodge.betti));
  BOOST_TEST((w.hodge.betti == hc::betti_numbers(w.complex)));
  // The coefficients a later warm start draws on really produce the reported curl.
  if (w.hodge.curl_method == hc::CurlMethod::Direct) return;
  BOOST_TEST_REQUIRE(w.hodge.curl_coefficients.size() == w.complex.triangle_count());
  if (w.complex.triangle_count() > 0) {
    const Eigen::VectorXd b2c = hc::boundary_2(w.complex) * w.hodge.curl_coefficients;
    BOOST_TEST((b2c - w.hodge.curl).norm() <= 1e-12 * std::max(1.0, fn));
  }
}

hc::HodgeOptions cgls(double tolerance = 1e-8) {
  hc::HodgeOptions h;
  h.tolerance = tolerance;
  h.curl_solver = hc::CurlSolver::Iterative;
  return h;
}

bool no_reuse(const hc::HodgeDecomposition& h) {
  return !h.reused.gradient && !h.reused.betti && h.reused.warm_triangles == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hodge_warm)

BOOST_AUTO_TEST_CASE(tau_moves_in_both_directions_match_cold) {
  const hc::LayerStats layer = hc::test::random_layer(40, 1500, 17);
  for (auto fill : {hc::FillRule::Tau, hc::FillRule::Sum}) {
    for (double tolerance : {1e-8, 1e-6}) {
      const hc::HodgeOptions h = cgls(tolerance);
      ComplexOptions o;
      o.fill = fill;
      LayerAnalysis previous = cold(layer, o, h);
      const double tau0 = previous.complex.tau;
      int grew = 0, shrank = 0, same = 0;
      // Up, repeated, down past the start, and up again.
      for (double scale : {1.2, 1.6, 1.6, 0.9, 0.5, 0.7, 1.0, 2.5, 0.3}) {
        o.tau = tau0 * scale;
        const LayerAnalysis c = cold(layer, o, h);
        const LayerAnalysis w = warm(layer, o, previous, h);
        check_matches_cold(w, c, tolerance);
        // On the complete graph only the filled triangles move.
        BOOST_TEST(w.hodge.reused.gradient);
        const bool unchanged = w.complex.filled == previous.complex.filled;
        BOOST_TEST(w.hodge.reused.betti == unchanged);
        if (unchanged && w.complex.triangle_count() > 0) {
          ++same;
          BOOST_TEST(w.hodge.reused.warm_triangles == w.complex.triangle_count());
          BOOST_TEST(w.hodge.curl_iterations <= 1);  // started at the answer
        }
        grew += w.complex.triangle_count() > previous.complex.triangle_count();
        shrank += w.complex.triangle_count() < previous.complex.triangle_count();
        if (w.complex.triangle_count() > 0 && previous.complex.triangle_count() > 0 && !unchanged)
          BOOST_TEST(w.hodge.reused.warm_triangles > 0);
        previous = w;  // chain warm results, as the slider does
      }
      BOOST_TEST(same >= 1);
      if (fill == hc::FillRule::Tau) {
        BOOST_TEST(grew >= 2);
        BOOST_TEST(shrank >= 2);
      } else {
        BOOST_TEST(grew + shrank == 0);  // sum fill on the complete graph ignores τ
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(realistic_layer_128_experts_warm) {
  // The dashboard's scale: 8128 edges, thousands of candidates.
  // With the default solver (direct where exact) and with CGLS throughout.
  const hc::LayerStats layer = hc::test::random_layer(128, 4096, 7);
  for (const hc::HodgeOptions& h : {hc::HodgeOptions{}, cgls()}) {
    ComplexOptions o;
    LayerAnalysis previous = cold(layer, o, h);
    const double tau0 = previous.complex.tau;
    for (double scale : {1.1, 0.8, 0.8, 1.3, 0.1}) {
      o.tau = tau0 * scale;
      const LayerAnalysis w = warm(layer, o, previous, h);
      check_matches_cold(w, cold(layer, o, cgls()), 1e-8);
      BOOST_TEST(w.hodge.reused.gradient);
      previous = w;
    }
  }
}

BOOST_AUTO_TEST_CASE(threshold_graph_falls_back_to_cold) {
  const hc::LayerStats layer = hc::test::random_layer(30, 900, 23);
  ComplexOptions o;
  o.edges = hc::EdgeMode::Threshold;
  LayerAnalysis previous = cold(layer, o);
  const double tau0 = previous.complex.tau;
  for (double scale : {1.15, 0.8, 1.3}) {
    o.tau = tau0 * scale;
    const LayerAnalysis c = cold(layer, o);
    const LayerAnalysis w = warm(layer, o, previous);
    BOOST_TEST_REQUIRE(!hc::detail::is_complete_graph(w.complex));
    BOOST_TEST_REQUIRE(w.complex.edge_count() != previous.complex.edge_count());
    // The edges moved, so nothing is reused and the cold path runs: bit-identical results.
    BOOST_TEST(no_reuse(w.hodge));
    BOOST_TEST(w.hodge.curl_iterations == c.hodge.curl_iterations);
    BOOST_TEST((w.hodge.gradient == c.hodge.gradient));
    BOOST_TEST((w.hodge.curl == c.hodge.curl));
    BOOST_TEST((w.hodge.harmonic == c.hodge.harmonic));
    BOOST_TEST((w.hodge.betti == c.hodge.betti));
    previous = w;
  }
}

BOOST_AUTO_TEST_CASE(unusable_previous_starts_cold) {
  const hc::LayerStats layer = hc::test::random_layer(24, 600, 5);
  const LayerAnalysis base = cold(layer, ComplexOptions{});
  ComplexOptions o;
  o.tau = base.complex.tau * 1.2;
  const LayerAnalysis c = cold(layer, o);

  // A failed layer's placeholder (no decomposition), another layer, another signal.
  LayerAnalysis empty;
  empty.layer = layer.layer;
  empty.complex = base.complex;
  hc::LayerStats other_layer = hc::test::random_layer(24, 600, 6);
  other_layer.layer = layer.layer + 1;
  const LayerAnalysis other = cold(other_layer, ComplexOptions{});
  for (const LayerAnalysis* previous : {static_cast<const LayerAnalysis*>(&empty), &other}) {
    const LayerAnalysis w = warm(layer, o, *previous);
    BOOST_TEST(no_reuse(w.hodge));
    BOOST_TEST((w.hodge.curl == c.hodge.curl));
    BOOST_TEST((w.hodge.betti == c.hodge.betti));
  }
  hc::Complex shifted = base.complex;
  shifted.signal.array() += 0.25;
  auto h = hc::hodge_decompose(c.complex, {}, shifted, base.hodge);
  BOOST_TEST_REQUIRE(h.ok());
  BOOST_TEST(no_reuse(*h));
  BOOST_TEST((h->harmonic == c.hodge.harmonic));

  // A bad option is still an error on the warm path.
  hc::HodgeOptions bad;
  bad.tolerance = 0.0;
  BOOST_TEST((hc::hodge_decompose(c.complex, bad, base.complex, base.hodge).error().code ==
              hc::ErrorCode::InvalidArgument));
}

BOOST_AUTO_TEST_SUITE_END()
