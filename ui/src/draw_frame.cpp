// Frame layout: advances the incremental analysis and places the four panels (or the compact
// embed view) over the host's display.
#include <imgui.h>

#include "hc/ui/draw.hpp"

namespace hc::ui {
namespace {

// Decomposition work allowed per frame, so a large file keeps the UI responsive.
constexpr double kAnalysisBudgetMs = 12.0;

void draw_compact(AppState& s) {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  ImGui::Begin("HodgeCover layer", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoBringToFrontOnFocus);
  if (s.load_state == LoadState::Error) {
    ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "Could not load %s", s.source.c_str());
    ImGui::TextWrapped("%s", s.error.c_str());
  } else if (s.load_state != LoadState::Loaded) {
    ImGui::TextUnformatted(s.load_state == LoadState::Loading ? "Loading..." : "No file loaded");
  } else {
    draw_layer_controls(s);
    draw_layer_graph(s, ImGui::GetContentRegionAvail());
  }
  ImGui::End();
}

}  // namespace

void draw_frame(AppState& s) {
  if (s.load_state == LoadState::Loaded && s.pending > 0) analyse_pending(s, kAnalysisBudgetMs);
  if (s.compact) {
    draw_compact(s);
    return;
  }
  // Tile the four panels over the display, again whenever the display (window, canvas) resizes.
  const ImVec2 d = ImGui::GetIO().DisplaySize;
  static ImVec2 laid_out(0, 0);
  const ImGuiCond cond =
      (d.x != laid_out.x || d.y != laid_out.y) ? ImGuiCond_Always : ImGuiCond_FirstUseEver;
  laid_out = d;
  const float left = d.x * 0.36f, top = d.y * 0.42f;
  ImGui::SetNextWindowPos(ImVec2(0, 0), cond);
  ImGui::SetNextWindowSize(ImVec2(left, top), cond);
  draw_open_panel(s);
  ImGui::SetNextWindowPos(ImVec2(0, top), cond);
  ImGui::SetNextWindowSize(ImVec2(left, d.y - top), cond);
  draw_selection_panel(s);
  ImGui::SetNextWindowPos(ImVec2(left, 0), cond);
  ImGui::SetNextWindowSize(ImVec2(d.x - left, top), cond);
  draw_overview_panel(s);
  ImGui::SetNextWindowPos(ImVec2(left, top), cond);
  ImGui::SetNextWindowSize(ImVec2(d.x - left, d.y - top), cond);
  draw_layer_panel(s);
}

void apply_style() {
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 3.0f;
  style.FrameRounding = 2.0f;
  style.WindowPadding = ImVec2(8, 8);
  ImGui::GetIO().IniFilename = nullptr;  // layout is computed from the display, not saved
}

}  // namespace hc::ui
