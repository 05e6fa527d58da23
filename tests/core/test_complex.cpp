// Complex construction (docs/METHOD.md): threshold tau, numpy-linear quantiles, edge modes, fill
// rules, holes, orientation, boundary operators and rejection of bad options and corrupt layers.
#include <Eigen/Dense>
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "fixtures.hpp"
#include "hc/complex.hpp"

namespace {

using hc::ComplexOptions;
using hc::ErrorCode;

// K4 with barriers 1..6 in lexicographic edge order: (0,1)=1 (0,2)=2 (0,3)=3 (1,2)=4 (1,3)=5
// (2,3)=6, and every triple as a candidate with the given triplet barriers.
hc::LayerStats k4(const std::vector<float>& triangle_barrier = {10, 10, 10, 10}) {
  hc::LayerStats layer = hc::test::complete_layer(4, [](int i, int j) {
    static const float b[4][4] = {{0, 1, 2, 3}, {0, 0, 4, 5}, {0, 0, 0, 6}, {0, 0, 0, 0}};
    return b[i][j];
  });
  layer.triangles = {{0, 1, 2}, {0, 1, 3}, {0, 2, 3}, {1, 2, 3}};
  layer.triangle_barrier = triangle_barrier;
  return layer;
}

ComplexOptions with_tau(double tau) {
  ComplexOptions o;
  o.tau = tau;
  return o;
}

// numpy.quantile(values, q) with the default 'linear' method, written from its definition.
double numpy_linear(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - std::floor(h)) * (v[hi] - v[lo]);
}

Eigen::MatrixXd dense(const Eigen::SparseMatrix<double>& m) {
  return Eigen::MatrixXd(m);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(complex)

BOOST_AUTO_TEST_CASE(quantile_matches_numpy_linear) {
  BOOST_TEST(hc::quantile({3, 1, 2, 4}, 0.5) == 2.5);
  BOOST_TEST(hc::quantile({3, 1, 2, 4}, 0.0) == 1.0);
  BOOST_TEST(hc::quantile({3, 1, 2, 4}, 1.0) == 4.0);
  BOOST_TEST(hc::quantile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.1) == 1.9,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(hc::quantile({1, 2, 3, 4, 5, 6}, 0.75) == 4.75);
  BOOST_TEST(hc::quantile({7.5}, 0.3) == 7.5);
  BOOST_TEST(hc::quantile({}, 0.5) == 0.0);
  BOOST_TEST(hc::quantile({2, 2, 2, 5}, 0.5) == 2.0);

  hc::test::FixtureRng rng{42};
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> v(static_cast<std::size_t>(1 + rng.below(40)));
    for (double& x : v) x = rng.uniform() < 0.2 ? 0.5 : rng.uniform();  // with ties
    const double q = trial % 10 == 0 ? 1.0 : rng.uniform();
    BOOST_TEST(hc::quantile(v, q) == numpy_linear(v, q), boost::test_tools::tolerance(1e-14));
  }
}

BOOST_AUTO_TEST_CASE(tau_from_quantile_and_absolute) {
  const hc::LayerStats layer = k4();
  auto by_quantile = hc::build_complex(layer, ComplexOptions{});
  BOOST_TEST_REQUIRE(by_quantile.ok());
  BOOST_TEST(by_quantile->tau == 4.75);  // 0.75 quantile of 1..6

  ComplexOptions median;
  median.tau_quantile = 0.5;
  BOOST_TEST(hc::build_complex(layer, median)->tau == 3.5);

  auto absolute = hc::build_complex(layer, with_tau(2.25));
  BOOST_TEST_REQUIRE(absolute.ok());
  BOOST_TEST(absolute->tau == 2.25);
  // An absolute tau wins over the quantile.
  ComplexOptions both = with_tau(0.0);
  both.tau_quantile = 0.9;
  BOOST_TEST(hc::build_complex(layer, both)->tau == 0.0);
}

