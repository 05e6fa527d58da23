// Gate-mass correction factors on a hand-computed case: an OLMoE-style router (softmax, top-2,
// no renormalisation) over 4 experts and two sampled tokens, pruned and merged, linear and
// mass; the corrected layer keeps the original sampled gate mass. Also how auto resolves.
#include <boost/test/unit_test.hpp>

#include "hc/native/checkpoint.hpp"
#include "hc/native/gate_correction.hpp"
#include "test_support.hpp"

using namespace hc::native;

namespace {

struct GateFixture {
  hc::test::TempDir tmp{"hc-test-gate"};
  MoeModelSpec spec;
  std::optional<Checkpoint> checkpoint;
  hc::StatsFile stats;
  int layer = 0;

  explicit GateFixture(Family family = Family::Olmoe) {
    FixtureSizes sizes;
    sizes.layers = 1;
    sizes.experts = 4;
    sizes.top_k = 2;
    BOOST_REQUIRE(write_random_checkpoint(tmp.root / "m", family, sizes, 1).ok());
    auto opened = open_checkpoint(tmp.root / "m");
    BOOST_REQUIRE(opened.ok());
    checkpoint.emplace(std::move(opened).value());
    auto made = model_spec_for(*checkpoint);
    BOOST_REQUIRE(made.ok());
    spec = *made;
    layer = spec.moe_layers().front();
    hc::LayerStats ls;
    ls.layer = layer;
    ls.experts = 4;
    ls.frequency = ls.gate_mass = ls.reap = ls.ean = {0.25f, 0.25f, 0.25f, 0.25f};
    ls.router_prob = {0.3f, 0.2f, 0.3f, 0.2f};
    // Token 1: equal logits, p = 1/4 each, top-2 {0, 1}: mass 1/2.
    // Token 2: exp = (2, 1, 2, 1)/6, top-2 {0, 2}: mass 2/3.
    const float ln2 = std::log(2.0f);
    ls.router_sample = {0, 0, 0, 0, ln2, 0, ln2, 0};
    ls.router_sample_rows = 2;
    stats.layers.push_back(ls);
  }

