// End-to-end tests of the `hodgecover` binary: outputs of every command (docs/CLI.md).
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "hc/plan.hpp"
#include "test_support.hpp"

using hc::test::check_no_temporaries;
using hc::test::CliFixture;
using hc::test::contains;
using hc::test::RunResult;
using hc::test::slurp;
using nlohmann::json;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(cli)

BOOST_FIXTURE_TEST_CASE(help_lists_every_command, CliFixture) {
  const RunResult r = ok("--help");
  for (const char* name :
       {"info", "decompose", "select", "synth", "demo", "extract", "apply", "eval", "compare"}) {
    BOOST_CHECK_MESSAGE(contains(r.out, name), "--help does not mention " << name);
  }
  BOOST_CHECK_EQUAL(contains(r.out, "extract, eval, compare and train need a build with LibTorch"),
                    !HC_CLI_HAS_TORCH);
  BOOST_CHECK(contains(ok("--version").out, "hodgecover"));
  BOOST_CHECK(contains(ok("select --help").out, "--tau-quantile"));
  BOOST_CHECK(contains(ok("demo --help").out, "bundled trained model"));
}

// The light executable must not load LibTorch (start-up in milliseconds); LibTorch commands run
// in the helper beside it, with their own --help.
BOOST_FIXTURE_TEST_CASE(light_executable_leaves_libtorch_to_the_helper, CliFixture) {
  const RunResult libs = shell("ldd " + hc::test::quote(HC_CLI_PATH));
  BOOST_REQUIRE_EQUAL(libs.code, 0);
  BOOST_CHECK_MESSAGE(!contains(libs.out, "libtorch") && !contains(libs.out, "libc10"),
                      "hodgecover links LibTorch:\n"
                          << libs.out);
  if (HC_CLI_HAS_TORCH) {
    const RunResult help = ok("extract --help");
    BOOST_CHECK(contains(help.out, "--barrier"));
    BOOST_CHECK(contains(help.out, "--max-triangles"));
    const RunResult bad = run("eval --model nowhere --text none.txt");
    BOOST_CHECK_NE(bad.code, 0);
    BOOST_CHECK(contains(bad.err, "hodgecover eval: error:"));
  }
}

BOOST_FIXTURE_TEST_CASE(synth_info_decompose_pipeline, CliFixture) {
  synth("s.hcstats");
  BOOST_REQUIRE(fs::exists(work / "s.hcstats"));
  check_no_temporaries(*this);

  const RunResult info = ok("info s.hcstats");
  BOOST_CHECK(contains(info.out, "synthetic"));
  BOOST_CHECK(contains(info.out, "verified"));
  const json info_json = json::parse(ok("info s.hcstats --json").out);
  BOOST_CHECK_EQUAL(info_json.at("layers").size(), 3u);
  BOOST_CHECK_EQUAL(info_json.at("experts").get<int>(), 8);
  BOOST_CHECK_EQUAL(info_json.at("format").get<std::string>(), "hodgecover.stats");
  BOOST_CHECK(info_json.at("checksum").at("verified").get<bool>());

  const json d = json::parse(ok("decompose s.hcstats --json").out);
  BOOST_REQUIRE_EQUAL(d.size(), 1u);
  BOOST_REQUIRE_EQUAL(d.at("layers").size(), 3u);
  for (const json& layer : d.at("layers")) {
    for (const char* key : {"layer", "experts", "tau", "edges", "filled_triangles", "betti",
                            "signal", "gradient", "curl", "harmonic", "energy"}) {
      BOOST_REQUIRE_MESSAGE(layer.contains(key), "missing key " << key);
    }
    BOOST_CHECK_EQUAL(layer.at("experts").get<int>(), 8);
    BOOST_CHECK_EQUAL(layer.at("betti").size(), 3u);
    const std::size_t m = layer.at("edges").size();
    BOOST_CHECK_EQUAL(m, 28u);
    for (const char* key : {"signal", "gradient", "curl", "harmonic"}) {
      BOOST_CHECK_EQUAL(layer.at(key).size(), m);
    }
    for (const json& t : layer.at("filled_triangles")) BOOST_CHECK_EQUAL(t.size(), 3u);
    for (const char* key : {"gradient", "curl", "harmonic"}) {
      BOOST_CHECK(layer.at("energy").at(key).is_number());
    }
    for (std::size_t e = 0; e < m; ++e) {
      const double f = layer["signal"][e], sum = layer["gradient"][e].get<double>() +
                                                 layer["curl"][e].get<double>() +
                                                 layer["harmonic"][e].get<double>();
      BOOST_CHECK_SMALL(f - sum, 1e-9 * (1.0 + std::abs(f)));
    }
  }

  const json one = json::parse(ok("decompose s.hcstats --layer 1 --json --tau-quantile 0.5").out);
  BOOST_REQUIRE_EQUAL(one.at("layers").size(), 1u);
  BOOST_CHECK_EQUAL(one["layers"][0].at("layer").get<int>(), 1);

  const RunResult table = ok("decompose s.hcstats --edges threshold --fill sum");
  BOOST_CHECK(contains(table.out, "harm"));
  BOOST_CHECK(contains(table.out, "mean"));
}

