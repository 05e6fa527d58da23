// Headless dashboard: an ImGui context with no backend runs frames through every panel with a
// synthetic file loaded, a τ change, a selection, the compact view, and corrupt files (error
// banner, the app keeps running and loads the next good file).
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "imgui_headless.hpp"

using hc::test::ImGuiHeadless;
using hc::test::synth_bytes;
using hc::test::window_drawn;

namespace {

// Methods that rank on tensors synthetic files lack (loo: format 1.1; substitute, hodgerank:
// format 1.3).
bool needs_newer_data(hc::Method m) {
  return m == hc::Method::Loo || m == hc::Method::Substitute || m == hc::Method::HodgeRank;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(headless)

BOOST_AUTO_TEST_CASE(every_panel_with_a_loaded_sample) {
  ImGuiHeadless imgui;
  hc::ui::AppState state;
  state.samples.push_back({"demo", "samples/demo.hcstats", "samples/demo.report.json"});
  std::string saved;
  state.host.save_text = [&](const std::string&, const std::string& text) { saved = text; };
  BOOST_TEST(imgui.frames(state, 3) > 0);  // empty state draws too
  BOOST_TEST((state.load_state == hc::ui::LoadState::Empty));

  const auto bytes = synth_bytes(6, 24);
  hc::ui::load_bytes(state, bytes, "demo.hcstats");
  BOOST_REQUIRE((state.load_state == hc::ui::LoadState::Loaded));
  for (int i = 0; i < 200 && !hc::ui::analysis_complete(state); ++i) imgui.frames(state, 1);
  BOOST_REQUIRE(hc::ui::analysis_complete(state));
  BOOST_TEST(state.status == "6 layers loaded");
  for (const char* name : {"Open", "Model overview", "Layer", "Selection"}) {
    BOOST_TEST(window_drawn(name), name);
  }

  // Both overview tabs, every heatmap statistic and edge component.
  for (int tab = 0; tab < 2; ++tab) {
    state.overview_tab_request = tab;
    for (int k = 0; k < hc::ui::kEdgeComponentCount; ++k) {
      state.heat_stat = static_cast<hc::ui::ExpertStat>(k % 4);
      state.edge_component = static_cast<hc::ui::EdgeComponent>(k);
      BOOST_TEST(imgui.frames(state, 4) > 1000);
    }
  }

  // τ slider path: re-decompose one layer at the median barrier, then back to the quantile.
  state.current = 2;
  const auto [lo, hi] = hc::ui::barrier_range(state, 2);
  hc::ui::set_layer_tau(state, 2, 0.5 * (lo + hi));
  BOOST_TEST(state.layer_error[2].empty());
  BOOST_TEST(state.analyses[2].complex.tau == 0.5 * (lo + hi));
  imgui.frames(state, 5);
  hc::ui::set_layer_tau(state, 2, std::nullopt);
  BOOST_TEST(state.analyses[2].complex.tau != 0.5 * (lo + hi));

  // Selection: every method compared, the plan exported through the host.
  state.selection.ratio = 0.5;
  hc::ui::run_selection(state);
  BOOST_REQUIRE(state.outcome.has_value());
  BOOST_TEST(state.comparison.size() == hc::all_methods().size());
  // Synthetic files have no leave-one-out scores or substitution barriers.
  for (const auto& c : state.comparison)
    BOOST_TEST(c.ok == !needs_newer_data(c.method), hc::method_name(c.method) << ": " << c.error);
  BOOST_TEST(state.outcome->plan.layers.at(state.stats->layers[2].layer).keep.size() == 12u);
  imgui.frames(state, 10);
  const std::string plan = hc::ui::plan_text(state);
  auto parsed = hc::parse_plan(plan, "plan.json");
  BOOST_TEST(parsed.ok());
  const auto summary = hc::ui::summary_json(state);
  BOOST_TEST(summary["layers"].size() == 6u);
  BOOST_TEST(summary["state"] == "loaded");

  // Compact (embed) view.
  state.compact = true;
  BOOST_TEST(imgui.frames(state, 5) > 1000);
}

BOOST_AUTO_TEST_CASE(loo_on_a_file_without_its_scores_shows_the_refusal) {
  ImGuiHeadless imgui;
  hc::ui::AppState state;
  hc::ui::load_bytes(state, synth_bytes(2, 8), "old.hcstats");
  BOOST_REQUIRE((state.load_state == hc::ui::LoadState::Loaded));
  state.selection.method = hc::Method::Loo;
  state.selection.ratio = 0.5;
  BOOST_TEST(imgui.frames(state, 2) > 0);  // the combo's note, before any run
  hc::ui::run_selection(state);
  BOOST_TEST(!state.outcome.has_value());
  BOOST_TEST(state.error.find("expert_loo") != std::string::npos, state.error);
  BOOST_TEST(state.comparison.size() == hc::all_methods().size());  // the others still ran
  for (const auto& c : state.comparison)
    BOOST_TEST(c.ok == !needs_newer_data(c.method), hc::method_name(c.method));
  BOOST_TEST(imgui.frames(state, 3) > 0);
  BOOST_TEST(window_drawn("Selection"));

  // The same file with the scores: loo selects like any other method.
  for (auto& layer : state.stats->layers) {
    layer.loo.resize(static_cast<std::size_t>(layer.experts));
    for (int e = 0; e < layer.experts; ++e) layer.loo[e] = static_cast<float>((e * 5) % 8);
    const auto n = static_cast<std::size_t>(layer.experts);
    layer.substitution.assign(n * n, 0.0f);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (i != j) layer.substitution[i * n + j] = static_cast<float>((i * 3 + j * 5) % 7 + 1);
  }
  hc::ui::run_selection(state);
  BOOST_REQUIRE(state.outcome.has_value());
  BOOST_TEST(state.error.empty());
  for (const auto& [layer, plan] : state.outcome->plan.layers)  // loo 0,5,2,7,4,1,6,3
    BOOST_TEST(plan.keep == (std::vector<int>{1, 3, 4, 6}), "layer " << layer);
  for (const auto& c : state.comparison) BOOST_TEST(c.ok, hc::method_name(c.method));
  BOOST_TEST(imgui.frames(state, 2) > 0);
}

BOOST_AUTO_TEST_CASE(corrupt_files_show_the_error_and_the_app_keeps_running) {
  ImGuiHeadless imgui;
  hc::ui::AppState state;
  auto bytes = synth_bytes(2, 8);
  std::vector<std::vector<std::uint8_t>> bad;
  bad.push_back({});  // empty
  bad.push_back(
      std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));  // truncated
  BOOST_REQUIRE(bytes.size() > 64);
  auto flipped = bytes;
  flipped.back() ^= 0x5a;  // data byte changed: checksum mismatch
  bad.push_back(flipped);
  bad.push_back(std::vector<std::uint8_t>(64, 0xff));  // garbage header length
  for (const auto& b : bad) {
    hc::ui::load_bytes(state, b, "broken.hcstats");
    BOOST_TEST((state.load_state == hc::ui::LoadState::Error));
    BOOST_TEST(state.error.find("broken.hcstats") != std::string::npos, state.error);
    BOOST_TEST(state.status.rfind("error: ", 0) == 0);
    BOOST_TEST(imgui.frames(state, 3) > 0);
    BOOST_TEST(window_drawn("Open"));
  }
  state.compact = true;
  BOOST_TEST(imgui.frames(state, 2) > 0);
  state.compact = false;
  // Selecting with no model is a no-op, not a crash.
  hc::ui::run_selection(state);
  BOOST_TEST(!state.outcome.has_value());

  hc::ui::load_bytes(state, bytes, "good.hcstats");
  BOOST_TEST((state.load_state == hc::ui::LoadState::Loaded));
  hc::ui::analyse_all(state);
  BOOST_TEST(state.status == "2 layers loaded");
  BOOST_TEST(imgui.frames(state, 3) > 0);
}

BOOST_AUTO_TEST_SUITE_END()
