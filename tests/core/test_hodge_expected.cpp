// Orientation-averaged Hodge energies: the closed form against brute force over every sign
// vector, independence of the orientation, the total identity, and the sampled fallback.
#include <Eigen/Dense>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>

#include "fixtures.hpp"
#include "hc/complex.hpp"
#include "hc/hodge.hpp"
#include "hc/hodge_expected.hpp"

namespace {

hc::Complex build(const hc::LayerStats& layer, const hc::ComplexOptions& o = {}) {
  auto cx = hc::build_complex(layer, o);
  BOOST_TEST_REQUIRE(cx.ok());
  return *cx;
}

hc::ExpectedEnergies expected(const hc::Complex& cx) {
  auto e = hc::expected_hodge_energies(cx);
  if (!e) BOOST_TEST_MESSAGE(e.error().message);
  BOOST_TEST_REQUIRE(e.ok());
  return *e;
}

// Mean of each part squared over all 2^M sign vectors (M <= 16).
hc::ExpectedEnergies brute_force(const hc::Complex& cx) {
  const auto m = static_cast<Eigen::Index>(cx.edges.size());
  hc::ExpectedEnergies out;
  out.gradient = out.curl = out.harmonic = Eigen::VectorXd::Zero(m);
  hc::Complex flipped = cx;
  const std::uint64_t count = std::uint64_t{1} << m;
  for (std::uint64_t mask = 0; mask < count; ++mask) {
    for (Eigen::Index e = 0; e < m; ++e)
      flipped.signal[e] = (mask >> e) & 1 ? -cx.signal[e] : cx.signal[e];
    auto h = hc::hodge_decompose(flipped);
    BOOST_TEST_REQUIRE(h.ok());
    out.gradient += h->gradient.cwiseAbs2();
    out.curl += h->curl.cwiseAbs2();
    out.harmonic += h->harmonic.cwiseAbs2();
  }
  out.gradient /= static_cast<double>(count);
  out.curl /= static_cast<double>(count);
  out.harmonic /= static_cast<double>(count);
  return out;
}

void check_close(const Eigen::VectorXd& a, const Eigen::VectorXd& b, double scale) {
  BOOST_TEST_REQUIRE(a.size() == b.size());
  BOOST_TEST((a - b).cwiseAbs().maxCoeff() <= 1e-9 * scale);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hodge_expected)

BOOST_AUTO_TEST_CASE(closed_form_equals_the_mean_over_every_orientation) {
  // K5 (10 edges) with filled triangles, and a threshold graph (not complete), both ways round.
  for (auto edges : {hc::EdgeMode::Complete, hc::EdgeMode::Threshold}) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      hc::ComplexOptions o;
      o.edges = edges;
      o.tau_quantile = 0.8;
      const hc::Complex cx = build(hc::test::random_layer(5, 8, seed, 1.2f), o);
      BOOST_TEST_REQUIRE(cx.edge_count() <= 10);
      const hc::ExpectedEnergies exact = expected(cx);
      const hc::ExpectedEnergies brute = brute_force(cx);
      const double scale = cx.signal.squaredNorm();
      check_close(exact.gradient, brute.gradient, scale);
      check_close(exact.curl, brute.curl, scale);
      check_close(exact.harmonic, brute.harmonic, scale);
      BOOST_TEST(!exact.sampled);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_filled_complex_has_curl_and_the_totals_add_up) {
  const hc::Complex cx = build(hc::test::random_layer(12, 40, 4, 1.0f));
  BOOST_TEST_REQUIRE(cx.triangle_count() > 10);
  const hc::ExpectedEnergies e = expected(cx);
  BOOST_TEST(e.curl.sum() > 0.0);
  BOOST_TEST(e.harmonic.sum() > 0.0);
  // Each part's total is Σ_k P_kk f_k², and the three projectors sum to I.
  BOOST_TEST(e.total() == cx.signal.squaredNorm(), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(e.gradient.minCoeff() >= 0.0);
  BOOST_TEST(e.curl.minCoeff() >= 0.0);
  BOOST_TEST(e.harmonic.minCoeff() >= 0.0);
}

BOOST_AUTO_TEST_CASE(independent_of_the_orientation) {
  // The oriented harmonic part changes with the vertex order; its orientation average does not.
  const hc::LayerStats layer = hc::test::random_layer(16, 120, 9, 1.0f);
  hc::ComplexOptions by_index, by_frequency;
  by_frequency.orientation = hc::Orientation::Frequency;
  const hc::Complex a = build(layer, by_index), b = build(layer, by_frequency);
  BOOST_TEST_REQUIRE(a.triangle_count() > 5);
  BOOST_TEST_REQUIRE(a.edges != b.edges);  // really oriented differently
  const auto ha = hc::hodge_decompose(a), hb = hc::hodge_decompose(b);
  BOOST_TEST_REQUIRE((ha.ok() && hb.ok()));
  const double scale = a.signal.squaredNorm();
  BOOST_TEST((ha->harmonic.cwiseAbs2() - hb->harmonic.cwiseAbs2()).cwiseAbs().maxCoeff() >
             1e-6 * scale);
  const hc::ExpectedEnergies ea = expected(a), eb = expected(b);
  check_close(ea.harmonic, eb.harmonic, scale);
  check_close(ea.gradient, eb.gradient, scale);
  check_close(ea.curl, eb.curl, scale);
}

BOOST_AUTO_TEST_CASE(without_triangles_it_is_the_cycle_projection) {
  // Complete graph, nothing filled: h_e = (1 - 2/E)² f_e² + (1/E²) Σ_{k adjacent to e} f_k².
  const int n = 7;
  hc::LayerStats layer = hc::test::complete_layer(
      n, [](int i, int j) { return static_cast<float>(0.1 + 0.07 * i + 0.013 * j * j); });
  const hc::Complex cx = build(layer);
  BOOST_TEST_REQUIRE(cx.triangle_count() == 0);
  const hc::ExpectedEnergies e = expected(cx);
  for (int a = 0; a < cx.edge_count(); ++a) {
    double adjacent = 0.0;
    for (int k = 0; k < cx.edge_count(); ++k) {
      if (k == a) continue;
      const auto& x = cx.edges[a];
      const auto& y = cx.edges[k];
      if (x[0] == y[0] || x[0] == y[1] || x[1] == y[0] || x[1] == y[1])
        adjacent += cx.signal[k] * cx.signal[k];
    }
    const double want =
        (1 - 2.0 / n) * (1 - 2.0 / n) * cx.signal[a] * cx.signal[a] + adjacent / (n * n);
    BOOST_TEST(e.harmonic[a] == want, boost::test_tools::tolerance(1e-10));
  }
  BOOST_TEST(e.curl.sum() == 0.0);
}

BOOST_AUTO_TEST_CASE(large_fillings_are_sampled_and_close_to_exact) {
  // 40 experts with most candidates filled: too many for the exact curl terms.
  const hc::Complex cx = build(hc::test::random_layer(40, 3000, 11, 0.9f));
  BOOST_TEST_REQUIRE(cx.triangle_count() > 1000);
  const hc::ExpectedEnergies e = expected(cx);
  BOOST_TEST(e.sampled);
  // The gradient part stays exact; layer totals of the sampled parts are tight.
  BOOST_TEST(e.total() == cx.signal.squaredNorm(), boost::test_tools::tolerance(0.05));
  BOOST_TEST(e.harmonic.minCoeff() >= 0.0);
}

BOOST_AUTO_TEST_CASE(malformed_complex_is_an_error) {
  hc::Complex cx = build(hc::test::random_layer(5, 4, 2));
  cx.signal.resize(3);
  BOOST_TEST((hc::expected_hodge_energies(cx).error().code == hc::ErrorCode::InvalidArgument));
}

BOOST_AUTO_TEST_SUITE_END()
