// Paired bootstrap: estimates equal the plain means, intervals contain them, identical models
// have a zero-width difference, a consistent shift is detected, and bad inputs are errors.
#include <boost/test/unit_test.hpp>
#include <vector>

#include "fixtures.hpp"
#include "hc/bootstrap.hpp"

BOOST_AUTO_TEST_SUITE(bootstrap)

BOOST_AUTO_TEST_CASE(mean_is_position_weighted_and_inside_its_interval) {
  const std::vector<double> sums = {1.0, 4.0, 2.0, 8.0};
  const std::vector<std::size_t> tokens = {10, 20, 10, 40};
  auto r = hc::bootstrap_mean(sums, tokens);
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r->estimate == 15.0 / 80.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r->low <= r->estimate);
  BOOST_TEST(r->high >= r->estimate);
  BOOST_TEST(r->low < r->high);
  auto again = hc::bootstrap_mean(sums, tokens);  // deterministic for the same seed
  BOOST_TEST(again->low == r->low);
}

BOOST_AUTO_TEST_CASE(paired_differences_see_what_separate_intervals_miss) {
  // Sequence difficulty varies 10x, model b is uniformly 2% worse than a.
  hc::test::FixtureRng rng{4};
  std::vector<double> a, b;
  std::vector<std::size_t> tokens;
  for (int s = 0; s < 60; ++s) {
    const double hard = 0.1 + rng.uniform();
    a.push_back(hard * 100);
    b.push_back(hard * 102);
    tokens.push_back(100);
  }
  auto ia = hc::bootstrap_mean(a, tokens), ib = hc::bootstrap_mean(b, tokens);
  BOOST_TEST_REQUIRE((ia.ok() && ib.ok()));
  BOOST_TEST(ib->low < ia->high);  // separate intervals overlap
  hc::BootstrapOptions other;
  other.seed = 99;
  BOOST_TEST(hc::bootstrap_mean(a, tokens, other)->low != ia->low);  // the seed matters
  auto d = hc::bootstrap_paired_difference(b, a, tokens);
  BOOST_TEST_REQUIRE(d.ok());
  BOOST_TEST(d->above_zero());  // the paired difference is clearly positive
  auto same = hc::bootstrap_paired_difference(a, a, tokens);
  BOOST_TEST(same->low == 0.0);
  BOOST_TEST(same->high == 0.0);
  BOOST_TEST(!same->above_zero());
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_errors) {
  BOOST_TEST(!hc::bootstrap_mean({}, {}).ok());
  BOOST_TEST(!hc::bootstrap_mean({1.0}, {1, 2}).ok());
  BOOST_TEST(!hc::bootstrap_paired_difference({1.0, 2.0}, {1.0}, {1, 1}).ok());
  hc::BootstrapOptions bad;
  bad.level = 1.5;
  BOOST_TEST(!hc::bootstrap_mean({1.0}, {1}, bad).ok());
  BOOST_TEST(!hc::bootstrap_mean({1.0}, {0}).ok());
}

BOOST_AUTO_TEST_SUITE_END()
