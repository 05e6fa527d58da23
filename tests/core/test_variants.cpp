// Variant files for `compare --variants`: values land in the right options, unset keys keep the
// base, and every malformed file is an error naming the source.
#include <boost/test/unit_test.hpp>
#include <string>

#include "hc/variants.hpp"

BOOST_AUTO_TEST_SUITE(variants)

BOOST_AUTO_TEST_CASE(keys_set_their_options_and_the_rest_stays_at_the_base) {
  hc::SelectionOptions base;
  base.rho_h = 0.7;
  hc::ComplexOptions complex;
  auto v = hc::parse_variants(
      R"({"variants":[{"name":"hc-lt0","method":"hodgecover","lambda_t":0,"orientation":"frequency",
          "harmonic_target":"oriented","fill":"sum","cover_tri":3,"tau":0.5,"signal":"flow"},
        {"name":"merge.reap","method":"reap","mode":"merge","seed":4,"output_scale":0.7}]})",
      "v.json", base, complex);
  BOOST_TEST_REQUIRE(v.ok());
  BOOST_TEST_REQUIRE(v->size() == 2u);
  const hc::Variant& a = (*v)[0];
  BOOST_TEST(a.name == "hc-lt0");
  BOOST_TEST((a.selection.method == hc::Method::HodgeCover));
  BOOST_TEST(a.selection.lambda_t == 0.0);
  BOOST_TEST(a.selection.rho_h == 0.7);
  BOOST_TEST(a.selection.cover_tri == 3);
  BOOST_TEST((a.selection.harmonic_target == hc::HarmonicTarget::Oriented));
  BOOST_TEST((a.complex.orientation == hc::Orientation::Frequency));
  BOOST_TEST((a.complex.fill == hc::FillRule::Sum));
  BOOST_TEST((a.complex.signal == hc::EdgeSignal::SubstitutionFlow));
  BOOST_TEST(a.complex.tau.value_or(-1) == 0.5);
  BOOST_TEST(!a.mode.has_value());
  const hc::Variant& b = (*v)[1];
  BOOST_TEST((b.complex.signal == hc::EdgeSignal::Barrier));
  BOOST_TEST((b.selection.method == hc::Method::Reap));
  BOOST_TEST((b.mode == hc::ReductionMode::Merge));
  BOOST_TEST(b.selection.seed == 4u);
  BOOST_TEST(b.output_scale == 0.7);
  BOOST_TEST(a.output_scale == 1.0);
}

BOOST_AUTO_TEST_CASE(malformed_files_are_errors_naming_the_source) {
  const char* bad[] = {
      "not json",
      R"([1,2])",
      R"({"variants":[]})",
      R"({"variants":[{"method":"reap"}]})",
      R"({"variants":[{"name":"a b","method":"reap"}]})",
      R"({"variants":[{"name":"a","method":"reap"},{"name":"a","method":"ean"}]})",
      R"({"variants":[{"name":"a"}]})",
      R"({"variants":[{"name":"a","method":"nope"}]})",
      R"({"variants":[{"name":"a","method":"reap","lambda_q":1}]})",
      R"({"variants":[{"name":"a","method":"reap","lambda_t":-1}]})",
      R"({"variants":[{"name":"a","method":"reap","rho_h":"high"}]})",
      R"({"variants":[{"name":"a","method":"reap","cover_tri":7}]})",
      R"({"variants":[{"name":"a","method":"reap","tau_quantile":2}]})",
      R"({"variants":[{"name":"a","method":"reap","output_scale":0}]})",
  };
  for (const char* text : bad) {
    auto v = hc::parse_variants(text, "bad.json", {}, {});
    BOOST_TEST(!v.ok(), text);
    if (!v.ok()) BOOST_TEST(v.error().message.rfind("bad.json: ", 0) == 0u, v.error().message);
  }
}

BOOST_AUTO_TEST_CASE(method_list_with_random_seeds) {
  auto v = hc::method_variants({hc::Method::Reap, hc::Method::Random}, {}, {}, 3);
  BOOST_TEST_REQUIRE(v.size() == 4u);
  BOOST_TEST(v[0].name == "reap");
  BOOST_TEST(v[3].name == "random.s2");
  BOOST_TEST(v[3].selection.seed == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
