// compare: every method × ratio × Wanda row present with sane scores; a kept checkpoint
// re-evaluates to its reported scores; plans on disk are what was applied; an infeasible ratio
// becomes a row with a reason; an existing output is refused and left untouched.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hc/native/evaluate.hpp"
#include "hc/native/text.hpp"
#include "hc/plan.hpp"
#include "hc/selection.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;
using nlohmann::json;

namespace {

std::vector<std::vector<std::int32_t>> sequences_of(int n, int step, int offset, int len) {
  std::vector<std::vector<std::int32_t>> out;
  std::vector<std::int32_t> cur;
  for (int i = 0; i < n; ++i) {
    cur.push_back((i * step + offset) % 64);
    if (static_cast<int>(cur.size()) == len) out.push_back(std::move(cur)), cur.clear();
  }
  if (cur.size() >= 2) out.push_back(cur);
  return out;
}

// Parses an SVG with Python's XML parser (failing the test when it is not well-formed) and
// returns the data-series of its <g class="series"> elements.
std::set<std::string> svg_series(const fs::path& svg) {
  const std::string code =
      "import xml.etree.ElementTree as E,sys\n"
      "t=E.parse(sys.argv[1])\n"
      "for g in t.iter('{http://www.w3.org/2000/svg}g'):\n"
      "  if g.get('class')=='series': print(g.get('data-series'))\n";
  const std::string out = svg.string() + ".series";
  const std::string command = "/usr/bin/python3 -c " + hc::test::quote(code) + " " +
                              hc::test::quote(svg.string()) + " > " + hc::test::quote(out) +
                              " 2>&1";
  BOOST_CHECK_MESSAGE(std::system(command.c_str()) == 0,
                      svg << " is not well-formed XML: " << hc::test::slurp(out));
  std::set<std::string> series;
  std::istringstream in(hc::test::slurp(out));
  for (std::string line; std::getline(in, line);) series.insert(line);
  fs::remove(out);
  return series;
}

// Every figure of a report directory exists, is linked from report.md and is well-formed; the
// frontier has one series per variant that ran.
void check_figures(const fs::path& dir, const json& report) {
  const std::string md = hc::test::slurp(dir / "report.md");
  std::set<std::string> files{"frontier.svg"}, ran;
  for (const auto& row : report.at("rows")) {
    const std::string ratio = hc::native::strprintf("%g", 100 * row.at("ratio").get<double>());
    if (row.at("ratio").get<double>() > 0) files.insert("ratio-" + ratio + ".svg");
    if (row.at("ratio").get<double>() > 0) files.insert("keep-" + ratio + ".svg");
    if (!row.contains("error") && row.at("kl").get<double>() > 0)
      ran.insert(row.at("variant").get<std::string>());
  }
  std::set<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(dir / "figures"))
    on_disk.insert(entry.path().filename().string());
  BOOST_CHECK(on_disk == files);
  for (const std::string& file : files) {
    BOOST_CHECK_MESSAGE(contains(md, "](figures/" + file + ")"), "report.md lacks " << file);
    const auto series = svg_series(dir / "figures" / file);
    if (file == "frontier.svg") {
      BOOST_CHECK(series == ran);
    } else {
      BOOST_CHECK(series.empty());
    }
  }
}

// `kept` of every row is the plan file's keep list per layer (null when the plan failed).
void check_kept(const fs::path& dir, const json& report) {
  for (const auto& row : report.at("rows")) {
    if (row.at("plan").get<std::string>().empty()) {
      BOOST_CHECK(row.at("kept").is_null());
      continue;
    }
    const auto plan =
        hc::parse_plan(hc::test::slurp(dir / row.at("plan").get<std::string>()), "plan");
    BOOST_REQUIRE(plan.ok());
    BOOST_REQUIRE_EQUAL(row.at("kept").size(), plan->layers.size());
    for (const auto& [layer, lp] : plan->layers)
      BOOST_CHECK(row.at("kept").at(std::to_string(layer)).get<std::vector<int>>() == lp.keep);
  }
}