BOOST_AUTO_TEST_CASE(complete_mode_keeps_every_edge_in_file_order) {
  hc::LayerStats layer = k4();
  std::reverse(layer.edges.begin(), layer.edges.end());
  std::reverse(layer.edge_barrier.begin(), layer.edge_barrier.end());
  auto cx = hc::build_complex(layer, with_tau(0.0));
  BOOST_TEST_REQUIRE(cx.ok());
  BOOST_TEST(cx->vertex_count == 4);
  BOOST_TEST_REQUIRE(cx->edge_count() == 6);
  for (int e = 0; e < 6; ++e) {
    BOOST_TEST(cx->edge_source[e] == e);
    BOOST_TEST(cx->signal[e] == layer.edge_barrier[e]);
    BOOST_TEST(cx->edges[e][0] == layer.edges[e][0]);  // index orientation: tail < head
    BOOST_TEST(cx->edges[e][1] == layer.edges[e][1]);
  }
}

BOOST_AUTO_TEST_CASE(threshold_mode_drops_edges_above_tau) {
  ComplexOptions o = with_tau(3.5);
  o.edges = hc::EdgeMode::Threshold;
  auto cx = hc::build_complex(k4({0, 0, 0, 0}), o);
  BOOST_TEST_REQUIRE(cx.ok());
  BOOST_TEST_REQUIRE(cx->edge_count() == 3);  // barriers 1, 2, 3: the star around vertex 0
  BOOST_TEST(cx->edge_source == std::vector<int>({0, 1, 2}));
  BOOST_TEST(cx->signal[2] == 3.0);
  // Every candidate now misses an edge: no filled triangles and no holes.
  BOOST_TEST(cx->triangle_count() == 0);
  BOOST_TEST(cx->holes.empty());

  // An edge exactly at tau is kept (b <= tau).
  o.tau = 4.0;
  cx = hc::build_complex(k4({0, 0, 0, 0}), o);
  BOOST_TEST(cx->edge_count() == 4);
  BOOST_TEST_REQUIRE(cx->triangle_count() == 1);  // (0,1,2) has edges 1, 2, 4
  BOOST_TEST((cx->filled[0] == std::array<int, 3>{0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(fill_rule_tau_versus_sum) {
  // Triangles (0,1,2): pair sum 7; (0,1,3): 9; (0,2,3): 11; (1,2,3): 15. tau = 5.
  const hc::LayerStats layer = k4({4, 8, 12, 16});
  ComplexOptions o = with_tau(5.0);
  auto by_tau = hc::build_complex(layer, o);
  BOOST_TEST_REQUIRE(by_tau.ok());
  BOOST_TEST_REQUIRE(by_tau->triangle_count() == 1);
  BOOST_TEST((by_tau->filled[0] == std::array<int, 3>{0, 1, 2}));
  BOOST_TEST(by_tau->filled_barrier[0] == 4.0);
  BOOST_TEST(by_tau->holes.size() == 3u);

  o.fill = hc::FillRule::Sum;
  auto by_sum = hc::build_complex(layer, o);
  BOOST_TEST_REQUIRE(by_sum.ok());
  BOOST_TEST(by_sum->triangle_count() == 2);  // 4 <= 7 and 8 <= 9; 12 > 11, 16 > 15
  BOOST_TEST_REQUIRE(by_sum->holes.size() == 2u);
  BOOST_TEST((by_sum->holes[0] == std::array<int, 3>{0, 2, 3}));
  BOOST_TEST(by_sum->hole_barrier[0] == 12.0);
  BOOST_TEST(by_sum->hole_barrier[1] == 16.0);

  // Barrier exactly at the limit fills under both rules.
  auto edge = hc::build_complex(k4({5, 9, 100, 100}), o);
  BOOST_TEST(edge->triangle_count() == 2);
  o.fill = hc::FillRule::Tau;
  BOOST_TEST(hc::build_complex(k4({5, 9, 100, 100}), o)->triangle_count() == 1);
}

BOOST_AUTO_TEST_CASE(flow_signal_is_the_antisymmetric_substitution_cost) {
  // d(i -> j) = 4i + j + 1: f on the oriented edge (tail, head) is d(tail->head) - d(head->tail)
  // = 3 (tail - head); τ and the fill rules still read the barriers.
  hc::LayerStats layer = k4({4, 8, 12, 16});
  layer.substitution.assign(16, 0.0f);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      if (i != j) layer.substitution[static_cast<std::size_t>(i * 4 + j)] = float(4 * i + j + 1);
  ComplexOptions o = with_tau(5.0);
  o.fill = hc::FillRule::Sum;
  const auto by_barrier = hc::build_complex(layer, o);
  o.signal = hc::EdgeSignal::SubstitutionFlow;
  const auto by_flow = hc::build_complex(layer, o);
  BOOST_TEST_REQUIRE((by_barrier.ok() && by_flow.ok()));
  BOOST_TEST((by_flow->filled == by_barrier->filled));
  BOOST_TEST(by_flow->tau == by_barrier->tau);
  for (int e = 0; e < by_flow->edge_count(); ++e) {
    const auto [tail, head] = by_flow->edges[static_cast<std::size_t>(e)];
    BOOST_TEST(by_flow->signal[e] == 3.0 * (tail - head));
  }
  // Another orientation flips edges and their signs together.
  o.orientation = hc::Orientation::Frequency;
  layer.frequency = {0.4f, 0.3f, 0.2f, 0.1f};
  const auto flipped = hc::build_complex(layer, o);
  BOOST_TEST_REQUIRE(flipped.ok());
  for (int e = 0; e < flipped->edge_count(); ++e) {
    const auto [tail, head] = flipped->edges[static_cast<std::size_t>(e)];
    BOOST_TEST(flipped->signal[e] == 3.0 * (tail - head));
  }
  BOOST_TEST(hc::describe_complex(o).find("substitution-flow") != std::string::npos);
  // A layer without substitution barriers cannot give the flow.
  layer.substitution.clear();
  const auto missing = hc::build_complex(layer, o);
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST((missing.error().code == hc::ErrorCode::InvalidArgument));
  BOOST_TEST(missing.error().message.find("substitution_barrier") != std::string::npos);
  BOOST_TEST((*hc::parse_edge_signal("flow") == hc::EdgeSignal::SubstitutionFlow));
  BOOST_TEST(!hc::parse_edge_signal("flux").ok());
}

BOOST_AUTO_TEST_CASE(holes_need_all_three_edges) {
  // Path 0-1-2 plus edge 2-3: candidate (0,1,2) misses (0,2); (1,2,3) misses (1,3).
  const hc::LayerStats layer = hc::test::make_layer(4, {{0, 1}, {1, 2}, {2, 3}, {1, 3}},
                                                    {1, 1, 1, 1}, {{0, 1, 2}, {1, 2, 3}}, {9, 9});
  auto cx = hc::build_complex(layer, with_tau(2.0));
  BOOST_TEST_REQUIRE(cx.ok());
  BOOST_TEST(cx->triangle_count() == 0);
  BOOST_TEST_REQUIRE(cx->holes.size() == 1u);  // only (1,2,3) has its edges
  BOOST_TEST((cx->holes[0] == std::array<int, 3>{1, 2, 3}));
  BOOST_TEST(cx->hole_barrier[0] == 9.0);
}

BOOST_AUTO_TEST_CASE(frequency_orientation_orders_by_ascending_frequency) {
  hc::LayerStats layer = k4({0, 0, 0, 0});
  layer.frequency = {0.4f, 0.1f, 0.3f, 0.2f};  // order 1, 3, 2, 0
  ComplexOptions o = with_tau(1.0);
  o.orientation = hc::Orientation::Frequency;
  auto cx = hc::build_complex(layer, o);
  BOOST_TEST_REQUIRE(cx.ok());
  BOOST_TEST(cx->rank == std::vector<int>({3, 0, 2, 1}));
  // Edges keep file order and values; orientation goes from lower to higher rank.
  const std::vector<std::array<int, 2>> expected = {{1, 0}, {2, 0}, {3, 0}, {1, 2}, {1, 3}, {3, 2}};
  BOOST_TEST_REQUIRE(cx->edge_count() == 6);
  for (int e = 0; e < 6; ++e) {
    BOOST_TEST((cx->edges[e] == expected[e]));
    BOOST_TEST(cx->signal[e] == e + 1);
  }
  BOOST_TEST_REQUIRE(cx->triangle_count() == 4);
  BOOST_TEST((cx->filled[0] == std::array<int, 3>{1, 2, 0}));  // candidate (0,1,2)
  BOOST_TEST((cx->filled[3] == std::array<int, 3>{1, 3, 2}));  // candidate (1,2,3)

  // B1 follows the orientation: edge 0 = 1 -> 0 has -1 at vertex 1, +1 at vertex 0.
  const Eigen::MatrixXd b1 = dense(hc::boundary_1(*cx));
  BOOST_TEST(b1(1, 0) == -1.0);
  BOOST_TEST(b1(0, 0) == 1.0);
  BOOST_TEST((dense(hc::boundary_1(*cx)) * dense(hc::boundary_2(*cx))).cwiseAbs().maxCoeff() ==
             0.0);

  // Ties fall back to the index: equal frequencies give the index orientation.
  layer.frequency = {0.5f, 0.5f, 0.5f, 0.5f};
  cx = hc::build_complex(layer, o);
  BOOST_TEST(cx->rank == std::vector<int>({0, 1, 2, 3}));
  BOOST_TEST((cx->edges[5] == std::array<int, 2>{2, 3}));
}

BOOST_AUTO_TEST_CASE(boundary_operators_follow_the_documented_convention) {
  auto cx = hc::build_complex(k4({0, 10, 10, 10}), with_tau(1.0));
  BOOST_TEST_REQUIRE(cx.ok());
  const Eigen::MatrixXd b1 = dense(hc::boundary_1(*cx));
  const Eigen::MatrixXd b2 = dense(hc::boundary_2(*cx));
  BOOST_TEST(b1.rows() == 4);
  BOOST_TEST(b1.cols() == 6);
  BOOST_TEST(b2.rows() == 6);
  BOOST_TEST(b2.cols() == 1);
  for (int e = 0; e < 6; ++e) {
    BOOST_TEST(b1(cx->edges[e][0], e) == -1.0);
    BOOST_TEST(b1(cx->edges[e][1], e) == 1.0);
    BOOST_TEST(b1.col(e).cwiseAbs().sum() == 2.0);
  }
  // [0,1,2]: +(1,2) - (0,2) + (0,1); edges (0,1)=0, (0,2)=1, (1,2)=3.
  Eigen::VectorXd col = Eigen::VectorXd::Zero(6);
  col[3] = 1;
  col[1] = -1;
  col[0] = 1;
  BOOST_TEST((b2.col(0) - col).cwiseAbs().maxCoeff() == 0.0);
  const auto tri = hc::triangle_edges(*cx);
  BOOST_TEST_REQUIRE(tri.size() == 1u);
  BOOST_TEST((tri[0] == std::array<int, 3>{3, 1, 0}));
}

BOOST_AUTO_TEST_CASE(option_parsers) {
  BOOST_TEST((*hc::parse_orientation("index") == hc::Orientation::Index));
  BOOST_TEST((*hc::parse_orientation("frequency") == hc::Orientation::Frequency));
  BOOST_TEST((*hc::parse_edge_mode("complete") == hc::EdgeMode::Complete));
  BOOST_TEST((*hc::parse_edge_mode("threshold") == hc::EdgeMode::Threshold));
  BOOST_TEST((*hc::parse_fill_rule("tau") == hc::FillRule::Tau));
  BOOST_TEST((*hc::parse_fill_rule("sum") == hc::FillRule::Sum));
  for (const char* bad : {"", "Index", "freq", "random"}) {
    auto r = hc::parse_orientation(bad);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == ErrorCode::InvalidArgument));
  }
  BOOST_TEST((hc::parse_edge_mode("all").error().code == ErrorCode::InvalidArgument));
  BOOST_TEST((hc::parse_fill_rule("max").error().code == ErrorCode::InvalidArgument));
}

BOOST_AUTO_TEST_CASE(bad_options_are_invalid_arguments) {
  const hc::LayerStats layer = k4();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double q : {-0.01, 1.01, nan}) {
    ComplexOptions o;
    o.tau_quantile = q;
    auto r = hc::build_complex(layer, o);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == ErrorCode::InvalidArgument));
  }
  for (double t : {-1.0, nan, inf}) {
    auto r = hc::build_complex(layer, with_tau(t));
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == ErrorCode::InvalidArgument));
  }
  BOOST_TEST(hc::build_complex(layer, with_tau(0.0)).ok());
}

