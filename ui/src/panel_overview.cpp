// Model overview: a layers x experts heatmap of a per-expert statistic, and per layer the Betti
// numbers and the gradient/curl/harmonic energy fractions (stacked bars and a table).
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "hc/ui/draw.hpp"
#include "hc/ui/plot.hpp"

namespace hc::ui {
namespace {

const ImU32 kGradientColor = IM_COL32(86, 156, 214, 255);
const ImU32 kCurlColor = IM_COL32(220, 160, 60, 255);
const ImU32 kHarmonicColor = IM_COL32(214, 80, 110, 255);

void heatmap(AppState& s) {
  const StatsFile& f = *s.stats;
  const int n = static_cast<int>(f.layers.size());
  int max_e = 1;
  for (const auto& l : f.layers) max_e = std::max(max_e, l.experts);

  int stat = static_cast<int>(s.heat_stat);
  ImGui::SetNextItemWidth(140);
  if (ImGui::Combo("statistic", &stat, "frequency\0REAP\0EAN\0gate mass\0")) {
    s.heat_stat = static_cast<ExpertStat>(stat);
  }
  ImGui::SameLine();
  ImGui::Checkbox("normalise per layer", &s.heat_per_layer);

  double lo = 0, hi = 0;
  bool first = true;
  for (const auto& l : f.layers) {
    for (float v : expert_stat_values(l, s.heat_stat)) {
      lo = first ? v : std::min<double>(lo, v);
      hi = first ? v : std::max<double>(hi, v);
      first = false;
    }
  }
  if (hi <= lo) hi = lo + 1e-12;

  const float bar_w = 70.0f;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float height = std::clamp(avail.y * 0.55f, 120.0f, 420.0f);
  const ImVec2 top_left = ImGui::GetCursorScreenPos();
  // Cells are centred on integer coordinates so the ticks label rows and columns.
  const plot::Frame fr = plot::axes("heatmap", ImVec2(avail.x - bar_w, height), -0.5, max_e - 0.5,
                                    -0.5, n - 0.5, "expert", "layer (row)", 8, 6, true, true);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float cw = (fr.max.x - fr.min.x) / max_e, ch = (fr.max.y - fr.min.y) / n;
  for (int r = 0; r < n; ++r) {
    const auto& values = expert_stat_values(f.layers[r], s.heat_stat);
    double rlo = lo, rhi = hi;
    if (s.heat_per_layer && !values.empty()) {
      auto [a, b] = std::minmax_element(values.begin(), values.end());
      rlo = *a, rhi = std::max<double>(*b, *a + 1e-12);
    }
    const float y1 = fr.max.y - ch * r, y0 = y1 - ch;
    for (std::size_t e = 0; e < values.size(); ++e) {
      const float t = static_cast<float>((values[e] - rlo) / (rhi - rlo));
      const float x0 = fr.min.x + cw * e;
      dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x0 + cw + 0.5f, y1 + 0.5f), plot::sequential(t));
    }
    if (r == s.current) {
      dl->AddRect(ImVec2(fr.min.x - 2, y0), ImVec2(fr.max.x + 2, y1), IM_COL32(255, 255, 255, 200),
                  0, 0, 1.5f);
    }
  }
  plot::colorbar(dl, ImVec2(top_left.x + avail.x - bar_w + 8, top_left.y),
                 height - ImGui::GetTextLineHeight() * 2, false, s.heat_per_layer ? 0 : lo,
                 s.heat_per_layer ? 1 : hi, expert_stat_name(s.heat_stat));

  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered() && fr.contains(m)) {
    const int e = static_cast<int>((m.x - fr.min.x) / cw);
    const int r = static_cast<int>((fr.max.y - m.y) / ch);
    if (r >= 0 && r < n && e >= 0 && e < f.layers[r].experts) {
      const LayerStats& l = f.layers[r];
      ImGui::BeginTooltip();
      ImGui::Text("layer %d, expert %d", l.layer, e);
      ImGui::Text("frequency %.4g  gate mass %.4g", l.frequency[e], l.gate_mass[e]);
      ImGui::Text("REAP %.4g  EAN %.4g", l.reap[e], l.ean[e]);
      ImGui::TextDisabled("click to open the layer");
      ImGui::EndTooltip();
      if (ImGui::IsMouseClicked(0)) s.current = r;
    }
  }
}

