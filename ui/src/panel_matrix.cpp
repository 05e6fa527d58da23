// Layer matrix view: the pair-barrier matrix of the current layer as a heatmap, experts ordered
// by clustering their barriers, the chosen component above the diagonal (as the flow from the
// row's expert to the column's), the raw barrier below it, kept experts marked on both axes, and
// the filled triangles and holes listed beside it (hover one to outline its pairs).
#include <imgui.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "hc/ui/draw.hpp"
#include "hc/ui/plot.hpp"

namespace hc::ui {
namespace {

// ImGui's default 16-bit indices cap one draw list at 65536 vertices (4 per cell) unless the
// renderer takes vertex offsets (the OpenGL3 backend does), which lifts the cap.
int cell_budget() {
  const bool offsets = (ImGui::GetIO().BackendFlags & ImGuiBackendFlags_RendererHasVtxOffset) != 0;
  return sizeof(ImDrawIdx) == 2 && !offsets ? 14000 : 1000000;
}
constexpr float kListWidth = 230.0f;

// The value of `component` on edge e read as the flow from u to v: the signed parts are stored
// along each edge's orientation, so they flip for the reverse direction; the others do not.
double flow(const LayerAnalysis& a, EdgeComponent c, int e, int u) {
  const double v = edge_component_value(a, c, e);
  const bool signed_part =
      c == EdgeComponent::Gradient || c == EdgeComponent::Curl || c == EdgeComponent::Harmonic;
  return signed_part && a.complex.edges[e][0] != u ? -v : v;
}

// Triangle lists beside the matrix; returns the triangle under the mouse, if any.
const std::array<int, 3>* triangle_lists(const Complex& cx, ImVec2 size) {
  const std::array<int, 3>* hovered = nullptr;
  ImGui::BeginChild("triangles", size, true);
  const auto list = [&](const char* title, const std::vector<std::array<int, 3>>& tris,
                        const std::vector<double>& barrier) {
    ImGui::Text("%s: %zu", title, tris.size());
    const int shown = std::min<int>(static_cast<int>(tris.size()), 400);
    for (int t = 0; t < shown; ++t) {
      std::array<int, 3> v = tris[t];  // stored in orientation rank order; listed ascending
      std::sort(v.begin(), v.end());
      char line[96];
      std::snprintf(line, sizeof line, "(%d, %d, %d)  %.4g##%s%d", v[0], v[1], v[2],
                    t < static_cast<int>(barrier.size()) ? barrier[t] : 0.0, title, t);
      ImGui::Selectable(line, false);
      if (ImGui::IsItemHovered()) hovered = &tris[t];
    }
    if (shown < static_cast<int>(tris.size()))
      ImGui::TextDisabled("... %zu more", tris.size() - shown);
  };
  list("filled triangles", cx.filled, cx.filled_barrier);
  ImGui::Separator();
  list("holes", cx.holes, cx.hole_barrier);
  ImGui::EndChild();
  return hovered;
}

}  // namespace

void draw_layer_matrix(AppState& s, ImVec2 size) {
  if (!current_layer_ready(s)) return;
  const int i = s.current;
  const std::vector<int>& order = matrix_order(s, i);
  const LayerAnalysis& a = s.analyses[i];
  const Complex& cx = a.complex;
  const int n = cx.vertex_count;
  if (static_cast<int>(order.size()) != n || n == 0) return;
  std::vector<int> position(n);
  for (int p = 0; p < n; ++p) position[order[p]] = p;
  std::vector<int> edge_at(static_cast<std::size_t>(n) * n, -1);
  for (int e = 0; e < cx.edge_count(); ++e) {
    const int u = cx.edges[e][0], v = cx.edges[e][1];
    edge_at[static_cast<std::size_t>(u) * n + v] = edge_at[static_cast<std::size_t>(v) * n + u] = e;
  }
  const bool signed_map = s.edge_component != EdgeComponent::Barrier &&
                          s.edge_component != EdgeComponent::HarmonicAveraged;
  double vmax = 0, bmax = 0;
  for (int e = 0; e < cx.edge_count(); ++e) {
    vmax = std::max(vmax, std::fabs(flow(a, s.edge_component, e, cx.edges[e][0])));
    bmax = std::max(bmax, std::fabs(cx.signal[e]));
  }
  vmax = vmax > 0 ? vmax : 1;
  bmax = bmax > 0 ? bmax : 1;
  const bool lower_barrier = s.matrix_lower_barrier;
  const bool full = static_cast<long>(n) * n <= cell_budget();

  const float side = std::max(
      120.0f, std::min(size.x - kListWidth - 90.0f, size.y - ImGui::GetTextLineHeight() * 2));
  const float axis = 8.0f;  // kept / dropped strip along each axis
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("matrix", ImVec2(side + axis + 2, side + axis + 2));
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 m0(origin.x + axis + 2, origin.y + axis + 2);
  const float cell = side / static_cast<float>(n);
  const auto corner = [&](int row, int col) {
    return ImVec2(m0.x + col * cell, m0.y + row * cell);
  };
  dl->AddRectFilled(m0, ImVec2(m0.x + side, m0.y + side), IM_COL32(30, 30, 36, 255));
  for (int r = 0; r < n; ++r) {
    for (int c = full ? 0 : r + 1; c < n; ++c) {
      if (r == c) continue;
      const int u = order[r], v = order[c];
      const int e = edge_at[static_cast<std::size_t>(u) * n + v];
      if (e < 0) continue;
      ImU32 color;
      if (c < r && lower_barrier) {
        color = plot::sequential(static_cast<float>(cx.signal[e] / bmax));
      } else {
        const double value = flow(a, s.edge_component, e, u);
        color = signed_map ? plot::diverging(static_cast<float>(value / vmax))
                           : plot::sequential(static_cast<float>(value / vmax));
      }
      const ImVec2 p = corner(r, c);
      dl->AddRectFilled(p, ImVec2(p.x + cell + 0.3f, p.y + cell + 0.3f), color);
    }
  }
  // Kept experts along both axes.
  const KeepMarks marks = kept_marks(s);
  const std::vector<char>& kept = marks.kept;
  const char* mark_source = marks.source;
  if (!kept.empty()) {
    for (int p = 0; p < n; ++p) {
      const ImU32 c = kept[order[p]] ? IM_COL32(80, 220, 120, 255) : IM_COL32(90, 90, 100, 255);
      dl->AddRectFilled(ImVec2(origin.x, m0.y + p * cell),
                        ImVec2(origin.x + axis, m0.y + (p + 1) * cell), c);
      dl->AddRectFilled(ImVec2(m0.x + p * cell, origin.y),
                        ImVec2(m0.x + (p + 1) * cell, origin.y + axis), c);
    }
  }
  plot::colorbar(dl, ImVec2(m0.x + side + 10, m0.y), side * 0.45f, signed_map,
                 signed_map ? -vmax : 0, vmax, edge_component_name(s.edge_component));
  if (lower_barrier && s.edge_component != EdgeComponent::Barrier)
    plot::colorbar(dl, ImVec2(m0.x + side + 10, m0.y + side * 0.5f), side * 0.45f, false, 0, bmax,
                   "barrier");

  ImGui::SameLine(0, 80);
  const std::array<int, 3>* tri = triangle_lists(cx, ImVec2(kListWidth, side + axis));
  if (tri) {
    for (int x = 0; x < 3; ++x)
      for (int y = 0; y < 3; ++y) {
        if (x == y) continue;
        const ImVec2 p = corner(position[(*tri)[x]], position[(*tri)[y]]);
        dl->AddRect(ImVec2(p.x - 1, p.y - 1), ImVec2(p.x + cell + 1, p.y + cell + 1),
                    IM_COL32(255, 170, 40, 255), 0, 0, 2.0f);
      }
  }
  ImGui::TextDisabled("%d experts in clustered order; above the diagonal: %s (row -> column)%s%s",
                      n, edge_component_name(s.edge_component),
                      lower_barrier ? "; below: barrier" : "",
                      mark_source ? (std::string("; axes: kept by ") + mark_source).c_str() : "");
  if (!hovered) return;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const int r = static_cast<int>((mouse.y - m0.y) / cell),
            c = static_cast<int>((mouse.x - m0.x) / cell);
  if (r < 0 || c < 0 || r >= n || c >= n) return;
  const int u = order[r], v = order[c];
  ImGui::BeginTooltip();
  if (u == v) {
    ImGui::Text("expert %d", u);
  } else {
    const int e = edge_at[static_cast<std::size_t>(u) * n + v];
    ImGui::Text("experts %d -> %d%s", u, v,
                kept.empty()         ? ""
                : kept[u] && kept[v] ? " (both kept)"
                : kept[u] || kept[v] ? " (one kept)"
                                     : " (both dropped)");
    if (e < 0) {
      ImGui::TextDisabled("no edge between them");
    } else {
      ImGui::Text("barrier %.5g", cx.signal[e]);
      ImGui::Text("gradient %.5g  curl %.5g  harmonic %.5g", flow(a, EdgeComponent::Gradient, e, u),
                  flow(a, EdgeComponent::Curl, e, u), flow(a, EdgeComponent::Harmonic, e, u));
    }
  }
  ImGui::EndTooltip();
}

}  // namespace hc::ui