BOOST_AUTO_TEST_CASE(corrupt_layers_are_rejected) {
  auto expect_corrupt = [](const hc::LayerStats& layer,
                           hc::Orientation o = hc::Orientation::Index) {
    ComplexOptions opts;
    opts.orientation = o;
    auto r = hc::build_complex(layer, opts);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == ErrorCode::Corrupt));
    BOOST_TEST(!r.error().message.empty());
  };
  hc::LayerStats l = k4();
  l.edges[2] = {0, 4};
  expect_corrupt(l);
  l = k4();
  l.edges[2] = {1, 1};
  expect_corrupt(l);
  l = k4();
  l.edges[5] = {1, 0};  // duplicate of (0,1), written the other way round
  expect_corrupt(l);
  l = k4();
  l.edge_barrier.pop_back();
  expect_corrupt(l);
  l = k4();
  l.edge_barrier[0] = std::numeric_limits<float>::quiet_NaN();
  expect_corrupt(l);
  l = k4();
  l.edge_barrier[0] = -1.0f;
  expect_corrupt(l);
  l = k4();
  l.triangle_barrier[1] = std::numeric_limits<float>::infinity();
  expect_corrupt(l);
  l = k4();
  l.triangles[1] = {0, 0, 3};
  expect_corrupt(l);
  l = k4();
  l.triangles[1] = {0, 2, 7};
  expect_corrupt(l);
  l = k4();
  l.triangles[1] = {2, 1, 0};  // the same triple as candidate 0
  expect_corrupt(l);
  // Past 256 experts duplicates are found by sorting, not a bitmap: the same rule holds.
  hc::LayerStats wide =
      hc::test::make_layer(300, {{0, 1}}, {1.0f}, {{5, 290, 7}, {3, 8, 299}}, {1.0f, 1.0f});
  BOOST_TEST(hc::build_complex(wide, ComplexOptions{}).ok());
  wide.triangles.push_back({299, 3, 8});
  wide.triangle_barrier.push_back(1.0f);
  expect_corrupt(wide);
  l = k4();
  l.triangle_barrier.push_back(1.0f);
  expect_corrupt(l);
  l = k4();
  l.frequency.resize(3);
  expect_corrupt(l, hc::Orientation::Frequency);
  BOOST_TEST(hc::build_complex(l, ComplexOptions{}).ok());  // index orientation needs no frequency
}

BOOST_AUTO_TEST_CASE(empty_and_edgeless_layers) {
  auto none = hc::build_complex(hc::test::make_layer(0, {}, {}), ComplexOptions{});
  BOOST_TEST_REQUIRE(none.ok());
  BOOST_TEST(none->edge_count() == 0);
  BOOST_TEST(none->tau == 0.0);
  auto lonely = hc::build_complex(hc::test::make_layer(3, {}, {}), ComplexOptions{});
  BOOST_TEST_REQUIRE(lonely.ok());
  BOOST_TEST(lonely->vertex_count == 3);
  BOOST_TEST(hc::boundary_1(*lonely).rows() == 3);
  BOOST_TEST(hc::boundary_2(*lonely).cols() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
