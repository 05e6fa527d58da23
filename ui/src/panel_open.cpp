// Open panel: file picker / path, samples, synthetic files, the loaded file's summary and the
// error banner of a file that failed to load.
#include <imgui.h>

#include <algorithm>

#include "hc/ui/draw.hpp"

namespace hc::ui {
namespace {

void error_banner(const AppState& s) {
  ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(0.45f, 0.08f, 0.08f, 1.0f));
  const float h = ImGui::GetTextLineHeightWithSpacing() * 4.5f;
  ImGui::BeginChild("error_banner", ImVec2(0, h), true);
  ImGui::TextColored(ImVec4(1, 0.85f, 0.85f, 1), "Could not load %s", s.source.c_str());
  ImGui::PushTextWrapPos(0);
  ImGui::TextUnformatted(s.error.c_str());
  ImGui::PopTextWrapPos();
  ImGui::EndChild();
  ImGui::PopStyleColor();
}

void file_summary(const AppState& s) {
  const StatsFile& f = *s.stats;
  ImGui::Text("File: %s", s.source.c_str());
  if (!f.model.empty()) ImGui::Text("Model: %s (%s)", f.model.c_str(), f.family.c_str());
  int max_e = 0;
  for (const auto& l : f.layers) max_e = std::max(max_e, l.experts);
  ImGui::Text("%zu MoE layers, up to %d experts, top-k %d, %llu calibration tokens",
              f.layers.size(), max_e, f.top_k, static_cast<unsigned long long>(f.tokens));
  if (!f.barrier.empty()) ImGui::Text("Barrier: %s", f.barrier.c_str());
  const int n = static_cast<int>(f.layers.size());
  if (s.pending > 0) {
    ImGui::ProgressBar(static_cast<float>(n - s.pending) / std::max(1, n), ImVec2(-1, 0),
                       "decomposing layers");
  } else {
    ImGui::Text("Read %.1f ms, decomposed %d layers in %.1f ms", s.timings.read_ms, n,
                s.timings.analyse_ms);
  }
}

}  // namespace

void draw_open_panel(AppState& s) {
  ImGui::Begin("Open");
  if (s.host.open_file_dialog && ImGui::Button("Open statistics file or report..."))
    s.host.open_file_dialog();
  if (s.host.open_path) {
    static char path[512] = "";
    ImGui::SetNextItemWidth(-90);
    const bool enter = ImGui::InputTextWithHint("##path", "path/to/model.hcstats", path,
                                                sizeof path, ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    if ((ImGui::Button("Open") || enter) && path[0]) s.host.open_path(path);
  }
  ImGui::TextDisabled("...or drop a .hcstats file or a report.json on the window.");
  if (s.report) {
    ImGui::Text("Report: %s (%zu rows)", s.report_source.c_str(), s.report->rows.size());
    ImGui::SameLine();
    if (ImGui::SmallButton("close report")) s.report.reset(), s.keep_a = s.keep_b = -1;
  }
  if (!s.report_error.empty())
    ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "Report not loaded: %s", s.report_error.c_str());

  if (!s.samples.empty() && ImGui::CollapsingHeader("Samples", ImGuiTreeNodeFlags_DefaultOpen)) {
    for (const Sample& sample : s.samples) {
      const std::string label =
          sample.name + (sample.report_url.empty() ? "" : " + comparison report");
      if (ImGui::Selectable(label.c_str(), s.source == sample.url) && s.host.fetch_url) {
        s.host.fetch_url(sample.url);
        if (!sample.report_url.empty() && s.host.fetch_report_url)
          s.host.fetch_report_url(sample.report_url);
      }
    }
  }
  if (ImGui::CollapsingHeader("Synthetic file")) {
    static SynthOptions synth{.layers = 8, .experts = 32};
    ImGui::SliderInt("layers", &synth.layers, 1, 64);
    ImGui::SliderInt("experts", &synth.experts, 4, 256);
    int seed = static_cast<int>(synth.seed);
    if (ImGui::InputInt("seed", &seed)) synth.seed = static_cast<std::uint64_t>(std::max(0, seed));
    if (ImGui::Button("Generate")) load_synthetic(s, synth);
  }
  ImGui::Separator();
  switch (s.load_state) {
    case LoadState::Empty:
      ImGui::TextWrapped("No file loaded. Open a statistics file or a sample.");
      break;
    case LoadState::Loading:
      ImGui::Text("Loading %s ...", s.source.c_str());
      break;
    case LoadState::Error:
      error_banner(s);
      break;
    case LoadState::Loaded:
      file_summary(s);
      break;
  }
  ImGui::End();
}

}  // namespace hc::ui