// An 8-expert top-2 Mixtral-style model with statistics from its own calibration ids.
struct CompareCli : CliFixture {
  CompareCli() {
    FixtureSizes s;
    s.layers = 2;
    s.experts = 8;
    s.top_k = 2;
    s.vocab = 64;
    BOOST_REQUIRE(write_random_checkpoint(work / "model", Family::Mixtral, s, 5).ok());
    hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(256, 64, 11, 3));
    hc::test::write_token_ids(work / "held.ids", hc::test::token_ids(96, 64, 7, 1));
    ok("extract --model model --ids calib.ids --seq-len 64 --out m.hcstats");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(compare)

BOOST_FIXTURE_TEST_CASE(every_method_ratio_and_wanda_row_is_scored, CompareCli) {
  const auto r =
      ok("compare --model model --stats m.hcstats --ids held.ids --seq-len 32 "
         "--ratios 0.25,0.5 --wanda 0.5 --checkpoints best --out cmp --json");
  const json report = json::parse(r.out);
  BOOST_CHECK_EQUAL(report.at("format"), "hodgecover.compare");
  const double ref_ppl = report.at("reference").at("perplexity");
  BOOST_CHECK(std::isfinite(ref_ppl) && ref_ppl > 1.0);
  const auto& rows = report.at("rows");
  // Every method: the extraction wrote every statistic, so none is skipped.
  const std::size_t methods = hc::all_methods().size();
  BOOST_REQUIRE_EQUAL(rows.size(), methods * 2u * 2u);
  std::set<std::string> seen;
  int kept = 0;
  for (const auto& row : rows) {
    BOOST_REQUIRE_MESSAGE(!row.contains("error"), row.dump());
    seen.insert(row.at("method").get<std::string>() + "/" + row.at("ratio").dump() + "/" +
                row.at("wanda").dump());
    const double kl = row.at("kl"), top1 = row.at("top1_agreement"), ppl = row.at("perplexity");
    BOOST_CHECK(std::isfinite(ppl) && ppl > 1.0);
    BOOST_CHECK_GE(kl, 0.0);
    BOOST_CHECK(top1 >= 0.0 && top1 <= 1.0);
    BOOST_CHECK_EQUAL(row.at("keep").get<int>(), row.at("ratio") == 0.25 ? 6 : 4);
    BOOST_CHECK_EQUAL(row.at("mode"), row.at("method") == "hcsmoe" ? "merge" : "prune");
    const auto params = row.at("parameters").get<std::uint64_t>();
    const auto nonzero = row.at("nonzero_parameters").get<std::uint64_t>();
    BOOST_CHECK_LT(params, report.at("reference").at("parameters").get<std::uint64_t>());
    if (row.at("wanda") == 0.0)
      BOOST_CHECK_EQUAL(nonzero, params);
    else
      BOOST_CHECK_LT(nonzero, params);
    // The plan on disk is the one applied: its keep count per layer matches.
    const auto plan =
        hc::parse_plan(hc::test::slurp(work / "cmp" / row.at("plan").get<std::string>()), "plan");
    BOOST_REQUIRE(plan.ok());
    BOOST_CHECK_EQUAL(plan->method, row.at("method").get<std::string>());
    for (const auto& [layer, lp] : plan->layers)
      BOOST_CHECK_EQUAL(static_cast<int>(lp.keep.size()), row.at("keep").get<int>());
    if (!row.at("checkpoint").is_null()) ++kept;
  }
  check_figures(work / "cmp", report);
  check_kept(work / "cmp", report);
  BOOST_CHECK_EQUAL(svg_series(work / "cmp" / "figures" / "frontier.svg").size(), methods);
  BOOST_CHECK_EQUAL(seen.size(), rows.size());  // no duplicates
  BOOST_CHECK_EQUAL(kept, 2);                   // the best of each ratio
  BOOST_CHECK(fs::exists(work / "cmp" / "report.md"));
  const std::string md = hc::test::slurp(work / "cmp" / "report.md");
  for (hc::Method m : hc::all_methods()) BOOST_CHECK(contains(md, hc::method_name(m)));

  // The kept checkpoint of each ratio is the lowest-KL row, and re-evaluating it gives its scores
  // (to multithreaded-reduction round-off: the CLI and this process may sum in other orders).
  for (double ratio : {0.25, 0.5}) {
    const json* best = nullptr;
    double lowest = INFINITY;
    for (const auto& row : rows) {
      if (row.at("ratio") != ratio) continue;
      if (row.at("kl").get<double>() < lowest) lowest = row.at("kl"), best = &row;
    }
    BOOST_REQUIRE(best && !best->at("checkpoint").is_null());
    auto evaluated =
        evaluate_models({work / "model", work / "cmp" / best->at("checkpoint").get<std::string>()},
                        sequences_of(96, 7, 1, 32), at::Device(at::kCPU));
    BOOST_REQUIRE(evaluated.ok());
    BOOST_CHECK_CLOSE((*evaluated)[1].kl, best->at("kl").get<double>(), 1e-2);  // percent
    BOOST_CHECK_CLOSE((*evaluated)[1].perplexity, best->at("perplexity").get<double>(), 1e-4);
    BOOST_CHECK_CLOSE((*evaluated)[0].perplexity, ref_ppl, 1e-4);
  }
}

BOOST_FIXTURE_TEST_CASE(infeasible_ratio_is_a_row_with_a_reason, CompareCli) {
  // 0.9 of 8 keeps 1 < top-2: reported, not run; the 0.5 rows still run.
  const auto r =
      ok("compare --model model --stats m.hcstats --ids held.ids --seq-len 32 "
         "--ratios 0.5,0.9 --wanda 0 --methods hodgecover,reap --checkpoints none "
         "--out cmp --json");
  const json report = json::parse(r.out);
  BOOST_REQUIRE_EQUAL(report.at("rows").size(), 4u);
  for (const auto& row : report.at("rows")) {
    if (row.at("ratio") == 0.9) {
      BOOST_CHECK(row.contains("error"));
      BOOST_CHECK(row.at("kl").is_null());
    } else {
      BOOST_CHECK(!row.contains("error"));
      BOOST_CHECK(row.at("checkpoint").is_null());
    }
  }
  BOOST_CHECK(fs::is_empty(work / "cmp" / "checkpoints"));
  // The rows that did not run leave the figures whole and say why.
  check_figures(work / "cmp", report);
  check_kept(work / "cmp", report);
  BOOST_CHECK(contains(hc::test::slurp(work / "cmp" / "figures" / "ratio-90.svg"), "not run: "));
}

BOOST_FIXTURE_TEST_CASE(variants_intervals_selection_text_and_controls, CompareCli) {
  hc::test::spit(work / "variants.json",
                 R"({"variants":[{"name":"hc-lt0","method":"hodgecover","lambda_t":0},
                                 {"name":"hc-oriented","method":"hodgecover",
                                  "harmonic_target":"oriented"},
                                 {"name":"reap","method":"reap"}]})");
  hc::test::write_token_ids(work / "select.ids", hc::test::token_ids(96, 64, 5, 2));
  const auto r =
      ok("compare --model model --stats m.hcstats --ids held.ids --seq-len 16 "
         "--ratios 0.5 --wanda 0.5 --variants variants.json --select-on-ids select.ids "
         "--wanda-only 0.25 --checkpoints none --out cmp --json");
  const json report = json::parse(r.out);
  const auto& rows = report.at("rows");
  BOOST_REQUIRE_EQUAL(rows.size(), 3u * 2u + 1u);
  int chosen = 0, frontier = 0;
  for (const auto& row : rows) {
    BOOST_REQUIRE_MESSAGE(!row.contains("error"), row.dump());
    const double kl = row.at("kl");
    const auto& ci = row.at("kl_interval");
    BOOST_CHECK_LE(ci.at("low").get<double>(), kl + 1e-12);
    BOOST_CHECK_GE(ci.at("high").get<double>(), kl - 1e-12);
    // Paired difference to the group's best: never negative in estimate, 0 for the best.
    const auto& d = row.at("kl_minus_best");
    BOOST_CHECK_GE(d.at("estimate").get<double>(), 0.0);
    BOOST_CHECK_LE(d.at("low").get<double>(), d.at("estimate").get<double>() + 1e-12);
    BOOST_CHECK(std::isfinite(row.at("select_kl").get<double>()));
    chosen += row.at("chosen").get<bool>();
    frontier += row.at("frontier").get<bool>();
    if (row.at("variant") == "wanda-only") {
      BOOST_CHECK_EQUAL(row.at("keep").get<int>(), 8);
      BOOST_CHECK_EQUAL(row.at("ratio").get<double>(), 0.0);
    }
  }
  BOOST_CHECK_EQUAL(chosen, 3);  // one per (ratio, Wanda) group, the control included
  BOOST_CHECK_GE(frontier, 1);
  BOOST_CHECK(!report.at("select_data").is_null());
  const std::string md = hc::test::slurp(work / "cmp" / "report.md");
  for (const char* text : {"hc-lt0", "hc-oriented", "Chosen on the selection text", "Frontier",
                           "Control: Wanda alone", "✓"})
    BOOST_CHECK_MESSAGE(contains(md, text), text);

  // Random over seeds: one row per seed and a summary.
  ok("compare --model model --stats m.hcstats --ids held.ids --seq-len 32 --ratios 0.5 --wanda 0 "
     "--methods random,reap --random-seeds 3 --checkpoints none --out cmp2");
  const std::string md2 = hc::test::slurp(work / "cmp2" / "report.md");
  for (const char* text : {"random.s0", "random.s2", "Random selection over seeds"})
    BOOST_CHECK_MESSAGE(contains(md2, text), text);

  // A bad variants file is bad input, named, and leaves nothing.
  hc::test::spit(work / "bad.json", R"({"variants":[{"name":"x","method":"reap","lambda_q":1}]})");
  auto bad =
      run("compare --model model --stats m.hcstats --ids held.ids --variants bad.json "
          "--out cmp3");
  BOOST_CHECK_EQUAL(bad.code, 3);
  BOOST_CHECK(contains(bad.err, "bad.json") && contains(bad.err, "lambda_q"));
  BOOST_CHECK(!fs::exists(work / "cmp3"));
}

