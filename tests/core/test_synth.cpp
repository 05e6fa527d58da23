// Synthetic statistics files: determinism, validity, planted structure, and HodgeCover's
// behaviour on planted irreducible triples.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>

#include "hc/analysis.hpp"
#include "hc/synth.hpp"

namespace {

hc::SynthResult make(int layers, int experts, std::uint64_t seed) {
  hc::SynthOptions o;
  o.layers = layers;
  o.experts = experts;
  o.seed = seed;
  auto r = hc::synthesize(o);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(r).value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(synth)

BOOST_AUTO_TEST_CASE(same_seed_same_bytes_other_seed_other_bytes) {
  auto a = hc::write_stats(make(3, 24, 5).stats);
  auto b = hc::write_stats(make(3, 24, 5).stats);
  auto c = hc::write_stats(make(3, 24, 6).stats);
  BOOST_REQUIRE(a.ok() && b.ok() && c.ok());
  BOOST_TEST((*a == *b));
  BOOST_TEST((*a != *c));
}

BOOST_AUTO_TEST_CASE(file_is_valid_and_round_trips_with_planted_truth) {
  const hc::SynthResult made = make(4, 32, 1);
  auto bytes = hc::write_stats(made.stats);
  BOOST_REQUIRE(bytes.ok());
  auto back = hc::read_stats(*bytes, "synth.hcstats");
  BOOST_REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().message));
  BOOST_TEST(back->layers.size() == 4u);
  BOOST_TEST(back->family == "synthetic");
  BOOST_TEST(back->num_experts == 32);
  for (const hc::LayerStats& l : back->layers) {
    BOOST_TEST(l.edges.size() == 32u * 31u / 2u);
    BOOST_TEST(!l.triangles.empty());
    float freq_sum = 0;
    for (float f : l.frequency) freq_sum += f;
    BOOST_TEST(freq_sum <= static_cast<float>(back->top_k) + 1e-4f);
  }
  const auto planted = hc::planted_from_metadata(*back);
  BOOST_TEST(planted.size() == made.planted.size());
  BOOST_TEST(!planted.empty());
}

BOOST_AUTO_TEST_CASE(planted_triples_are_pairwise_easy_jointly_hard) {
  const hc::SynthResult made = make(2, 48, 3);
  for (const hc::PlantedTriple& p : made.planted) {
    const hc::LayerStats& l = made.stats.layers[p.layer];
    float max_pair = 0, max_all = 0;
    for (std::size_t e = 0; e < l.edges.size(); ++e) {
      max_all = std::max(max_all, l.edge_barrier[e]);
      const int i = l.edges[e][0], j = l.edges[e][1];
      const bool in = std::count(p.experts.begin(), p.experts.end(), i) &&
                      std::count(p.experts.begin(), p.experts.end(), j);
      if (in) max_pair = std::max(max_pair, l.edge_barrier[e]);
    }
    bool found = false;
    for (std::size_t t = 0; t < l.triangles.size(); ++t) {
      if (l.triangles[t][0] == p.experts[0] && l.triangles[t][1] == p.experts[1] &&
          l.triangles[t][2] == p.experts[2]) {
        found = true;
        BOOST_TEST(l.triangle_barrier[t] > max_all);  // harder than any pair in the layer
      }
    }
    BOOST_TEST(found);
    BOOST_TEST(max_pair < 0.2f);
  }
}

BOOST_AUTO_TEST_CASE(planted_triples_are_holes_and_harmonic_is_nontrivial) {
  const hc::SynthResult made = make(2, 32, 11);
  auto analyses = hc::analyze_file(made.stats, hc::ComplexOptions{});
  BOOST_REQUIRE(analyses.ok());
  for (const hc::LayerAnalysis& a : *analyses) {
    BOOST_TEST(a.hodge.energy.harmonic > 0.0);
    BOOST_TEST(a.hodge.betti[1] > 0);
    for (const hc::PlantedTriple& p : made.planted) {
      if (p.layer != a.layer) continue;
      const std::array<int, 3> t{p.experts[0], p.experts[1], p.experts[2]};
      // Holes list vertices in orientation (REAP) order; compare as sets.
      BOOST_TEST(std::any_of(a.complex.holes.begin(), a.complex.holes.end(), [&](auto h) {
        std::sort(h.begin(), h.end());
        return h == t;
      }));
    }
  }
}

BOOST_AUTO_TEST_CASE(hodgecover_keeps_two_of_every_planted_triple_at_half_removal) {
  for (std::uint64_t seed : {0u, 1u, 2u}) {
    const hc::SynthResult made = make(6, 64, seed);
    hc::ComplexOptions complex;
    auto analyses = hc::analyze_file(made.stats, complex);
    BOOST_REQUIRE(analyses.ok());
    hc::SelectionOptions options;
    options.ratio = 0.5;
    options.lambda_t = 1.0;  // the triangle term (off by default) is what protects the triples
    auto outcome = hc::select_file(made.stats, *analyses, options, complex);
    BOOST_REQUIRE(outcome.ok());
    BOOST_REQUIRE(!made.planted.empty());
    for (const hc::PlantedTriple& p : made.planted) {
      const auto& keep = outcome->plan.layers.at(p.layer).keep;
      BOOST_TEST(keep.size() == 32u);
      const int kept =
          static_cast<int>(std::count_if(p.experts.begin(), p.experts.end(), [&](int v) {
            return std::binary_search(keep.begin(), keep.end(), v);
          }));
      BOOST_TEST(kept >= 2, "seed " << seed << " layer " << p.layer << " kept " << kept);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_options_are_rejected) {
  hc::SynthOptions o;
  o.experts = 2;
  BOOST_TEST(!hc::synthesize(o).ok());
  o.experts = 8;
  o.layers = 0;
  BOOST_TEST(!hc::synthesize(o).ok());
  o.layers = 1;
  o.top_k = 9;
  BOOST_TEST(!hc::synthesize(o).ok());
}

BOOST_AUTO_TEST_SUITE_END()
