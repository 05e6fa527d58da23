// demo: the README's main job on the bundled trained model (a smaller configuration than the
// default, for time): every method × ratio × Wanda row present with finite scores, the
// statistics file and plans written, a rerun replaces only a previous demo's output.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "hc/selection.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using hc::test::CliFixture;
using hc::test::contains;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(demo)

BOOST_FIXTURE_TEST_CASE(bundled_model_end_to_end, CliFixture) {
  const auto r = ok("demo --tokens 1024 --eval-tokens 1024 --max-triangles 256 --out d --json");
  const json summary = json::parse(r.out);
  const json& report = summary.at("report");
  const auto& rows = report.at("rows");
  // Every method x ratio x Wanda, plus each ratio's best corrected plan again uncorrected.
  std::size_t uncorrected = 0;
  std::set<std::string> baseline_variants;
  for (const auto& row : rows) {
    if (row.at("variant").get<std::string>().find("+gate-off") == std::string::npos) continue;
    ++uncorrected;
    baseline_variants.insert(row.at("variant").get<std::string>());
    BOOST_CHECK_EQUAL(row.at("gate_correction"), "off");
  }
  BOOST_CHECK_EQUAL(uncorrected, 3u);
  const std::size_t methods = hc::all_methods().size();  // the demo's statistics have them all
  BOOST_REQUIRE_EQUAL(rows.size(), methods * 3u * 2u + uncorrected);
  // The report pairs each with its corrected row, with a paired interval.
  std::size_t paired = 0;
  for (const auto& e : report.at("gate_effects")) {
    paired += e.at("baseline").get<std::string>().find("+gate-off") != std::string::npos &&
              e.at("kl_minus_uncorrected").is_object();
  }
  BOOST_CHECK_EQUAL(paired, 3u);
  std::set<std::string> combos;
  for (const auto& row : rows) {
    BOOST_REQUIRE_MESSAGE(!row.contains("error"), row.dump());
    // OLMoE does not renormalise its top-k weights: the default corrects the gate mass.
    const bool baseline =
        row.at("variant").get<std::string>().find("+gate-off") != std::string::npos;
    BOOST_CHECK_MESSAGE(baseline || row.at("gate_correction") != "off", row.dump());
    for (const char* key : {"perplexity", "kl", "top1_agreement", "parameters_kept"}) {
      BOOST_REQUIRE_MESSAGE(row.at(key).is_number(), key << " in " << row.dump());
      BOOST_CHECK(std::isfinite(row.at(key).get<double>()));
    }
    for (const auto& [k, v] : row.at("retained").items())
      BOOST_CHECK(std::isfinite(v.get<double>()));
    combos.insert(row.at("variant").get<std::string>() + row.at("ratio").dump() +
                  row.at("wanda").dump());
    BOOST_CHECK(fs::exists(work / "d" / row.at("plan").get<std::string>()));
  }
  BOOST_CHECK_EQUAL(combos.size(), rows.size());
  // A trained model: far below the uniform perplexity over its 1024-token vocabulary.
  BOOST_CHECK_LT(report.at("reference").at("perplexity").get<double>(), 200.0);
  // Real structure for HodgeCover: some layer has independent cycles at the default tau.
  int b1 = 0;
  for (const auto& layer : summary.at("layers")) b1 += layer.at("betti")[1].get<int>();
  BOOST_CHECK_GT(b1, 0);
  BOOST_CHECK(fs::exists(work / "d" / "tiny-olmoe.hcstats"));
  ok("info d/tiny-olmoe.hcstats");
  const std::string md = hc::test::slurp(work / "d" / "report.md");
  for (const char* part : {"hodgecover", "frequency", "reap", "ean", "loo", "random", "pairwise",
                           "hcsmoe", "substitute", "hodgerank", "25% of experts removed",
                           "50% of experts removed", "75% of experts removed"}) {
    BOOST_CHECK_MESSAGE(contains(md, part), "report.md lacks " << part);
  }
  // The figures: linked from report.md, one frontier series per method, kept experts per row.
  for (const char* figure : {"frontier.svg", "ratio-25.svg", "keep-25.svg", "ratio-50.svg",
                             "keep-50.svg", "ratio-75.svg", "keep-75.svg"}) {
    BOOST_CHECK_MESSAGE(fs::exists(work / "d" / "figures" / figure), figure);
    BOOST_CHECK_MESSAGE(contains(md, std::string("](figures/") + figure + ")"), figure);
  }
  const std::string frontier = hc::test::slurp(work / "d" / "figures" / "frontier.svg");
  std::size_t series = 0;
  for (std::size_t at = frontier.find("<g class=\"series\""); at != std::string::npos;
       at = frontier.find("<g class=\"series\"", at + 1))
    ++series;
  BOOST_CHECK_EQUAL(series, methods + baseline_variants.size());
  for (const auto& row : rows) BOOST_CHECK_EQUAL(row.at("kept").size(), 4u);  // 4 MoE layers
  int kept = 0;
  for (const auto& entry : fs::directory_iterator(work / "d" / "checkpoints"))
    kept += entry.is_directory();
  BOOST_CHECK_EQUAL(kept, 3);  // the best of each ratio

  // A rerun replaces the previous demo output.
  const auto again =
      ok("demo --tokens 512 --eval-tokens 512 --max-triangles 64 --ratios 0.5 "
         "--wanda 0 --checkpoints none --out d");
  BOOST_CHECK(contains(again.out, "lowest KL at 50% removed"));
  BOOST_CHECK(contains(again.out, "figures/"));
  BOOST_CHECK(contains(again.out, "site.sh serve 8000 d/tiny-olmoe.hcstats d/report.json"));
  // One row per method plus the best plan again uncorrected.
  BOOST_CHECK_EQUAL(json::parse(hc::test::slurp(work / "d" / "report.json")).at("rows").size(),
                    methods + 1u);
  BOOST_CHECK(contains(again.out, "gate correction ("));
  for (const auto& entry : fs::directory_iterator(work))
    BOOST_CHECK_MESSAGE(!contains(entry.path().filename().string(), ".tmp-"), entry.path());
}

BOOST_FIXTURE_TEST_CASE(refuses_foreign_output_and_missing_model, CliFixture) {
  fs::create_directory(work / "mine");
  hc::test::spit(work / "mine" / "notes.txt", "keep me");
  auto r = run("demo --out mine");
  BOOST_CHECK_EQUAL(r.code, 4);
  BOOST_CHECK(contains(r.err, "not a previous demo output"));
  BOOST_CHECK_EQUAL(hc::test::slurp(work / "mine" / "notes.txt"), "keep me");
  r = run("demo --model no-such-model --out d");
  BOOST_CHECK_EQUAL(r.code, 3);
  BOOST_CHECK(contains(r.err, "no-such-model"));
  BOOST_CHECK(!fs::exists(work / "d"));
}

BOOST_AUTO_TEST_SUITE_END()
