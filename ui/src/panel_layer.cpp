// Layer view: the current layer's complex drawn on a circle (edges coloured by the chosen
// component, filled triangles shaded, holes outlined, kept/dropped experts after a selection),
// hover details and a τ slider that rebuilds and re-decomposes the layer live.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "hc/ui/draw.hpp"
#include "hc/ui/plot.hpp"

namespace hc::ui {
namespace {

constexpr float kPi = 3.14159265358979f;
// ImGui's default 16-bit indices cap one draw list at 65536 vertices; stay well below it.
constexpr int kVertexBudget = sizeof(ImDrawIdx) == 2 ? 60000 : 4000000;

float segment_distance(ImVec2 p, ImVec2 a, ImVec2 b) {
  const float dx = b.x - a.x, dy = b.y - a.y;
  const float len2 = dx * dx + dy * dy;
  float t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
  t = std::clamp(t, 0.0f, 1.0f);
  const float qx = a.x + t * dx - p.x, qy = a.y + t * dy - p.y;
  return std::sqrt(qx * qx + qy * qy);
}

}  // namespace

double edge_component_value(const LayerAnalysis& a, EdgeComponent c, int e) {
  switch (c) {
    case EdgeComponent::Barrier:
      return a.complex.signal[e];
    case EdgeComponent::Gradient:
      return a.hodge.gradient[e];
    case EdgeComponent::Curl:
      return a.hodge.curl[e];
    case EdgeComponent::Harmonic:
      return a.hodge.harmonic[e];
    case EdgeComponent::HarmonicAveraged:
      return a.expected && e < a.expected->harmonic.size() ? std::sqrt(a.expected->harmonic[e])
                                                           : 0.0;
  }
  return 0;
}

bool current_layer_ready(AppState& s) {
  const int i = s.current;
  if (!s.analysed[i]) {
    ImGui::TextDisabled("decomposing...");
    return false;
  }
  if (!s.layer_error[i].empty()) {
    ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", s.layer_error[i].c_str());
    return false;
  }
  // The orientation-averaged view is computed the first time it is shown for a layer.
  if (s.edge_component == EdgeComponent::HarmonicAveraged) (void)ensure_expected(s.analyses[i]);
  return true;
}

void draw_layer_controls(AppState& s) {
  const int n = static_cast<int>(s.stats->layers.size());
  int layer = s.stats->layers[s.current].layer;
  ImGui::SetNextItemWidth(120);
  if (ImGui::InputInt("layer", &layer)) {
    // Step through the file's layer indices, which need not be contiguous.
    const int dir = layer > s.stats->layers[s.current].layer ? 1 : -1;
    const int idx = layer_index(s, layer);
    s.current = idx >= 0 ? idx : std::clamp(s.current + dir, 0, n - 1);
  }
  ImGui::SameLine();
  int comp = static_cast<int>(s.edge_component);
  ImGui::SetNextItemWidth(120);
  if (ImGui::Combo("edges", &comp,
                   "barrier\0gradient\0curl\0harmonic\0harmonic, all orientations\0")) {
    s.edge_component = static_cast<EdgeComponent>(comp);
  }
  if (!s.analysed[s.current]) return;
  const LayerAnalysis& a = s.analyses[s.current];
  auto [lo, hi] = barrier_range(s, s.current);
  float tau = static_cast<float>(a.complex.tau);
  ImGui::SetNextItemWidth(std::max(120.0f, ImGui::GetContentRegionAvail().x - 230));
  if (ImGui::SliderFloat("tau", &tau, static_cast<float>(lo), static_cast<float>(hi), "%.5g")) {
    set_layer_tau(s, s.current, tau);
  }
  ImGui::SameLine();
  if (ImGui::Button("quantile tau") && s.layer_tau[s.current])
    set_layer_tau(s, s.current, std::nullopt);
  ImGui::SameLine();
  ImGui::TextDisabled("%.1f ms", s.timings.last_layer_ms);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("time of the latest rebuild + decomposition");
}

namespace {

// Where the layer graph sits: experts on a circle, colour bar on the right.
struct GraphGeometry {
  ImVec2 origin, size, center;
  float radius = 0, vertex_radius = 0;
  std::vector<ImVec2> pos;
};
constexpr float kBarWidth = 80.0f;

GraphGeometry graph_geometry(ImVec2 origin, ImVec2 size, int experts) {
  GraphGeometry g;
  g.origin = origin;
  g.size = size;
  g.center = ImVec2(origin.x + (size.x - kBarWidth) * 0.5f, origin.y + size.y * 0.5f);
  g.radius = std::max(20.0f, std::min(size.x - kBarWidth, size.y) * 0.5f - 28.0f);
  g.pos.resize(experts);
  for (int v = 0; v < experts; ++v) {
    const float t = 2 * kPi * v / std::max(1, experts) - kPi / 2;
    g.pos[v] = ImVec2(g.center.x + g.radius * std::cos(t), g.center.y + g.radius * std::sin(t));
  }
  g.vertex_radius = std::clamp(g.radius * 2.5f / std::max(1, experts), 2.5f, 7.0f);
  return g;
}

// The `budget` edges with the largest |value| (strongest first), and the largest |value|.
std::vector<int> strongest_edges(const LayerAnalysis& a, EdgeComponent component, int budget,
                                 double& vmax) {
  const int count = a.complex.edge_count();
  std::vector<int> order(count);
  std::iota(order.begin(), order.end(), 0);
  vmax = 0;
  for (int e = 0; e < count; ++e)
    vmax = std::max(vmax, std::fabs(edge_component_value(a, component, e)));
  if (vmax <= 0) vmax = 1;
  const int shown = std::min(count, budget);
  std::partial_sort(order.begin(), order.begin() + shown, order.end(), [&](int x, int y) {
    return std::fabs(edge_component_value(a, component, x)) >
           std::fabs(edge_component_value(a, component, y));
  });
  order.resize(shown);
  return order;
}

void draw_triangles(ImDrawList* dl, const AppState& s, const Complex& cx, const GraphGeometry& g) {
  if (s.show_filled) {
    for (const auto& t : cx.filled) {
      if (dl->VtxBuffer.Size > kVertexBudget) break;
      dl->AddTriangleFilled(g.pos[t[0]], g.pos[t[1]], g.pos[t[2]], IM_COL32(120, 200, 140, 40));
    }
  }
  if (s.show_holes) {
    for (const auto& t : cx.holes) {
      if (dl->VtxBuffer.Size > kVertexBudget) break;
      dl->AddTriangle(g.pos[t[0]], g.pos[t[1]], g.pos[t[2]], IM_COL32(255, 170, 40, 150), 1.5f);
    }
  }
}

// Weakest first, so strong edges sit on top.
void draw_edges(ImDrawList* dl, const LayerAnalysis& a, EdgeComponent component, bool signed_map,
                const std::vector<int>& order, double vmax, const GraphGeometry& g) {
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (dl->VtxBuffer.Size > kVertexBudget) break;
    const int e = *it;
    const float t = static_cast<float>(edge_component_value(a, component, e) / vmax);
    const ImU32 c = signed_map ? plot::diverging(t, 0.35f + 0.65f * std::fabs(t))
                               : plot::sequential(t, 0.35f + 0.65f * t);
    dl->AddLine(g.pos[a.complex.edges[e][0]], g.pos[a.complex.edges[e][1]], c,
                1.0f + 1.5f * std::fabs(t));
  }
}

void draw_vertices(ImDrawList* dl, bool plan, const std::vector<char>& kept,
                   const GraphGeometry& g) {
  const int E = static_cast<int>(g.pos.size());
  for (int v = 0; v < E; ++v) {
    const ImU32 fill = !plan     ? IM_COL32(230, 230, 235, 255)
                       : kept[v] ? IM_COL32(80, 220, 120, 255)
                                 : IM_COL32(90, 90, 100, 255);
    dl->AddCircleFilled(g.pos[v], g.vertex_radius, fill);
    if (plan && !kept[v]) dl->AddCircle(g.pos[v], g.vertex_radius, IM_COL32(200, 80, 80, 255));
  }
  if (E > 48) return;
  for (int v = 0; v < E; ++v) {
    char label[8];
    std::snprintf(label, sizeof label, "%d", v);
    const float t = 2 * kPi * v / E - kPi / 2;
    const ImVec2 p(g.center.x + (g.radius + 12) * std::cos(t) - 6,
                   g.center.y + (g.radius + 12) * std::sin(t) - 7);
    dl->AddText(p, ImGui::GetColorU32(ImGuiCol_Text, 0.8f), label);
  }
}

// Colour bar, legend and the one-line summary at the bottom.
void draw_graph_annotations(ImDrawList* dl, const AppState& s, const LayerAnalysis& a, int layer,
                            bool signed_map, double vmax, int shown, bool has_plan,
                            const GraphGeometry& g) {
  const Complex& cx = a.complex;
  plot::colorbar(dl, ImVec2(g.origin.x + g.size.x - kBarWidth + 6, g.origin.y + 4), g.size.y * 0.6f,
                 signed_map, signed_map ? -vmax : 0, vmax, edge_component_name(s.edge_component));
  std::vector<plot::LegendEntry> legend = {{IM_COL32(120, 200, 140, 160), "filled triangle"},
                                           {IM_COL32(255, 170, 40, 255), "hole"}};
  if (has_plan) {
    legend.push_back({IM_COL32(80, 220, 120, 255), "kept expert"});
    legend.push_back({IM_COL32(90, 90, 100, 255), "dropped expert"});
  }
  plot::legend(dl, ImVec2(g.origin.x + 4, g.origin.y + 4), legend);
  char info[224];
  const int n = std::snprintf(
      info, sizeof info,
      "layer %d: %d experts, %d edges (%d drawn), %d filled, %zu holes, betti %d %d %d", layer,
      cx.vertex_count, cx.edge_count(), shown, cx.triangle_count(), cx.holes.size(),
      a.hodge.betti[0], a.hodge.betti[1], a.hodge.betti[2]);
  if (a.flow_gradient_share && n > 0 && static_cast<std::size_t>(n) < sizeof info)
    std::snprintf(info + n, sizeof info - static_cast<std::size_t>(n),
                  ", substitution flow %.0f%% gradient", 100 * *a.flow_gradient_share);
  const float line = ImGui::GetTextLineHeight();
  dl->AddText(ImVec2(g.origin.x + 4, g.origin.y + g.size.y - line - 2),
              ImGui::GetColorU32(ImGuiCol_Text), info);
}

// The tooltip of the expert or edge under the mouse, if any.
void graph_tooltip(const LayerAnalysis& a, const LayerStats& stats, bool plan,
                   const LayerPlan* live, const std::vector<char>& kept,
                   const std::vector<int>& order, const GraphGeometry& g) {
  const Complex& cx = a.complex;
  const HodgeDecomposition& h = a.hodge;
  const ImVec2 m = ImGui::GetIO().MousePos;
  int best_v = -1;
  float best_d = g.vertex_radius + 3;
  for (int v = 0; v < static_cast<int>(g.pos.size()); ++v) {
    const float d = std::hypot(m.x - g.pos[v].x, m.y - g.pos[v].y);
    if (d < best_d) best_d = d, best_v = v;
  }
  if (best_v >= 0) {
    ImGui::BeginTooltip();
    ImGui::Text("expert %d%s", best_v, plan ? (kept[best_v] ? " (kept)" : " (dropped)") : "");
    ImGui::Text("frequency %.4g, gate mass %.4g", stats.frequency[best_v], stats.gate_mass[best_v]);
    ImGui::Text("REAP %.4g, EAN %.4g", stats.reap[best_v], stats.ean[best_v]);
    if (best_v < h.potential.size()) ImGui::Text("potential s %.4g", h.potential[best_v]);
    if (live && !kept[best_v]) {
      auto it = live->merge_into.find(best_v);
      if (it != live->merge_into.end()) ImGui::Text("nearest survivor %d", it->second);
    }
    ImGui::EndTooltip();
    return;
  }
  int best_e = -1;
  best_d = 4.0f;
  for (int e : order) {
    const float d = segment_distance(m, g.pos[cx.edges[e][0]], g.pos[cx.edges[e][1]]);
    if (d < best_d) best_d = d, best_e = e;
  }
  if (best_e < 0) return;
  ImGui::BeginTooltip();
  ImGui::Text("edge %d -> %d", cx.edges[best_e][0], cx.edges[best_e][1]);
  ImGui::Text("barrier %.5g", cx.signal[best_e]);
  ImGui::Text("gradient %.5g  curl %.5g  harmonic %.5g", h.gradient[best_e], h.curl[best_e],
              h.harmonic[best_e]);
  if (a.expected && best_e < a.expected->harmonic.size())
    ImGui::Text("harmonic energy over all orientations %.5g", a.expected->harmonic[best_e]);
  ImGui::EndTooltip();
}

}  // namespace

