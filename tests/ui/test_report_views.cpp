// The report views headless: a comparison report loaded beside a statistics file (frontier with
// hover, per-ratio tables, keep sets of every method and two plans side by side), the clustered
// matrix view of a 128-expert layer in every component, bad reports, and the expert ordering.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "hc/ui/matrix_order.hpp"
#include "imgui_headless.hpp"

namespace {

using hc::test::ImGuiHeadless;
using nlohmann::json;

std::vector<std::uint8_t> bytes_of(const std::string& text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

// A report over the loaded file's layers: three variants at two ratios, each with and without
// Wanda, plus one row that did not run. Variant v keeps experts v, v+1, ... (distinct sets).
json make_report(const hc::StatsFile& stats) {
  json rows = json::array();
  const char* variants[] = {"hodgecover", "frequency", "reap"};
  for (double ratio : {0.25, 0.5}) {
    for (int v = 0; v < 3; ++v) {
      for (double wanda : {0.0, 0.5}) {
        const int experts = stats.layers.front().experts;
        const int keep = static_cast<int>(experts * (1 - ratio));
        json kept = json::object();
        for (const auto& layer : stats.layers) {
          json list = json::array();
          for (int k = 0; k < keep; ++k) list.push_back((v + k + layer.layer) % experts);
          kept[std::to_string(layer.layer)] = list;
        }
        const double kl = 0.01 * (1 + v) * (1 + 4 * ratio) * (wanda > 0 ? 1.5 : 1.0);
        rows.push_back({{"variant", variants[v]},
                        {"method", variants[v]},
                        {"mode", "prune"},
                        {"ratio", ratio},
                        {"keep", keep},
                        {"wanda", wanda},
                        {"perplexity", 10 + kl},
                        {"kl", kl},
                        {"top1_agreement", 1 - kl},
                        {"parameters_kept", (1 - ratio) * (wanda > 0 ? 0.6 : 1.0)},
                        {"kl_interval", {{"estimate", kl}, {"low", kl * 0.9}, {"high", kl * 1.1}}},
                        {"frontier", v == 0},
                        {"chosen", v == 0},
                        {"kept", kept}});
      }
    }
  }
  rows.push_back({{"variant", "hcsmoe"},
                  {"method", "hcsmoe"},
                  {"mode", "merge"},
                  {"ratio", 0.5},
                  {"keep", 2},
                  {"wanda", 0.0},
                  {"perplexity", nullptr},
                  {"kl", nullptr},
                  {"error", "the budget keeps fewer experts than top-k"}});
  return {{"format", "hodgecover.compare"},
          {"version", 1},
          {"model", "synthetic"},
          {"reference", {{"perplexity", 10.0}}},
          {"rows", rows}};
}

// Loads a synthetic file and decomposes every layer.
void load_synthetic(hc::ui::AppState& state, int layers, int experts) {
  const auto bytes = hc::test::synth_bytes(layers, experts);
  hc::ui::load_bytes(state, bytes, "model.hcstats");
  BOOST_REQUIRE((state.load_state == hc::ui::LoadState::Loaded));
  hc::ui::analyse_all(state);
  BOOST_REQUIRE(hc::ui::analysis_complete(state));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(report_views)

BOOST_AUTO_TEST_CASE(report_loads_beside_the_statistics_and_every_view_draws) {
  ImGuiHeadless imgui;
  hc::ui::AppState state;
  load_synthetic(state, 6, 24);
  const json report = make_report(*state.stats);
  // Through the picker path: JSON bytes are recognised as a report, the statistics stay.
  hc::ui::load_any_bytes(state, bytes_of(report.dump()), "report.json");
  BOOST_REQUIRE(state.report.has_value());
  BOOST_TEST(state.report_error.empty());
  BOOST_TEST((state.load_state == hc::ui::LoadState::Loaded));
  BOOST_TEST(state.report->rows.size() == 13u);
  BOOST_TEST(state.report->ratios == (std::vector<double>{0.25, 0.5}));
  BOOST_TEST(state.report->variants.size() == 4u);
  BOOST_TEST(!state.report->rows.back().ran());
  // The default comparison: the two lowest-KL plans without Wanda at the first ratio.
  BOOST_TEST(state.keep_a == 0);
  BOOST_TEST(state.keep_b == 2);
  const json summary = hc::ui::summary_json(state);
  BOOST_TEST(summary["report"]["loaded"] == true);
  BOOST_TEST(summary["report"]["rows_with_kept"] == 12);

  // The report tab (requested by the load) draws the frontier and the tables.
  BOOST_TEST(imgui.frames(state, 3) > 1000);
  BOOST_TEST(hc::test::window_drawn("Model overview"));
  // Hovering a point of the frontier names its row; a click makes it plan A.
  const ImGuiWindow* overview = ImGui::FindWindowByName("Model overview");
  BOOST_REQUIRE(overview != nullptr);
  int hovered = -1;
  ImVec2 at;
  for (float y = overview->Pos.y; y < overview->Pos.y + overview->Size.y && hovered < 0; y += 6) {
    for (float x = overview->Pos.x; x < overview->Pos.x + overview->Size.x && hovered < 0; x += 6) {
      imgui.frame_at(state, ImVec2(x, y));
      hovered = state.report_hover;
      at = ImVec2(x, y);
    }
  }
  BOOST_REQUIRE_MESSAGE(hovered >= 0, "no frontier point could be hovered");
  BOOST_TEST(state.report->rows[hovered].ran());
  imgui.frame_at(state, at);
  imgui.frame_at(state, at, true);
  BOOST_TEST(state.keep_a == hovered);

  // Keep sets: every method at each ratio for the current layer, and A against B over layers.
  state.keep_a = 0, state.keep_b = 4;
  for (int ratio = 0; ratio < 2; ++ratio) {
    state.keep_ratio = ratio;
    state.layer_tab_request = 1;
    BOOST_TEST(imgui.frames(state, 4) > 1000);
  }
  // The layer view marks report plan A's experts.
  const hc::ui::KeepMarks marks = hc::ui::kept_marks(state);
  BOOST_REQUIRE(marks.source != nullptr);
  BOOST_TEST(std::string(marks.source) == "report plan A");
  const int layer = state.stats->layers[state.current].layer;
  for (int e : state.report->rows[0].kept.at(layer)) BOOST_TEST(marks.kept[e] == 1);
  BOOST_TEST(std::count(marks.kept.begin(), marks.kept.end(), 1) == 18);

  // Graph and matrix views in every component, with the plan marks.
  state.layer_tab_request = 0;
  for (auto view : {hc::ui::LayerView::Graph, hc::ui::LayerView::Matrix}) {
    state.layer_view = view;
    for (int k = 0; k < hc::ui::kEdgeComponentCount; ++k) {
      state.edge_component = static_cast<hc::ui::EdgeComponent>(k);
      BOOST_TEST(imgui.frames(state, 3) > 1000);
    }
  }
  // A report without "kept" (written before the field existed) still draws.
  json old = report;
  for (auto& row : old["rows"]) row.erase("kept");
  hc::ui::load_report_bytes(state, bytes_of(old.dump()), "old.json");
  BOOST_TEST(state.report_error.empty());
  BOOST_TEST(state.keep_a == -1);
  state.layer_tab_request = 1;
  BOOST_TEST(imgui.frames(state, 3) > 1000);
  // A report may come before the statistics (the page fetches both at once).
  hc::ui::AppState early;
  hc::ui::load_report_bytes(early, bytes_of(report.dump()), "report.json");
  BOOST_TEST(early.report.has_value());
  BOOST_TEST(imgui.frames(early, 3) > 500);
  load_synthetic(early, 6, 24);
  BOOST_TEST(early.report.has_value());
}

BOOST_AUTO_TEST_CASE(bad_reports_name_the_file_and_keep_what_was_loaded) {
  ImGuiHeadless imgui;
  hc::ui::AppState state;
  load_synthetic(state, 2, 8);
  const json good = make_report(*state.stats);
  hc::ui::load_report_bytes(state, bytes_of(good.dump()), "good.json");
  BOOST_REQUIRE(state.report.has_value());

  std::vector<std::pair<std::string, std::string>> bad;  // text, expected fragment
  bad.push_back({"{", "not valid JSON"});
  bad.push_back(
      {R"({"format":"hodgecover.plan","version":1,"rows":[]})", "not a comparison report"});
  bad.push_back({R"({"format":"hodgecover.compare","version":2,"rows":[]})", "version 1"});
  bad.push_back({R"({"format":"hodgecover.compare","version":1})", "no \"rows\""});
  bad.push_back({R"({"format":"hodgecover.compare","version":1,"rows":[]})", "no rows"});
  json row = good["rows"][0];
  json r = good;
  r["rows"] = json::array({row});
  r["rows"][0]["kept"]["0"] = json::array({1, -3});
  bad.push_back({r.dump(), "expert index"});
  r["rows"][0] = row;
  r["rows"][0]["ratio"] = "half";
  bad.push_back({r.dump(), "ratio"});
  r["rows"][0] = row;
  r["rows"][0]["kl"] = "low";
  bad.push_back({r.dump(), "\"kl\" is not a number"});
  r["rows"][0] = row;
  r["rows"][0]["kept"] = json::object({{"x", json::array()}});
  bad.push_back({r.dump(), "bad layer key"});
  for (const auto& [text, fragment] : bad) {
    hc::ui::load_report_bytes(state, bytes_of(text), "bad.json");
    BOOST_TEST(state.report_error.find("bad.json") != std::string::npos, state.report_error);
    BOOST_TEST(state.report_error.find(fragment) != std::string::npos,
               state.report_error << " lacks " << fragment);
    // The statistics and the earlier report are untouched.
    BOOST_TEST((state.load_state == hc::ui::LoadState::Loaded));
    BOOST_TEST(state.report_source == "good.json");
    BOOST_TEST(imgui.frames(state, 2) > 0);
  }
  // A statistics file whose header length starts with the byte '{' is still a statistics file.
  BOOST_TEST(!hc::ui::looks_like_json(std::vector<std::uint8_t>{'{', 1, 0, 0, 0, 0, 0, 0, '{'}));
  BOOST_TEST(hc::ui::looks_like_json(bytes_of(" \n{\"format\": 1}")));
  BOOST_TEST(!hc::ui::looks_like_json(bytes_of("  ")));
  BOOST_TEST(!hc::ui::looks_like_json(bytes_of("[1]")));
  // Non-JSON bytes through the picker path go to the statistics reader.
  hc::ui::load_any_bytes(state, std::vector<std::uint8_t>(64, 0xff), "garbage.bin");
  BOOST_TEST((state.load_state == hc::ui::LoadState::Error));
  BOOST_TEST(state.report.has_value());
}

BOOST_AUTO_TEST_CASE(matrix_view_of_a_128_expert_layer_stays_within_the_draw_budget) {
  ImGuiHeadless imgui;
  hc::ui::AppState state;
  load_synthetic(state, 2, 128);
  state.layer_view = hc::ui::LayerView::Matrix;
  state.selection.ratio = 0.5;
  hc::ui::run_selection(state);
  BOOST_REQUIRE(state.outcome.has_value());
  for (int k = 0; k < hc::ui::kEdgeComponentCount; ++k) {
    state.edge_component = static_cast<hc::ui::EdgeComponent>(k);
    const int vertices = imgui.frames(state, 3);
    BOOST_TEST(vertices > 4 * 8128 / 2, "matrix cells missing: " << vertices);
  }
  const std::vector<int>& order = hc::ui::matrix_order(state, 0);
  std::vector<int> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(128);
  std::iota(identity.begin(), identity.end(), 0);
  BOOST_TEST(sorted == identity);
}

BOOST_AUTO_TEST_CASE(cluster_order_puts_planted_groups_together) {
  // Three groups of four experts, interleaved in numbering: 0,3,6,9 / 1,4,7,10 / 2,5,8,11.
  const int n = 12;
  std::vector<std::array<std::int32_t, 2>> edges;
  std::vector<float> barrier;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      edges.push_back({i, j});
      barrier.push_back(i % 3 == j % 3 ? 0.1f + 0.01f * static_cast<float>(i + j)
                                       : 5.0f + static_cast<float>((i * j) % 3));
    }
  const std::vector<int> order = hc::ui::cluster_order(n, edges, barrier);
  BOOST_REQUIRE(order.size() == 12u);
  for (int block = 0; block < 3; ++block) {
    const int group = order[block * 4] % 3;
    for (int k = 1; k < 4; ++k)
      BOOST_TEST(order[block * 4 + k] % 3 == group, "position " << block * 4 + k);
  }
  // Deterministic, and a permutation even with missing pairs and NaN barriers.
  BOOST_TEST(hc::ui::cluster_order(n, edges, barrier) == order);
  edges.resize(20);
  barrier.resize(20);
  barrier[3] = std::nanf("");
  std::vector<int> partial = hc::ui::cluster_order(n, edges, barrier);
  std::sort(partial.begin(), partial.end());
  for (int i = 0; i < n; ++i) BOOST_TEST(partial[i] == i);
  BOOST_TEST(hc::ui::cluster_order(0, {}, {}).empty());
  BOOST_TEST(hc::ui::cluster_order(1, {}, {}) == std::vector<int>{0});
}

BOOST_AUTO_TEST_SUITE_END()
