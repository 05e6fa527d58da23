// Selection panel: every docs/METHOD.md method with its budget and parameters, the retained Hodge
// masses of all methods side by side (grouped bars and a table), and plan export.
#include <imgui.h>

#include <algorithm>
#include <string>

#include "hc/ui/draw.hpp"
#include "hc/ui/plot.hpp"

namespace hc::ui {
namespace {

const ImU32 kMassColors[4] = {IM_COL32(86, 156, 214, 255), IM_COL32(220, 160, 60, 255),
                              IM_COL32(214, 80, 110, 255), IM_COL32(120, 200, 140, 255)};
const char* kMassNames[4] = {"gradient", "curl", "harmonic", "triangle"};

double mass(const RetainedMasses& r, int k) {
  return k == 0 ? r.gradient : k == 1 ? r.curl : k == 2 ? r.harmonic : r.triangle;
}

void method_options(AppState& s) {
  SelectionOptions& o = s.selection;
  const auto& methods = all_methods();
  int current =
      static_cast<int>(std::find(methods.begin(), methods.end(), o.method) - methods.begin());
  if (ImGui::BeginCombo("method", method_name(o.method))) {
    for (int i = 0; i < static_cast<int>(methods.size()); ++i) {
      if (ImGui::Selectable(method_name(methods[i]), i == current)) {
        o.method = methods[i];
        s.selection_stale = true;
      }
    }
    ImGui::EndCombo();
  }
  // Say at once when the file lacks the chosen method's data, not only after a run (which
  // shows the same refusal as its error).
  if (Status supported = method_supported(*s.stats, o.method);
      !supported && supported.error().message != s.error) {
    ImGui::PushTextWrapPos(0.0f);
    ImGui::TextColored(ImVec4(1, 0.45f, 0.45f, 1), "%s", supported.error().message.c_str());
    ImGui::PopTextWrapPos();
  }
  bool changed = false;
  int budget = s.use_ratio ? 0 : 1;
  changed |= ImGui::RadioButton("ratio removed", &budget, 0);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("keep per layer", &budget, 1);
  s.use_ratio = budget == 0;
  int max_e = 1;
  for (const auto& l : s.stats->layers) max_e = std::max(max_e, l.experts);
  if (s.use_ratio) {
    float r = static_cast<float>(o.ratio);
    if (ImGui::SliderFloat("ratio", &r, 0.0f, 0.95f, "%.2f")) o.ratio = r, changed = true;
  } else {
    if (o.keep < 1) o.keep = std::max(1, max_e / 2);
    changed |= ImGui::SliderInt("keep", &o.keep, 1, max_e);
  }
  int mode = o.mode == ReductionMode::Merge ? 1 : 0;
  if (ImGui::Combo("mode", &mode, "prune\0merge\0")) {
    o.mode = mode ? ReductionMode::Merge : ReductionMode::Prune;
    changed = true;
  }
  if (ImGui::TreeNode("HodgeCover parameters")) {
    float rho_h = static_cast<float>(o.rho_h), rho_t = static_cast<float>(o.rho_t);
    if (ImGui::SliderFloat("rho_h", &rho_h, 0, 1)) o.rho_h = rho_h, changed = true;
    if (ImGui::SliderFloat("rho_t", &rho_t, 0, 1)) o.rho_t = rho_t, changed = true;
    changed |= ImGui::SliderInt("cover_tri", &o.cover_tri, 1, 3);
    float l[3] = {static_cast<float>(o.lambda_e), static_cast<float>(o.lambda_t),
                  static_cast<float>(o.lambda_v)};
    if (ImGui::DragFloat3("lambda e/t/v", l, 0.01f, 0.0f, 10.0f)) {
      o.lambda_e = l[0], o.lambda_t = l[1], o.lambda_v = l[2];
      changed = true;
    }
    int vs = static_cast<int>(o.vertex_score);
    if (ImGui::Combo("vertex score", &vs, "reap\0frequency\0none\0")) {
      o.vertex_score = static_cast<VertexScore>(vs);
      changed = true;
    }
    int credit = static_cast<int>(o.triangle_credit);
    if (ImGui::Combo("triangle credit", &credit, "partial\0binary\0")) {
      o.triangle_credit = static_cast<TriangleCredit>(credit);
      changed = true;
    }
    ImGui::TreePop();
  }
  if (o.method == Method::Random) {
    int seed = static_cast<int>(o.seed);
    if (ImGui::InputInt("seed", &seed))
      o.seed = static_cast<std::uint64_t>(std::max(0, seed)), changed = true;
  }
  if (changed) s.selection_stale = true;
}

void comparison_plot(const AppState& s) {
  const int n = static_cast<int>(s.comparison.size());
  if (n == 0) return;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float legend_w = 96.0f;  // the legend sits right of the bars, never over them
  const ImVec2 top_left = ImGui::GetCursorScreenPos();
  // " " as x title reserves a second label row: method names alternate between two rows.
  const plot::Frame fr = plot::axes("retained", ImVec2(avail.x - legend_w, 190), -0.5, n - 0.5, 0,
                                    1, " ", "retained mass (mean over layers)", 0, 4, true, false);
  const float line = ImGui::GetTextLineHeight();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (int i = 0; i < n; ++i) {
    const MethodComparison& c = s.comparison[i];
    const char* name = method_name(c.method);
    const ImVec2 ts = ImGui::CalcTextSize(name);
    const ImVec2 p = fr.map(i, 0);
    // Method names replace the numeric x ticks.
    const float y = p.y + 4 + (i % 2) * line;
    dl->AddRectFilled(ImVec2(p.x - ts.x * 0.5f - 2, y - 2), ImVec2(p.x + ts.x * 0.5f + 2, y + ts.y),
                      ImGui::GetColorU32(ImGuiCol_WindowBg));
    dl->AddText(ImVec2(p.x - ts.x * 0.5f, y), ImGui::GetColorU32(ImGuiCol_Text), name);
    if (!c.ok) continue;
    for (int k = 0; k < 4; ++k) {
      const double x0 = i - 0.4 + 0.2 * k;
      const ImVec2 a = fr.map(x0, 0), b = fr.map(x0 + 0.18, mass(c.mean, k));
      dl->AddRectFilled(ImVec2(a.x, b.y), ImVec2(b.x, a.y), kMassColors[k]);
    }
  }
  std::vector<plot::LegendEntry> entries;
  for (int k = 0; k < 4; ++k) entries.push_back({kMassColors[k], kMassNames[k]});
  plot::legend(dl, ImVec2(top_left.x + avail.x - legend_w + 6, fr.min.y), entries);
}

void comparison_table(const AppState& s) {
  if (!ImGui::BeginTable("comparison", 5, ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg)) return;
  ImGui::TableSetupColumn("method");
  for (const char* n : kMassNames) ImGui::TableSetupColumn(n);
  ImGui::TableHeadersRow();
  for (const MethodComparison& c : s.comparison) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    const bool chosen = c.method == s.selection.method;
    ImGui::TextColored(
        chosen ? ImVec4(0.5f, 0.9f, 0.6f, 1) : ImGui::GetStyleColorVec4(ImGuiCol_Text), "%s",
        method_name(c.method));
    for (int k = 0; k < 4; ++k) {
      ImGui::TableNextColumn();
      if (c.ok) {
        ImGui::Text("%.3f", mass(c.mean, k));
      } else {
        ImGui::TextDisabled("n/a");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", c.error.c_str());
      }
    }
  }
  ImGui::EndTable();
}

}  // namespace