void draw_layer_graph(AppState& s, ImVec2 size) {
  if (!current_layer_ready(s)) return;
  const int i = s.current;
  const LayerAnalysis& a = s.analyses[i];
  const LayerStats& stats = s.stats->layers[i];
  size.x = std::max(size.x, 120.0f);
  size.y = std::max(size.y, 120.0f);

  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("graph", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(origin, ImVec2(origin.x + size.x, origin.y + size.y), true);
  const GraphGeometry g = graph_geometry(origin, size, a.complex.vertex_count);
  const bool signed_map = s.edge_component != EdgeComponent::Barrier &&
                          s.edge_component != EdgeComponent::HarmonicAveraged;
  double vmax = 1;
  const std::vector<int> order = strongest_edges(a, s.edge_component, s.max_edges_drawn, vmax);
  // Kept experts: report plan A when one is chosen, else the live selection.
  KeepMarks marks = kept_marks(s);
  const bool marked = !marks.kept.empty();
  std::vector<char>& kept = marks.kept;
  kept.resize(a.complex.vertex_count, marked ? 0 : 1);
  draw_triangles(dl, s, a.complex, g);
  draw_edges(dl, a, s.edge_component, signed_map, order, vmax, g);
  draw_vertices(dl, marked, kept, g);
  draw_graph_annotations(dl, s, a, stats.layer, signed_map, vmax, static_cast<int>(order.size()),
                         marked, g);
  dl->PopClipRect();
  if (hovered) graph_tooltip(a, stats, marked, marks.live, kept, order, g);
}

void draw_layer_panel(AppState& s) {
  ImGui::Begin("Layer");
  if (s.load_state != LoadState::Loaded) {
    ImGui::TextDisabled("Load a statistics file to see a layer's complex.");
    ImGui::End();
    return;
  }
  draw_layer_controls(s);
  ImGui::Checkbox("filled triangles", &s.show_filled);
  ImGui::SameLine();
  ImGui::Checkbox("holes", &s.show_holes);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(160);
  ImGui::SliderInt("edges drawn (strongest)", &s.max_edges_drawn, 100, 8000);
  if (s.analysed[s.current] && s.layer_error[s.current].empty()) {
    const HodgeEnergy& e = s.analyses[s.current].hodge.energy;
    ImGui::Text("energy: gradient %.1f%%  curl %.1f%%  harmonic %.1f%%",
                100 * e.fraction(e.gradient), 100 * e.fraction(e.curl),
                100 * e.fraction(e.harmonic));
  }
  if (ImGui::BeginTabBar("layer_tabs")) {
    const auto flags = [&](int tab) {
      return s.layer_tab_request == tab ? ImGuiTabItemFlags_SetSelected : ImGuiTabItemFlags_None;
    };
    if (ImGui::BeginTabItem("Complex", nullptr, flags(0))) {
      int view = static_cast<int>(s.layer_view);
      ImGui::RadioButton("graph", &view, static_cast<int>(LayerView::Graph));
      ImGui::SameLine();
      ImGui::RadioButton("matrix (clustered)", &view, static_cast<int>(LayerView::Matrix));
      s.layer_view = static_cast<LayerView>(view);
      if (s.layer_view == LayerView::Matrix) {
        ImGui::SameLine();
        ImGui::Checkbox("barrier below the diagonal", &s.matrix_lower_barrier);
        draw_layer_matrix(s, ImGui::GetContentRegionAvail());
      } else {
        draw_layer_graph(s, ImGui::GetContentRegionAvail());
      }
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Keep sets (report)", nullptr, flags(1))) {
      draw_keep_sets(s);
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
    s.layer_tab_request = -1;
  }
  ImGui::End();
}

}  // namespace hc::ui