BOOST_FIXTURE_TEST_CASE(select_json_and_plan_file, CliFixture) {
  synth("s.hcstats");
  const json j = json::parse(ok("select s.hcstats --method hodgecover --keep 3 --json").out);
  BOOST_CHECK_EQUAL(j.at("format").get<std::string>(), "hodgecover.plan");
  BOOST_CHECK_EQUAL(j.at("version").get<int>(), 1);
  BOOST_CHECK_EQUAL(j.at("method").get<std::string>(), "hodgecover");
  BOOST_REQUIRE_EQUAL(j.at("layers").size(), 3u);
  for (const auto& [layer, plan] : j.at("layers").items()) {
    BOOST_CHECK_EQUAL(plan.at("keep").size(), 3u);
    const json& retained = j.at("retained").at(layer);
    for (const char* key : {"gradient", "curl", "harmonic", "triangle"}) {
      const double v = retained.at(key);
      BOOST_CHECK(v >= 0.0 && v <= 1.0);
    }
  }

  const RunResult written = ok("select s.hcstats --method reap --ratio 0.5 --out plan.json");
  BOOST_CHECK(contains(written.out, "plan.json"));
  const std::string text = slurp(work / "plan.json");
  const json plan = json::parse(text);
  BOOST_CHECK_EQUAL(plan.at("method").get<std::string>(), "reap");
  BOOST_CHECK(!plan.contains("retained"));
  for (const auto& [layer, p] : plan.at("layers").items()) BOOST_CHECK_EQUAL(p["keep"].size(), 4u);
  BOOST_CHECK(hc::parse_plan(text, "plan.json").ok());
  check_no_temporaries(*this);

  // Every method runs with every switch group.
  for (const char* method : {"frequency", "ean", "random", "pairwise", "hcsmoe"}) {
    ok(std::string("select s.hcstats --keep 2 --json --method ") + method);
  }
  ok("select s.hcstats --ratio 0.25 --mode merge --seed 7 --tau 0.5 --orientation frequency "
     "--rho-h 0.9 --rho-t 0.7 --cover-tri 3 --lambda-e 2 --lambda-t 0.5 --lambda-v 0 "
     "--vertex-score frequency --triangle-credit binary");
}

BOOST_FIXTURE_TEST_CASE(select_compare_lists_every_method, CliFixture) {
  synth("s.hcstats");
  const RunResult r = ok("select s.hcstats --ratio 0.5 --compare");
  for (const char* name :
       {"hodgecover", "frequency", "reap", "ean", "random", "pairwise", "hcsmoe"}) {
    BOOST_CHECK_MESSAGE(contains(r.out, name), "--compare does not list " << name);
  }
  // Synthetic files have no leave-one-out scores or substitution barriers: loo, substitute and
  // hodgerank are skipped with the reason, not an error.
  BOOST_CHECK(contains(r.out, "not run: loo: the statistics file has no leave-one-out scores"));
  BOOST_CHECK(contains(r.out, "not run: substitute: the statistics file has no directed"));
  const json j = json::parse(ok("select s.hcstats --keep 4 --compare --json").out);
  BOOST_CHECK_EQUAL(j.at("methods").size(), 7u);
  BOOST_CHECK(j["methods"][0].at("retained").contains("harmonic"));
  BOOST_REQUIRE_EQUAL(j.at("skipped").size(), 3u);
  BOOST_CHECK_EQUAL(j["skipped"][0].at("method").get<std::string>(), "loo");
  BOOST_CHECK(contains(j["skipped"][0].at("reason").get<std::string>(), "expert_loo"));
  BOOST_CHECK_EQUAL(j["skipped"][1].at("method").get<std::string>(), "substitute");
  BOOST_CHECK_EQUAL(j["skipped"][2].at("method").get<std::string>(), "hodgerank");
  BOOST_CHECK(contains(j["skipped"][2].at("reason").get<std::string>(), "substitution_barrier"));
}

