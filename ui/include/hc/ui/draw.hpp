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

// The complex of the current layer as a graph filling `size` (shared by the layer panel and the
// embed view); hover shows an expert's or an edge's numbers.
void draw_layer_graph(AppState& state, ImVec2 size);
// τ slider and component chooser for the current layer (shared by layer panel and embed view).
void draw_layer_controls(AppState& state);

// Dark theme and sizes used by both hosts (call once after ImGui::CreateContext).
void apply_style();

}  // namespace hc::ui
