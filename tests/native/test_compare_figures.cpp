// compare_figures on a hand-built report: a failed row, a row with KL 0, a non-finite score and
// a name needing escapes never break a figure; every SVG is well-formed XML (Python's parser),
// the frontier has one series per plotted variant, output is deterministic, report.md links
// every figure and report.json carries the kept experts.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hc/native/compare_figures.hpp"
#include "hc/native/compare_report.hpp"
#include "test_support.hpp"

using namespace hc::native;
using hc::test::contains;

namespace {

const std::string kOdd = "a<b>&\"c'";  // a variant name that needs every escape

CompareRow make_row(const std::string& variant, double ratio, double wanda, double kl,
                    std::uint64_t nonzero) {
  CompareRow row;
  row.variant = variant;
  row.method = variant;
  row.mode = "prune";
  row.ratio = ratio;
  row.keep = ratio == 0.25 ? 6 : 8;
  row.wanda = wanda;
  row.kl = kl;
  row.perplexity = 10.0;
  row.top1_agreement = 0.9;
  row.parameters = row.nonzero_parameters = nonzero;
  row.kept = {{0, {0, 1, 2, 3, 4, 5}}, {3, {1, 2, 3, 5, 6, 7}}};
  return row;
}

CompareReport hand_built_report() {
  CompareReport report;
  report.model = "m";
  report.experts = 8;
  report.reference_parameters = 1000;
  report.rows.push_back(make_row("hodgecover", 0.25, 0.0, 0.012, 800));
  report.rows.push_back(make_row("hodgecover", 0.25, 0.5, 0.05, 500));
  report.rows.push_back(make_row("reap", 0.25, 0.0, 0.0, 800));  // KL 0: off the log axis
  CompareRow failed = make_row("reap", 0.25, 0.5, NAN, 0);       // apply failed
  failed.error = "cannot apply";
  report.rows.push_back(failed);
  CompareRow no_plan = make_row("frequency", 0.9, 0.0, 0.0, 0);  // the plan failed
  no_plan.error = "keeps 1 < top-2";
  no_plan.kept.clear();
  report.rows.push_back(no_plan);
  CompareRow odd = make_row(kOdd, 0.25, 0.0, 0.3, 790);
  odd.top1_agreement = NAN;
  report.rows.push_back(odd);
  report.rows.push_back(make_row("wanda-only", 0.0, 0.25, 0.002, 900));
  annotate_report(report);
  return report;
}

// Parses `svg` with Python's XML parser; returns the frontier series names (data-series of
// <g class="series">), one per line, or fails the test when it is not well-formed.
std::string parse_svg(const hc::test::TempDir& dir, const std::string& name,
                      const std::string& svg) {
  const auto path = dir.root / name;
  hc::test::spit(path, svg);
  const std::string code =
      "import xml.etree.ElementTree as E,sys\n"
      "t=E.parse(sys.argv[1])\n"
      "for g in t.iter('{http://www.w3.org/2000/svg}g'):\n"
      "  if g.get('class')=='series': print(g.get('data-series'))\n";
  const std::string command = "/usr/bin/python3 -c " + hc::test::quote(code) + " " +
                              hc::test::quote(path.string()) + " > " +
                              hc::test::quote(path.string() + ".out") + " 2>&1";
  BOOST_CHECK_MESSAGE(
      std::system(command.c_str()) == 0,
      name << " is not well-formed XML: " << hc::test::slurp(path.string() + ".out"));
  return hc::test::slurp(path.string() + ".out");
}

std::set<std::string> lines_of(const std::string& text) {
  std::set<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compare_figures)

BOOST_AUTO_TEST_CASE(failed_rows_and_zero_kl_never_break_a_figure) {
  const CompareReport report = hand_built_report();
  const auto figures = hc::native::compare_figures(report);
  std::vector<std::string> files;
  for (const auto& f : figures) files.push_back(f.file);
  BOOST_TEST(files == (std::vector<std::string>{"figures/frontier.svg", "figures/ratio-25.svg",
                                                "figures/keep-25.svg", "figures/ratio-90.svg",
                                                "figures/keep-90.svg"}),
             boost::test_tools::per_element());
  hc::test::TempDir dir("hc-test-figures");
  for (const auto& f : figures) {
    BOOST_TEST_CONTEXT(f.file) {
      BOOST_TEST(!f.alt.empty());
      std::string lower = f.svg;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      BOOST_TEST(!contains(lower, "nan"));
      BOOST_TEST(!contains(lower, "inf"));
      BOOST_TEST(contains(f.svg, "viewBox=\"0 0 "));
      const std::string series = parse_svg(dir, f.file.substr(8), f.svg);
      if (f.file == "figures/frontier.svg") {
        // One series per variant with a positive KL: reap (KL 0, failed) and frequency are out.
        BOOST_TEST(lines_of(series) == (std::set<std::string>{"hodgecover", kOdd, "wanda-only"}),
                   boost::test_tools::per_element());
        BOOST_TEST(contains(f.svg, "data-skipped=\"3\""));
        BOOST_TEST(contains(f.svg, "a&lt;b&gt;&amp;&quot;c&apos;"));
        BOOST_TEST(contains(f.svg, "KL 0 cannot be placed"));
      }
    }
  }
  // The failed rows say why, in the bars and the grid.
  BOOST_TEST(contains(figures[1].svg, "not run: cannot apply"));
  BOOST_TEST(contains(figures[4].svg, "no plan: keeps 1 &lt; top-2"));
  BOOST_TEST(contains(figures[2].svg, "data-variant=\"hodgecover\" data-kept=\"12\""));
  // Deterministic.
  const auto again = hc::native::compare_figures(report);
  for (std::size_t i = 0; i < figures.size(); ++i) BOOST_TEST(again[i].svg == figures[i].svg);
}

BOOST_AUTO_TEST_CASE(empty_report_draws_empty_figures) {
  CompareReport report;
  const auto figures = hc::native::compare_figures(report);
  BOOST_REQUIRE_EQUAL(figures.size(), 1u);
  hc::test::TempDir dir("hc-test-figures");
  BOOST_TEST(parse_svg(dir, "frontier.svg", figures[0].svg).empty());
  BOOST_TEST(contains(figures[0].svg, "no row has a positive KL"));
  BOOST_TEST(!contains(ratio_svg(report, 0.5), "nan"));
  BOOST_TEST(!contains(keep_svg(report, 0.5), "nan"));
}

BOOST_AUTO_TEST_CASE(markdown_links_every_figure_and_json_has_the_kept_experts) {
  const CompareReport report = hand_built_report();
  const std::string md = compare_report_markdown(report);
  for (const auto& f : hc::native::compare_figures(report)) BOOST_TEST_CONTEXT(f.file) {
      BOOST_TEST(contains(md, "](" + f.file + ")"));
    }
  // The frontier figure sits in the frontier section, each ratio's after its table.
  BOOST_TEST(md.find("](figures/frontier.svg)") > md.find("## Frontier"));
  BOOST_TEST(md.find("](figures/ratio-25.svg)") < md.find("## 90%"));

  const nlohmann::json json = compare_report_json(report);
  BOOST_TEST(json.at("version") == 1);
  BOOST_TEST(json.at("experts") == 8);
  const auto& rows = json.at("rows");
  BOOST_TEST(rows[0].at("kept") ==
             nlohmann::json::parse(R"({"0":[0,1,2,3,4,5],"3":[1,2,3,5,6,7]})"));
  BOOST_TEST(rows[3].at("kept") == rows[2].at("kept"));  // apply failed, the plan did not
  BOOST_TEST(rows[4].at("kept").is_null());              // the plan failed
}

BOOST_AUTO_TEST_SUITE_END()