void draw_selection_panel(AppState& s) {
  ImGui::Begin("Selection");
  if (s.load_state != LoadState::Loaded) {
    ImGui::TextDisabled("Load a statistics file to select experts.");
    ImGui::End();
    return;
  }
  method_options(s);
  ImGui::BeginDisabled(!analysis_complete(s));
  if (ImGui::Button(s.selection_stale ? "Run selection *" : "Run selection")) run_selection(s);
  ImGui::EndDisabled();
  if (s.host.save_text && s.outcome) {
    ImGui::SameLine();
    if (ImGui::Button("Export plan JSON")) s.host.save_text("plan.json", plan_text(s));
  }
  if (!s.error.empty()) ImGui::TextColored(ImVec4(1, 0.45f, 0.45f, 1), "%s", s.error.c_str());
  if (s.outcome) {
    const LayerPlan* plan = nullptr;
    auto it = s.outcome->plan.layers.find(s.stats->layers[s.current].layer);
    if (it != s.outcome->plan.layers.end()) plan = &it->second;
    ImGui::Text("%s: %zu layers in %.0f ms%s", s.outcome->plan.method.c_str(),
                s.outcome->plan.layers.size(), s.timings.selection_ms,
                s.selection_stale ? " (options changed: run again)" : "");
    if (plan) {
      ImGui::Text("layer %d keeps %zu of %d experts", plan->layer, plan->keep.size(),
                  s.stats->layers[s.current].experts);
    }
  }
  // The comparison is shown even when the chosen method was refused: the others still ran.
  if (!s.comparison.empty()) {
    ImGui::Separator();
    comparison_plot(s);
    comparison_table(s);
  }
  ImGui::End();
}

}  // namespace hc::ui