  hc::Plan plan(std::map<int, int> merge_into = {}) const {
    hc::Plan p;
    p.method = "test";
    p.layers[layer].layer = layer;
    p.layers[layer].keep = {0, 1};
    p.layers[layer].merge_into = std::move(merge_into);
    return p;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(gate_correction)

BOOST_AUTO_TEST_CASE(prune_mass_keeps_the_sampled_gate_mass) {
  GateFixture f;
  auto g = gate_correction_factors(GateCorrection::Mass, f.spec, *f.checkpoint, f.plan(), false,
                                   &f.stats);
  BOOST_REQUIRE(g.ok());
  // Kept {0, 1}: token 1 p = (1/2, 1/2), token 2 p = (2/3, 1/3); both tokens route to both,
  // so the kept mass is 2 against the original 1/2 + 2/3 = 7/6.
  BOOST_CHECK_CLOSE(g->factor(f.layer, 0), 7.0 / 12.0, 1e-6);
  BOOST_CHECK_CLOSE(g->factor(f.layer, 1), 7.0 / 12.0, 1e-6);
  BOOST_CHECK_EQUAL(g->factor(f.layer, 2), 1.0);  // dropped
  BOOST_CHECK_CLOSE(g->factor(f.layer, 0) * 2.0, 7.0 / 6.0, 1e-6);
}

BOOST_AUTO_TEST_CASE(merge_mass_targets_each_group) {
  GateFixture f;
  auto g = gate_correction_factors(GateCorrection::Mass, f.spec, *f.checkpoint,
                                   f.plan({{2, 0}, {3, 1}}), true, &f.stats);
  BOOST_REQUIRE(g.ok());
  // Original per-expert mass: (1/4 + 1/3, 1/4, 1/3, 0); kept: (1/2 + 2/3, 1/2 + 1/3).
  // Targets: expert 0 with 2 -> 11/12, expert 1 with 3 -> 1/4.
  const double c0 = (11.0 / 12.0) / (7.0 / 6.0), c1 = 0.25 / (5.0 / 6.0);
  BOOST_CHECK_CLOSE(g->factor(f.layer, 0), c0, 1e-6);
  BOOST_CHECK_CLOSE(g->factor(f.layer, 1), c1, 1e-6);
  BOOST_CHECK_CLOSE(c0 * 7.0 / 6.0 + c1 * 5.0 / 6.0, 7.0 / 6.0, 1e-9);  // layer total kept
}

BOOST_AUTO_TEST_CASE(linear_is_the_kept_router_probability) {
  GateFixture f;
  auto g = gate_correction_factors(GateCorrection::Linear, f.spec, *f.checkpoint, f.plan(), false,
                                   &f.stats);
  BOOST_REQUIRE(g.ok());
  BOOST_CHECK_CLOSE(g->factor(f.layer, 0), 0.5, 1e-5);
  BOOST_CHECK_CLOSE(g->factor(f.layer, 1), 0.5, 1e-5);
  const nlohmann::json sidecar = gate_factors_json(*g, f.plan());
  BOOST_CHECK_EQUAL(sidecar.at("mode"), "linear");
  BOOST_CHECK_EQUAL(sidecar.at("layers").at(std::to_string(f.layer)).at("experts").size(), 2u);
}

BOOST_AUTO_TEST_CASE(auto_resolves_by_family_and_statistics) {
  GateFixture olmoe;
  auto a = gate_correction_factors(GateCorrection::Auto, olmoe.spec, *olmoe.checkpoint,
                                   olmoe.plan(), false, &olmoe.stats);
  BOOST_REQUIRE(a.ok());
  BOOST_CHECK(a->applied == GateCorrection::Linear);
  BOOST_CHECK_CLOSE(a->factor(olmoe.layer, 0), 0.5, 1e-5);
  // With Wanda (which shrinks the survivors' outputs too) auto keeps the gate mass instead.
  auto w = gate_correction_factors(GateCorrection::Auto, olmoe.spec, *olmoe.checkpoint,
                                   olmoe.plan(), false, &olmoe.stats, 0.5);
  BOOST_REQUIRE(w.ok());
  BOOST_CHECK(w->applied == GateCorrection::Mass);
  BOOST_CHECK_CLOSE(w->factor(olmoe.layer, 0), 7.0 / 12.0, 1e-6);
  // Without statistics auto applies nothing and says why; explicit modes refuse.
  auto none = gate_correction_factors(GateCorrection::Auto, olmoe.spec, *olmoe.checkpoint,
                                      olmoe.plan(), false, nullptr);
  BOOST_REQUIRE(none.ok());
  BOOST_CHECK(none->applied == GateCorrection::Off);
  BOOST_CHECK(none->reason.find("no statistics") != std::string::npos);
  for (GateCorrection explicit_mode : {GateCorrection::Mass, GateCorrection::Linear}) {
    auto refused = gate_correction_factors(explicit_mode, olmoe.spec, *olmoe.checkpoint,
                                           olmoe.plan(), false, nullptr);
    BOOST_REQUIRE(!refused.ok());
    BOOST_CHECK(refused.error().code == hc::ErrorCode::InvalidArgument);
  }
  // Mixtral renormalises: auto is off whatever the statistics hold.
  GateFixture mixtral(Family::Mixtral);
  auto m = gate_correction_factors(GateCorrection::Auto, mixtral.spec, *mixtral.checkpoint,
                                   mixtral.plan(), false, &mixtral.stats);
  BOOST_REQUIRE(m.ok());
  BOOST_CHECK(m->applied == GateCorrection::Off);
  BOOST_CHECK(m->reason.find("renormalises") != std::string::npos);
  BOOST_CHECK(!parse_gate_correction("half").ok());
}

BOOST_AUTO_TEST_SUITE_END()
