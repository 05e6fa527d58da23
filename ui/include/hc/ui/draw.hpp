// The dashboard's drawing entry points. The host calls draw_frame between ImGui::NewFrame and
// ImGui::Render; nothing here touches SDL, GL or Emscripten, so frames run headless in tests.
#pragma once

#include <imgui.h>

#include "hc/ui/app_state.hpp"

namespace hc::ui {

// Advances pending analysis (a time slice per frame) and draws every panel, or the compact
// one-layer view when state.compact is set.
void draw_frame(AppState& state);

// The panels, one per file; each draws one window.
void draw_open_panel(AppState& state);
void draw_overview_panel(AppState& state);
void draw_layer_panel(AppState& state);
void draw_selection_panel(AppState& state);

// The comparison report: frontier of parameters kept against KL (hover a point for its
// numbers, click to compare its keep set) and the per-ratio tables. A tab of the overview panel.
void draw_report_tab(AppState& state);
// The current layer's pair matrix (clustered order, chosen component above the diagonal, raw
// barrier below, kept experts on the axes) with the filled triangles and holes listed.
void draw_layer_matrix(AppState& state, ImVec2 size);
// Which experts the report's methods keep: the current layer for every method at one ratio, and
// two chosen plans side by side over every layer.
void draw_keep_sets(AppState& state);
// Kept flags of the current layer's experts for marking: report plan A when chosen, else the
// live selection. `kept` is empty when nothing is selected; `live` is the live selection's layer
// plan when the marks come from it.
struct KeepMarks {
  std::vector<char> kept;
  const char* source = nullptr;  // "report plan A" or "the live selection"
  const LayerPlan* live = nullptr;
};
KeepMarks kept_marks(const AppState& state);

// Value of `component` on edge e of a decomposed layer, along the edge's orientation (the
// orientation-averaged harmonic part as a root, in barrier units).
double edge_component_value(const LayerAnalysis& a, EdgeComponent component, int e);
// True when the current layer is decomposed without error (computing the orientation-averaged
// energies if that component is shown); otherwise draws "decomposing..." or the layer's error.
bool current_layer_ready(AppState& state);

// The complex of the current layer as a graph filling `size` (shared by the layer panel and the
// embed view); hover shows an expert's or an edge's numbers.
void draw_layer_graph(AppState& state, ImVec2 size);
// τ slider and component chooser for the current layer (shared by layer panel and embed view).
void draw_layer_controls(AppState& state);

// Dark theme and sizes used by both hosts (call once after ImGui::CreateContext).
void apply_style();

}  // namespace hc::ui
