// Report tab: the comparison report's frontier (parameters kept against KL on a log scale, one
// colour per variant, hollow markers with Wanda, a ring on the lowest KL of each budget) with
// hover details, and one table per removal ratio.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hc/ui/draw.hpp"
#include "hc/ui/plot.hpp"

namespace hc::ui {
namespace {

// Plot series: one per variant, except that random selection's seeds share one.
std::string series_of(const std::string& variant) {
  return variant.rfind("random.s", 0) == 0 ? "random (seeds)" : variant;
}

std::vector<std::string> series_names(const Report& r) {
  std::vector<std::string> names;
  for (const std::string& v : r.variants)
    if (std::find(names.begin(), names.end(), series_of(v)) == names.end())
      names.push_back(series_of(v));
  return names;
}

int series_index(const std::vector<std::string>& names, const std::string& variant) {
  const auto it = std::find(names.begin(), names.end(), series_of(variant));
  return it == names.end() ? 0 : static_cast<int>(it - names.begin());
}

bool plotted(const ReportRow& row) {
  return row.ran() && row.kl > 0 && std::isfinite(row.params_kept);
}

void row_tooltip(const ReportRow& row) {
  ImGui::BeginTooltip();
  ImGui::Text("%s (%s, %s)", row.variant.c_str(), row.method.c_str(), row.mode.c_str());
  ImGui::Text("%.0f%% of experts removed (keep %d), Wanda %s", 100 * row.ratio, row.keep,
              row.wanda > 0
                  ? (std::to_string(static_cast<int>(std::lround(100 * row.wanda))) + "%").c_str()
                  : "none");
  if (!row.ran()) {
    ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "not run: %s", row.error.c_str());
  } else {
    ImGui::Text("perplexity %.4f", row.perplexity);
    if (std::isfinite(row.kl_low))
      ImGui::Text("KL %.5f  [%.5f, %.5f]", row.kl, row.kl_low, row.kl_high);
    else
      ImGui::Text("KL %.5f", row.kl);
    ImGui::Text("top-1 agreement %.1f%%", 100 * row.top1);
    ImGui::Text("parameters kept %.1f%%", 100 * row.params_kept);
  }
  if (row.frontier) ImGui::TextDisabled("on the frontier");
  ImGui::TextDisabled("click: compare as A, right-click: as B");
  ImGui::EndTooltip();
}

void frontier_plot(AppState& s, float height) {
  const Report& r = *s.report;
  double x0 = 1, x1 = 0, y0 = 1e300, y1 = -1e300;
  for (const ReportRow& row : r.rows) {
    if (!plotted(row)) continue;
    x0 = std::min(x0, row.params_kept), x1 = std::max(x1, row.params_kept);
    y0 = std::min(y0, std::log10(row.kl)), y1 = std::max(y1, std::log10(row.kl));
  }
  if (x0 > x1) {
    ImGui::TextDisabled("No row of this report has a KL above zero to plot.");
    return;
  }
  const double xpad = std::max(0.02, 0.06 * (x1 - x0));
  y0 = std::floor(y0 - 0.05), y1 = std::ceil(y1 + 0.05);
  const float legend_w = 170;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const plot::Frame f =
      plot::axes("frontier", ImVec2(std::max(200.0f, avail.x - legend_w), height), x0 - xpad,
                 std::min(1.0, x1 + xpad), y0, y1, "share of parameters kept",
                 "KL to the original (nats/token, log scale)", 6, 5, false, false, true);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(f.min, f.max, true);
  // The frontier as a staircase through its rows, fewest parameters first.
  std::vector<const ReportRow*> front;
  for (const ReportRow& row : r.rows)
    if (row.frontier && plotted(row)) front.push_back(&row);
  std::sort(front.begin(), front.end(),
            [](const ReportRow* a, const ReportRow* b) { return a->params_kept < b->params_kept; });
  for (std::size_t i = 1; i < front.size(); ++i)
    dl->AddLine(f.map(front[i - 1]->params_kept, std::log10(front[i - 1]->kl)),
                f.map(front[i]->params_kept, std::log10(front[i]->kl)),
                ImGui::GetColorU32(ImGuiCol_Text, 0.35f), 1.5f);
  const std::vector<std::string> series = series_names(r);
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  int nearest = -1;
  float nearest_d = 9.0f;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const ReportRow& row = r.rows[i];
    if (!plotted(row)) continue;
    const ImVec2 p = f.map(row.params_kept, std::log10(row.kl));
    const ImU32 c = plot::categorical(series_index(series, row.variant));
    if (row.wanda > 0)
      dl->AddCircle(p, 4.5f, c, 12, 2.0f);
    else
      dl->AddCircleFilled(p, 4.5f, c, 12);
    const int best = lowest_kl_row(r, row.ratio, row.wanda > 0);
    if (best == static_cast<int>(i)) dl->AddCircle(p, 8.5f, IM_COL32(255, 255, 255, 230), 16, 1.5f);
    if (static_cast<int>(i) == s.keep_a || static_cast<int>(i) == s.keep_b) {
      const bool a = static_cast<int>(i) == s.keep_a;  // A above-right, B below-right
      dl->AddText(ImVec2(p.x + 7, a ? p.y - 17 : p.y + 3), IM_COL32(255, 255, 255, 255),
                  a ? "A" : "B");
    }
    const float d = std::hypot(mouse.x - p.x, mouse.y - p.y);
    if (hovered && d < nearest_d) nearest_d = d, nearest = static_cast<int>(i);
  }
  dl->PopClipRect();
  s.report_hover = nearest;
  if (nearest >= 0) {
    row_tooltip(r.rows[nearest]);
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) s.keep_a = nearest;
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Right)) s.keep_b = nearest;
  }
  std::vector<plot::LegendEntry> legend;
  for (std::size_t v = 0; v < series.size(); ++v)
    legend.push_back({plot::categorical(static_cast<int>(v)), series[v]});
  legend.push_back({IM_COL32(200, 200, 200, 255), "filled: no Wanda"});
  legend.push_back({IM_COL32(200, 200, 200, 120), "hollow: Wanda"});
  legend.push_back({IM_COL32(255, 255, 255, 255), "white ring: best"});
  ImGui::SameLine();
  const ImVec2 at = ImGui::GetCursorScreenPos();
  plot::legend(ImGui::GetWindowDrawList(), ImVec2(at.x + 4, at.y), legend);
  ImGui::NewLine();
}

