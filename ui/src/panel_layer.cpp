// Layer view: the current layer's complex drawn on a circle (edges coloured by the chosen
// component, filled triangles shaded, holes outlined, kept/dropped experts after a selection),
// hover details and a τ slider that rebuilds and re-decomposes the layer live.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hc/ui/draw.hpp"
#include "hc/ui/plot.hpp"

namespace hc::ui {
namespace {

constexpr float kPi = 3.14159265358979f;
// ImGui's default 16-bit indices cap one draw list at 65536 vertices; stay well below it.
constexpr int kVertexBudget = sizeof(ImDrawIdx) == 2 ? 60000 : 4000000;

double edge_value(const LayerAnalysis& a, EdgeComponent c, int e) {
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

float segment_distance(ImVec2 p, ImVec2 a, ImVec2 b) {
  const float dx = b.x - a.x, dy = b.y - a.y;
  const float len2 = dx * dx + dy * dy;
  float t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
  t = std::clamp(t, 0.0f, 1.0f);
  const float qx = a.x + t * dx - p.x, qy = a.y + t * dy - p.y;
  return std::sqrt(qx * qx + qy * qy);
}

const LayerPlan* current_plan(const AppState& s, int layer) {
  if (!s.outcome) return nullptr;
  auto it = s.outcome->plan.layers.find(layer);
  return it == s.outcome->plan.layers.end() ? nullptr : &it->second;
}

}  // namespace

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
  if (ImGui::Combo("edges", &comp, "barrier\0gradient\0curl\0harmonic\0harmonic, all orientations (selection)\0")) {
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

void draw_layer_graph(AppState& s, ImVec2 size) {
  const int i = s.current;
  if (!s.analysed[i]) {
    ImGui::TextDisabled("decomposing...");
    return;
  }
  if (!s.layer_error[i].empty()) {
    ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", s.layer_error[i].c_str());
    return;
  }
  // The orientation-averaged view is computed the first time it is shown for a layer.
  if (s.edge_component == EdgeComponent::HarmonicAveraged) (void)ensure_expected(s.analyses[i]);
  const LayerAnalysis& a = s.analyses[i];
  const LayerStats& stats = s.stats->layers[i];
  const Complex& cx = a.complex;
  const HodgeDecomposition& h = a.hodge;
  const int E = cx.vertex_count;
  size.x = std::max(size.x, 120.0f);
  size.y = std::max(size.y, 120.0f);

  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("graph", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(origin, ImVec2(origin.x + size.x, origin.y + size.y), true);
  const float bar_w = 80.0f;
  const ImVec2 center(origin.x + (size.x - bar_w) * 0.5f, origin.y + size.y * 0.5f);
  const float radius = std::max(20.0f, std::min(size.x - bar_w, size.y) * 0.5f - 28.0f);
  std::vector<ImVec2> pos(E);
  for (int v = 0; v < E; ++v) {
    const float t = 2 * kPi * v / std::max(1, E) - kPi / 2;
    pos[v] = ImVec2(center.x + radius * std::cos(t), center.y + radius * std::sin(t));
  }

  // Edges: the largest |value| first gets the budget, drawn weakest first so strong ones sit on
  // top.
  const bool signed_map = s.edge_component != EdgeComponent::Barrier &&
                          s.edge_component != EdgeComponent::HarmonicAveraged;
  std::vector<int> order(cx.edge_count());
  std::iota(order.begin(), order.end(), 0);
  double vmax = 0;
  for (int e = 0; e < cx.edge_count(); ++e)
    vmax = std::max(vmax, std::fabs(edge_value(a, s.edge_component, e)));
  if (vmax <= 0) vmax = 1;
  const int shown = std::min<int>(cx.edge_count(), s.max_edges_drawn);
  std::partial_sort(order.begin(), order.begin() + shown, order.end(), [&](int x, int y) {
    return std::fabs(edge_value(a, s.edge_component, x)) >
           std::fabs(edge_value(a, s.edge_component, y));
  });
  order.resize(shown);

  if (s.show_filled) {
    for (const auto& t : cx.filled) {
      if (dl->VtxBuffer.Size > kVertexBudget) break;
      dl->AddTriangleFilled(pos[t[0]], pos[t[1]], pos[t[2]], IM_COL32(120, 200, 140, 40));
    }
  }
  if (s.show_holes) {
    for (const auto& t : cx.holes) {
      if (dl->VtxBuffer.Size > kVertexBudget) break;
      dl->AddTriangle(pos[t[0]], pos[t[1]], pos[t[2]], IM_COL32(255, 170, 40, 150), 1.5f);
    }
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (dl->VtxBuffer.Size > kVertexBudget) break;
    const int e = *it;
    const double v = edge_value(a, s.edge_component, e);
    const float t = static_cast<float>(v / vmax);
    const ImU32 c = signed_map ? plot::diverging(t, 0.35f + 0.65f * std::fabs(t))
                               : plot::sequential(t, 0.35f + 0.65f * t);
    dl->AddLine(pos[cx.edges[e][0]], pos[cx.edges[e][1]], c, 1.0f + 1.5f * std::fabs(t));
  }

  const LayerPlan* plan = current_plan(s, stats.layer);
  std::vector<char> kept(E, plan ? 0 : 1);
  if (plan) {
    for (int k : plan->keep) kept[k] = 1;
  }
  const float vr = std::clamp(radius * 2.5f / std::max(1, E), 2.5f, 7.0f);
  for (int v = 0; v < E; ++v) {
    const ImU32 fill = !plan     ? IM_COL32(230, 230, 235, 255)
                       : kept[v] ? IM_COL32(80, 220, 120, 255)
                                 : IM_COL32(90, 90, 100, 255);
    dl->AddCircleFilled(pos[v], vr, fill);
    if (plan && !kept[v]) dl->AddCircle(pos[v], vr, IM_COL32(200, 80, 80, 255));
  }
  if (E <= 48) {
    for (int v = 0; v < E; ++v) {
      char label[8];
      std::snprintf(label, sizeof label, "%d", v);
      const float t = 2 * kPi * v / E - kPi / 2;
      const ImVec2 p(center.x + (radius + 12) * std::cos(t) - 6,
                     center.y + (radius + 12) * std::sin(t) - 7);
      dl->AddText(p, ImGui::GetColorU32(ImGuiCol_Text, 0.8f), label);
    }
  }
  const float line = ImGui::GetTextLineHeight();
  plot::colorbar(dl, ImVec2(origin.x + size.x - bar_w + 6, origin.y + 4), size.y * 0.6f, signed_map,
                 signed_map ? -vmax : 0, vmax, edge_component_name(s.edge_component));
  std::vector<plot::LegendEntry> legend = {{IM_COL32(120, 200, 140, 160), "filled triangle"},
                                           {IM_COL32(255, 170, 40, 255), "hole"}};
  if (plan) {
    legend.push_back({IM_COL32(80, 220, 120, 255), "kept expert"});
    legend.push_back({IM_COL32(90, 90, 100, 255), "dropped expert"});
  }
  plot::legend(dl, ImVec2(origin.x + 4, origin.y + 4), legend);
  char info[160];
  std::snprintf(info, sizeof info,
                "layer %d: %d experts, %d edges (%d drawn), %d filled, %zu holes, betti %d %d %d",
                stats.layer, E, cx.edge_count(), shown, cx.triangle_count(), cx.holes.size(),
                h.betti[0], h.betti[1], h.betti[2]);
  dl->AddText(ImVec2(origin.x + 4, origin.y + size.y - line - 2), ImGui::GetColorU32(ImGuiCol_Text),
              info);
  dl->PopClipRect();

  if (!hovered) return;
  const ImVec2 m = ImGui::GetIO().MousePos;
  int best_v = -1;
  float best_d = vr + 3;
  for (int v = 0; v < E; ++v) {
    const float d = std::hypot(m.x - pos[v].x, m.y - pos[v].y);
    if (d < best_d) best_d = d, best_v = v;
  }
  if (best_v >= 0) {
    ImGui::BeginTooltip();
    ImGui::Text("expert %d%s", best_v, plan ? (kept[best_v] ? " (kept)" : " (dropped)") : "");
    ImGui::Text("frequency %.4g, gate mass %.4g", stats.frequency[best_v], stats.gate_mass[best_v]);
    ImGui::Text("REAP %.4g, EAN %.4g", stats.reap[best_v], stats.ean[best_v]);
    if (best_v < h.potential.size()) ImGui::Text("potential s %.4g", h.potential[best_v]);
    if (plan && !kept[best_v]) {
      auto it = plan->merge_into.find(best_v);
      if (it != plan->merge_into.end()) ImGui::Text("nearest survivor %d", it->second);
    }
    ImGui::EndTooltip();
    return;
  }
  int best_e = -1;
  best_d = 4.0f;
  for (int e : order) {
    const float d = segment_distance(m, pos[cx.edges[e][0]], pos[cx.edges[e][1]]);
    if (d < best_d) best_d = d, best_e = e;
  }
  if (best_e >= 0) {
    ImGui::BeginTooltip();
    ImGui::Text("edge %d -> %d", cx.edges[best_e][0], cx.edges[best_e][1]);
    ImGui::Text("barrier %.5g", cx.signal[best_e]);
    ImGui::Text("gradient %.5g  curl %.5g  harmonic %.5g", h.gradient[best_e], h.curl[best_e],
                h.harmonic[best_e]);
    if (a.expected && best_e < a.expected->harmonic.size())
      ImGui::Text("harmonic energy over all orientations %.5g (selection ranks this)",
                  a.expected->harmonic[best_e]);
    ImGui::EndTooltip();
  }
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
  draw_layer_graph(s, ImGui::GetContentRegionAvail());
  ImGui::End();
}

}  // namespace hc::ui