void energy_bars(AppState& s) {
  const int n = static_cast<int>(s.stats->layers.size());
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float height = std::clamp(avail.y * 0.5f, 100.0f, 260.0f);
  const plot::Frame fr = plot::axes("energy", ImVec2(avail.x, height), -0.5, n - 0.5, 0, 1,
                                    "layer (row)", "energy fraction", 8, 4, true, false);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float bw = (fr.max.x - fr.min.x) / n;
  for (int i = 0; i < n; ++i) {
    if (!s.analysed[i] || !s.layer_error[i].empty()) continue;
    const HodgeEnergy& e = s.analyses[i].hodge.energy;
    const double parts[3] = {e.fraction(e.gradient), e.fraction(e.curl), e.fraction(e.harmonic)};
    const ImU32 colors[3] = {kGradientColor, kCurlColor, kHarmonicColor};
    double acc = 0;
    for (int k = 0; k < 3; ++k) {
      const ImVec2 a = fr.map(i - 0.4, acc), b = fr.map(i + 0.4, acc + parts[k]);
      dl->AddRectFilled(ImVec2(a.x, b.y), ImVec2(std::max(b.x, a.x + 1), a.y), colors[k]);
      acc += parts[k];
    }
  }
  plot::legend(dl, ImVec2(fr.max.x - 110, fr.min.y + 4),
               {{kGradientColor, "gradient"}, {kCurlColor, "curl"}, {kHarmonicColor, "harmonic"}});
  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered() && fr.contains(m)) {
    const int i = static_cast<int>((m.x - fr.min.x) / bw);
    if (i >= 0 && i < n && s.analysed[i] && s.layer_error[i].empty()) {
      const auto& a = s.analyses[i];
      const HodgeEnergy& e = a.hodge.energy;
      ImGui::SetTooltip("layer %d: gradient %.1f%%, curl %.1f%%, harmonic %.1f%%\nbetti %d %d %d",
                        a.layer, 100 * e.fraction(e.gradient), 100 * e.fraction(e.curl),
                        100 * e.fraction(e.harmonic), a.hodge.betti[0], a.hodge.betti[1],
                        a.hodge.betti[2]);
      if (ImGui::IsMouseClicked(0)) s.current = i;
    }
  }
}

void layer_table(AppState& s) {
  const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingFixedFit;
  if (!ImGui::BeginTable("layers", 10, flags, ImVec2(0, 0))) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* h :
       {"layer", "experts", "tau", "edges", "filled", "b0", "b1", "b2", "curl %", "harmonic %"}) {
    ImGui::TableSetupColumn(h);
  }
  ImGui::TableHeadersRow();
  for (int i = 0; i < static_cast<int>(s.stats->layers.size()); ++i) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    char label[32];
    std::snprintf(label, sizeof label, "%d", s.stats->layers[i].layer);
    if (ImGui::Selectable(label, s.current == i, ImGuiSelectableFlags_SpanAllColumns))
      s.current = i;
    ImGui::TableNextColumn();
    ImGui::Text("%d", s.stats->layers[i].experts);
    ImGui::TableNextColumn();
    if (!s.analysed[i]) {
      ImGui::TextDisabled("pending");
      continue;
    }
    if (!s.layer_error[i].empty()) {
      ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "failed");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.layer_error[i].c_str());
      continue;
    }
    const LayerAnalysis& a = s.analyses[i];
    const HodgeEnergy& e = a.hodge.energy;
    ImGui::Text("%.4g", a.complex.tau);
    ImGui::TableNextColumn();
    ImGui::Text("%d", a.complex.edge_count());
    ImGui::TableNextColumn();
    ImGui::Text("%d", a.complex.triangle_count());
    for (int b = 0; b < 3; ++b) {
      ImGui::TableNextColumn();
      ImGui::Text("%d", a.hodge.betti[b]);
    }
    ImGui::TableNextColumn();
    ImGui::Text("%.1f", 100 * e.fraction(e.curl));
    ImGui::TableNextColumn();
    ImGui::Text("%.1f", 100 * e.fraction(e.harmonic));
  }
  ImGui::EndTable();
}

}  // namespace

void draw_overview_panel(AppState& s) {
  ImGui::Begin("Model overview");
  const bool loaded = s.load_state == LoadState::Loaded;
  if (!loaded && !s.report) {
    ImGui::TextDisabled("Load a statistics file to see its layers.");
    ImGui::End();
    return;
  }
  if (ImGui::BeginTabBar("overview_tabs")) {
    const auto flags = [&](int tab) {
      return s.overview_tab_request == tab ? ImGuiTabItemFlags_SetSelected : ImGuiTabItemFlags_None;
    };
    if (loaded && ImGui::BeginTabItem("Experts", nullptr, flags(0))) {
      heatmap(s);
      ImGui::EndTabItem();
    }
    if (loaded && ImGui::BeginTabItem("Hodge energy and Betti numbers", nullptr, flags(1))) {
      energy_bars(s);
      layer_table(s);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Comparison report", nullptr, flags(2))) {
      draw_report_tab(s);
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
    s.overview_tab_request = -1;
  }
  ImGui::End();
}

}  // namespace hc::ui