void ratio_table(AppState& s, double ratio) {
  const Report& r = *s.report;
  const ImGuiTableFlags flags =
      ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit;
  char id[32];
  std::snprintf(id, sizeof id, "ratio_%.4f", ratio);
  if (!ImGui::BeginTable(id, 8, flags)) return;
  for (const char* h : {"variant", "method", "Wanda", "perplexity", "KL", "top-1", "params", ""})
    ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const ReportRow& row = r.rows[i];
    if (row.ratio != ratio) continue;
    ImGui::TableNextRow();
    if (static_cast<int>(i) == s.report_hover)
      ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, IM_COL32(70, 90, 140, 160));
    ImGui::TableNextColumn();
    ImGui::PushID(static_cast<int>(i));
    const bool is_a = static_cast<int>(i) == s.keep_a, is_b = static_cast<int>(i) == s.keep_b;
    if (ImGui::Selectable(row.variant.c_str(), is_a || is_b)) s.keep_a = static_cast<int>(i);
    if (ImGui::IsItemClicked(ImGuiMouseButton_Right)) s.keep_b = static_cast<int>(i);
    if (ImGui::IsItemHovered()) row_tooltip(row);
    ImGui::PopID();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(row.method.c_str());
    ImGui::TableNextColumn();
    if (row.wanda > 0)
      ImGui::Text("%.0f%%", 100 * row.wanda);
    else
      ImGui::TextDisabled("-");
    if (!row.ran()) {
      ImGui::TableNextColumn();
      ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "not run");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", row.error.c_str());
      for (int c = 0; c < 4; ++c) ImGui::TableNextColumn();
    } else {
      const bool best = lowest_kl_row(r, ratio, row.wanda > 0) == static_cast<int>(i);
      ImGui::TableNextColumn();
      ImGui::Text("%.4f", row.perplexity);
      ImGui::TableNextColumn();
      if (best)
        ImGui::TextColored(ImVec4(0.5f, 1, 0.6f, 1), "%.5f", row.kl);
      else
        ImGui::Text("%.5f", row.kl);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f%%", 100 * row.top1);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f%%", 100 * row.params_kept);
    }
    ImGui::TableNextColumn();
    ImGui::Text("%s%s%s", row.frontier ? "frontier " : "", row.chosen ? "chosen " : "",
                is_a   ? "A"
                : is_b ? "B"
                       : "");
  }
  ImGui::EndTable();
}

}  // namespace

void draw_report_tab(AppState& s) {
  if (!s.report) {
    ImGui::TextWrapped(
        "No comparison report loaded. Open the report.json that `hodgecover compare` or "
        "`hodgecover demo` wrote next to report.md (file picker, drag and drop, or ?report=URL).");
    if (!s.report_error.empty())
      ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "%s", s.report_error.c_str());
    return;
  }
  const Report& r = *s.report;
  ImGui::Text("%s: %zu compressed models of %s", s.report_source.c_str(), r.rows.size(),
              r.model.c_str());
  if (std::isfinite(r.reference_perplexity))
    ImGui::TextDisabled("original held-out perplexity %.4f; held-out data: %s",
                        r.reference_perplexity, r.data.c_str());
  const float height = std::max(180.0f, ImGui::GetContentRegionAvail().y * 0.55f);
  frontier_plot(s, height);
  for (double ratio : r.ratios) {
    char title[96];
    int keep = 0;
    for (const ReportRow& row : r.rows) keep = row.ratio == ratio ? row.keep : keep;
    if (ratio == 0)
      std::snprintf(title, sizeof title, "Control: Wanda alone, every expert kept");
    else
      std::snprintf(title, sizeof title, "%.0f%% of experts removed (keep %d per layer)",
                    100 * ratio, keep);
    if (ImGui::CollapsingHeader(title, ratio == r.ratios.front() ? ImGuiTreeNodeFlags_DefaultOpen
                                                                 : ImGuiTreeNodeFlags_None))
      ratio_table(s, ratio);
  }
}

}  // namespace hc::ui
