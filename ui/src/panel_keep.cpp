// Keep sets from the comparison report: for the current layer, which experts every method kept
// at one removal ratio; and two chosen plans (A, B) side by side over every layer, with the
// experts they disagree on outlined and their overlap per layer.
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "hc/ui/draw.hpp"
#include "hc/ui/plot.hpp"

namespace hc::ui {
namespace {

constexpr ImU32 kKept = IM_COL32(80, 220, 120, 255);
constexpr ImU32 kDropped = IM_COL32(60, 60, 70, 255);
constexpr ImU32 kDiffers = IM_COL32(255, 170, 40, 255);

std::vector<char> flags_of(const std::vector<int>* kept, int experts) {
  std::vector<char> f(experts, 0);
  if (kept)
    for (int e : *kept)
      if (e >= 0 && e < experts) f[e] = 1;
  return f;
}

// One strip of `experts` cells; `other` (may be empty) outlines the cells that differ.
void strip(ImDrawList* dl, ImVec2 at, float cell, float height, const std::vector<char>& kept,
           const std::vector<char>& other) {
  for (std::size_t e = 0; e < kept.size(); ++e) {
    const ImVec2 p(at.x + e * cell, at.y);
    dl->AddRectFilled(p, ImVec2(p.x + std::max(1.0f, cell - 1), p.y + height),
                      kept[e] ? kKept : kDropped);
    if (!other.empty() && other[e] != kept[e])
      dl->AddRect(p, ImVec2(p.x + std::max(1.0f, cell - 1), p.y + height), kDiffers);
  }
}

// Every method's keep set in the current layer at the chosen ratio (rows without Wanda: Wanda
// does not change which experts are kept).
void methods_at_ratio(AppState& s, int experts, int layer) {
  const Report& r = *s.report;
  const double ratio = keep_view_ratio(s);
  ImGui::SetNextItemWidth(160);
  char current[32];
  std::snprintf(current, sizeof current, "%.0f%% removed", 100 * ratio);
  if (ImGui::BeginCombo("ratio", current)) {
    for (std::size_t k = 0; k < r.ratios.size(); ++k) {
      if (r.ratios[k] <= 0) continue;
      char label[32];
      std::snprintf(label, sizeof label, "%.0f%% removed", 100 * r.ratios[k]);
      if (ImGui::Selectable(label, r.ratios[k] == ratio)) s.keep_ratio = static_cast<int>(k);
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  ImGui::TextDisabled("click a method: A, right-click: B");
  const float name_w = 150, line = ImGui::GetTextLineHeight();
  const float cell = std::clamp(
      (ImGui::GetContentRegionAvail().x - name_w - 10) / std::max(1, experts), 1.0f, 14.0f);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const ReportRow& row = r.rows[i];
    if (row.ratio != ratio || row.wanda > 0) continue;
    const std::vector<int>* kept = report_kept(s, static_cast<int>(i), layer);
    ImGui::PushID(static_cast<int>(i));
    const int idx = static_cast<int>(i);
    char name[80];
    std::snprintf(name, sizeof name, "%s%s",
                  idx == s.keep_a   ? "A "
                  : idx == s.keep_b ? "B "
                                    : "",
                  row.variant.c_str());
    if (ImGui::Selectable(name, idx == s.keep_a || idx == s.keep_b, 0, ImVec2(name_w, line)))
      s.keep_a = idx;
    if (ImGui::IsItemClicked(ImGuiMouseButton_Right)) s.keep_b = idx;
    ImGui::SameLine(name_w + 10);
    if (!kept) {
      ImGui::TextDisabled(row.error.empty() ? "keep set not recorded" : "not run");
    } else {
      const ImVec2 at = ImGui::GetCursorScreenPos();
      ImGui::Dummy(ImVec2(cell * experts, line));
      strip(dl, at, cell, line - 2, flags_of(kept, experts), {});
      if (ImGui::IsItemHovered()) {
        const int e = static_cast<int>((ImGui::GetIO().MousePos.x - at.x) / cell);
        if (e >= 0 && e < experts)
          ImGui::SetTooltip(
              "%s: expert %d %s", row.variant.c_str(), e,
              std::find(kept->begin(), kept->end(), e) != kept->end() ? "kept" : "dropped");
      }
    }
    ImGui::PopID();
  }
}

// Plans A and B over every layer: two layers x experts grids side by side.
void side_by_side(AppState& s) {
  const Report& r = *s.report;
  if (s.keep_a < 0 || s.keep_b < 0 || s.keep_a >= static_cast<int>(r.rows.size()) ||
      s.keep_b >= static_cast<int>(r.rows.size())) {
    ImGui::TextDisabled("Choose two plans (A: click, B: right-click) to compare them per layer.");
    return;
  }
  const ReportRow &ra = r.rows[s.keep_a], &rb = r.rows[s.keep_b];
  ImGui::Text("A: %s   B: %s", row_label(ra).c_str(), row_label(rb).c_str());
  ImGui::TextDisabled("outlined: kept by one plan only; right: experts both keep / kept by either");
  const StatsFile& stats = *s.stats;
  int experts = 0;
  for (const auto& l : stats.layers) experts = std::max(experts, l.experts);
  const int layers = static_cast<int>(stats.layers.size());
  const float gap = 16, label_w = 40, overlap_w = 70;
  const float avail = ImGui::GetContentRegionAvail().x - label_w - overlap_w - gap;
  const float cell = std::clamp(avail / (2.0f * std::max(1, experts)), 1.0f, 12.0f);
  const float row_h = std::clamp(ImGui::GetContentRegionAvail().y / std::max(1, layers + 2), 2.0f,
                                 ImGui::GetTextLineHeight());
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 at = ImGui::GetCursorScreenPos();
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  dl->AddText(ImVec2(at.x + label_w, at.y), text, "A");
  dl->AddText(ImVec2(at.x + label_w + experts * cell + gap, at.y), text, "B");
  const float top = at.y + ImGui::GetTextLineHeight() + 2;
  for (int l = 0; l < layers; ++l) {
    const LayerStats& layer = stats.layers[l];
    const float y = top + l * row_h;
    const std::vector<char> a = flags_of(report_kept(s, s.keep_a, layer.layer), layer.experts);
    const std::vector<char> b = flags_of(report_kept(s, s.keep_b, layer.layer), layer.experts);
    if (row_h >= ImGui::GetTextLineHeight() - 1 || l % 8 == 0) {
      char label[16];
      std::snprintf(label, sizeof label, "%d", layer.layer);
      dl->AddText(ImGui::GetFont(), std::min(ImGui::GetFontSize(), std::max(row_h, 8.0f)),
                  ImVec2(at.x, y), text, label);
    }
    strip(dl, ImVec2(at.x + label_w, y), cell, std::max(1.0f, row_h - 1), a, b);
    strip(dl, ImVec2(at.x + label_w + experts * cell + gap, y), cell, std::max(1.0f, row_h - 1), b,
          a);
    int both = 0, either = 0;
    for (int e = 0; e < layer.experts; ++e) both += a[e] && b[e], either += a[e] || b[e];
    if (row_h >= ImGui::GetTextLineHeight() - 1) {
      char overlap[24];
      std::snprintf(overlap, sizeof overlap, "%d/%d", both, either);
      dl->AddText(ImVec2(at.x + label_w + 2 * experts * cell + 2 * gap, y), text, overlap);
    }
  }
  ImGui::Dummy(ImVec2(label_w + 2 * experts * cell + gap + overlap_w,
                      ImGui::GetTextLineHeight() + 2 + layers * row_h));
}

}  // namespace

KeepMarks kept_marks(const AppState& s) {
  KeepMarks marks;
  if (!s.stats || s.current < 0 || s.current >= static_cast<int>(s.stats->layers.size()))
    return marks;
  const LayerStats& layer = s.stats->layers[s.current];
  if (s.report && s.keep_a >= 0) {
    if (const std::vector<int>* kept = report_kept(s, s.keep_a, layer.layer)) {
      marks.kept = flags_of(kept, layer.experts);
      marks.source = "report plan A";
      return marks;
    }
  }
  if (s.outcome) {
    auto it = s.outcome->plan.layers.find(layer.layer);
    if (it != s.outcome->plan.layers.end()) {
      marks.kept = flags_of(&it->second.keep, layer.experts);
      marks.source = "the live selection";
      marks.live = &it->second;
    }
  }
  return marks;
}

void draw_keep_sets(AppState& s) {
  if (!s.report) {
    ImGui::TextWrapped(
        "Open a comparison report (report.json) to see which experts each method kept.");
    return;
  }
  const LayerStats& layer = s.stats->layers[s.current];
  bool any_kept = false;
  for (const ReportRow& row : s.report->rows) any_kept = any_kept || !row.kept.empty();
  if (!any_kept) {
    ImGui::TextWrapped(
        "This report records no keep sets (written before report.json carried "
        "\"kept\"); rerun compare to see them.");
    return;
  }
  ImGui::Text("Layer %d: experts kept by each method", layer.layer);
  methods_at_ratio(s, layer.experts, layer.layer);
  ImGui::Separator();
  side_by_side(s);
}

}  // namespace hc::ui
