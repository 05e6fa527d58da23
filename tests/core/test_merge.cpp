// The merge operator shared by extraction and apply: coefficients, groups and blending.
#include <boost/test/unit_test.hpp>
#include <span>
#include <vector>

#include "hc/merge.hpp"

BOOST_AUTO_TEST_SUITE(merge)

BOOST_AUTO_TEST_CASE(coefficients_follow_frequency_and_are_uniform_without_routing) {
  const std::vector<double> pi = hc::merge_coefficients(std::vector<double>{0.1, 0.3, 0.0});
  BOOST_REQUIRE_EQUAL(pi.size(), 3u);
  BOOST_CHECK_CLOSE(pi[0], 0.25, 1e-12);
  BOOST_CHECK_CLOSE(pi[1], 0.75, 1e-12);
  BOOST_CHECK_EQUAL(pi[2], 0.0);
  const std::vector<double> unused = hc::merge_coefficients(std::vector<double>{0.0, 0.0});
  BOOST_CHECK_EQUAL(unused[0], 0.5);
  BOOST_CHECK_EQUAL(unused[1], 0.5);
}

BOOST_AUTO_TEST_CASE(group_is_the_survivor_then_what_merges_into_it) {
  hc::LayerPlan plan;
  plan.keep = {1, 4};
  plan.merge_into = {{0, 4}, {2, 1}, {3, 4}};
  BOOST_CHECK((hc::merge_group(plan, 4) == std::vector<int>{4, 0, 3}));
  BOOST_CHECK((hc::merge_group(plan, 1) == std::vector<int>{1, 2}));
  BOOST_CHECK((hc::merge_group(plan, 7) == std::vector<int>{7}));
}

BOOST_AUTO_TEST_CASE(rows_blend_with_their_coefficients) {
  const std::vector<float> a{1, 2, 3}, b{5, 6, 7};
  const std::vector<std::span<const float>> rows{a, b};
  const std::vector<double> out = hc::merge_rows(rows, std::vector<double>{0.25, 0.75});
  BOOST_REQUIRE_EQUAL(out.size(), 3u);
  BOOST_CHECK_CLOSE(out[0], 4.0, 1e-12);
  BOOST_CHECK_CLOSE(out[1], 5.0, 1e-12);
  BOOST_CHECK_CLOSE(out[2], 6.0, 1e-12);
  std::vector<double> acc(3, 1.0);
  hc::merge_accumulate(acc, a, 2.0);
  BOOST_CHECK_EQUAL(acc[2], 7.0);
}

BOOST_AUTO_TEST_SUITE_END()