BOOST_FIXTURE_TEST_CASE(select_loo_needs_leave_one_out_scores, CliFixture) {
  synth("s.hcstats");
  const RunResult r = run("select s.hcstats --method loo --keep 2 --out plan.json");
  BOOST_CHECK_EQUAL(r.code, 2);  // InvalidArgument, the usual exit code
  BOOST_CHECK(contains(r.err, "s.hcstats: loo: the statistics file has no leave-one-out scores"));
  BOOST_CHECK(contains(r.err, "expert_loo"));
  BOOST_CHECK(!fs::exists(work / "plan.json"));

  // With the scores (format 1.1) loo keeps the largest and appears in --compare.
  hc::StatsFile stats = read_stats_file("s.hcstats");
  for (auto& layer : stats.layers) {
    layer.loo.assign(static_cast<std::size_t>(layer.experts), 0.0f);
    for (int e = 0; e < layer.experts; ++e) layer.loo[e] = static_cast<float>((e * 3) % 8);
  }
  const auto bytes = hc::write_stats(stats);
  BOOST_REQUIRE(bytes.ok());
  hc::test::spit(work / "loo.hcstats", std::string(bytes->begin(), bytes->end()));
  const json plan = json::parse(ok("select loo.hcstats --method loo --keep 3 --json").out);
  for (const auto& [layer, p] : plan.at("layers").items())  // loo 0,3,6,1,4,7,2,5
    BOOST_CHECK(p.at("keep") == json({2, 5, 7}));
  const json j = json::parse(ok("select loo.hcstats --keep 4 --compare --json").out);
  BOOST_CHECK_EQUAL(j.at("methods").size(), 8u);
  BOOST_CHECK_EQUAL(j.at("skipped").size(), 2u);  // substitute, hodgerank: no format 1.3 data

  // With substitution barriers (format 1.3) every method runs; substitute's merge plan maps each
  // dropped expert to its substitute. d(i -> j) = 1 + |i - j| / 8 + (j odd ? 0 : 1): odd experts
  // are the good substitutes.
  for (auto& layer : stats.layers) {
    const int e = layer.experts;
    layer.substitution.assign(static_cast<std::size_t>(e * e), 0.0f);
    for (int i = 0; i < e; ++i)
      for (int k = 0; k < e; ++k)
        if (i != k)
          layer.substitution[static_cast<std::size_t>(i * e + k)] =
              1.0f + std::abs(i - k) / 8.0f + (k % 2 == 1 ? 0.0f : 1.0f);
  }
  const auto with_flow = hc::write_stats(stats);
  BOOST_REQUIRE(with_flow.ok());
  hc::test::spit(work / "flow.hcstats", std::string(with_flow->begin(), with_flow->end()));
  const json all = json::parse(ok("select flow.hcstats --keep 4 --compare --json").out);
  BOOST_CHECK_EQUAL(all.at("methods").size(), 10u);
  BOOST_CHECK(all.at("skipped").empty());
  const json sub =
      json::parse(ok("select flow.hcstats --method substitute --keep 4 --mode merge --json").out);
  // decompose --json reports the flow's gradient share per layer (a number in [0, 1]).
  const json dec = json::parse(ok("decompose flow.hcstats --json").out);
  for (const auto& layer : dec.at("layers")) {
    const double share = layer.at("substitution_flow").at("gradient_share").get<double>();
    BOOST_CHECK(share >= 0.0 && share <= 1.0);
  }
  BOOST_CHECK(!json::parse(ok("decompose loo.hcstats --json").out)["layers"][0].contains(
      "substitution_flow"));
  for (const auto& [layer, p] : sub.at("layers").items()) {
    BOOST_CHECK(p.at("keep") == json({1, 3, 5, 7}));
    BOOST_CHECK(p.at("merge_into").at("0") == 1);
    BOOST_CHECK(p.at("merge_into").at("6") == 5);
  }
}

BOOST_FIXTURE_TEST_CASE(synth_is_deterministic, CliFixture) {
  synth("a.hcstats");
  synth("b.hcstats");
  synth("c.hcstats", "", 2);
  BOOST_CHECK(slurp(work / "a.hcstats") == slurp(work / "b.hcstats"));
  BOOST_CHECK(slurp(work / "a.hcstats") != slurp(work / "c.hcstats"));

  // Overwriting an existing file replaces it whole.
  ok("synth --layers 2 --experts 6 --seed 1 --out a.hcstats");
  BOOST_CHECK_EQUAL(json::parse(ok("info a.hcstats --json").out).at("layers").size(), 2u);

  synth("wanda.hcstats", "--hidden 16 --inner 8");
  const json info = json::parse(ok("info wanda.hcstats --json").out);
  BOOST_CHECK(info.at("wanda_norms").at("input").get<bool>());
  BOOST_CHECK(info.at("wanda_norms").at("inner").get<bool>());
  // Synthetic files carry no format 1.1 tensors.
  BOOST_CHECK(!info.at("router_sample").get<bool>());
  BOOST_CHECK(!info.at("leave_one_out").get<bool>());
}

BOOST_FIXTURE_TEST_CASE(demo_runs_end_to_end, CliFixture) {
  const RunResult r = ok("demo --synthetic --layers 3 --experts 12 --out demo.hcstats");
  BOOST_CHECK(fs::exists(work / "demo.hcstats"));
  for (const char* part : {"demo.hcstats", "hodgecover", "frequency", "reap", "harm"}) {
    BOOST_CHECK_MESSAGE(contains(r.out, part), "demo output lacks " << part);
  }
  ok("info demo.hcstats");
  check_no_temporaries(*this);
}

BOOST_AUTO_TEST_SUITE_END()