BOOST_FIXTURE_TEST_CASE(bad_inputs_leave_nothing, CompareCli) {
  fs::create_directory(work / "taken");
  hc::test::spit(work / "taken" / "keep.txt", "mine");
  auto r = run("compare --model model --stats m.hcstats --ids held.ids --out taken");
  BOOST_CHECK_EQUAL(r.code, 4);
  BOOST_CHECK(contains(r.err, "taken"));
  BOOST_CHECK_EQUAL(hc::test::slurp(work / "taken" / "keep.txt"), "mine");

  r = run("compare --model model --stats missing.hcstats --ids held.ids --out cmp");
  BOOST_CHECK_EQUAL(r.code, 3);
  BOOST_CHECK(contains(r.err, "missing.hcstats"));
  r = run("compare --model model --stats m.hcstats --out cmp");
  BOOST_CHECK_EQUAL(r.code, 2);
  r = run("compare --model model --stats m.hcstats --ids held.ids --ratios 1.5 --out cmp");
  BOOST_CHECK_NE(r.code, 0);
  r = run("compare --model model --stats m.hcstats --ids held.ids --methods nosuch --out cmp");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(!fs::exists(work / "cmp"));
  // No staging directory left behind.
  for (const auto& entry : fs::directory_iterator(work))
    BOOST_CHECK_MESSAGE(!contains(entry.path().filename().string(), ".tmp-"), entry.path());
}

BOOST_AUTO_TEST_SUITE_END()
