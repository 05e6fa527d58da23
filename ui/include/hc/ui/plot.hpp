// Small ImDrawList plotting helpers (no ImPlot package exists here): colour maps, axes with
// ticks and labels, colour bars and legends, so every panel's plots read the same way.
#pragma once

#include <imgui.h>

#include <string>
#include <vector>

namespace hc::ui::plot {

// Sequential map (dark blue -> teal -> yellow) for t in [0,1].
ImU32 sequential(float t, float alpha = 1.0f);
// Diverging map (blue -> light grey -> red) for t in [-1,1].
ImU32 diverging(float t, float alpha = 1.0f);

// A rectangle of the screen mapped to data ranges; y grows upwards.
struct Frame {
  ImVec2 min, max;  // plotting area in screen pixels (inside the axes)
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  ImVec2 map(double x, double y) const;
  double unmap_x(float px) const;
  double unmap_y(float py) const;
  bool contains(ImVec2 p) const;
};

// Reserves `size` with an invisible button (so hovering works) and draws axes, ticks, tick
// labels and axis titles around the returned plotting area. Tick counts are approximate.
// With log_y the y range is in log10 units and the ticks read as powers of ten ("1e-3").
Frame axes(const char* id, ImVec2 size, double x0, double x1, double y0, double y1,
           const char* x_label, const char* y_label, int x_ticks = 6, int y_ticks = 5,
           bool integer_x = false, bool integer_y = false, bool log_y = false);

// Colour-blind safe categorical colours (Okabe and Ito's eight), cycled by index.
ImU32 categorical(int index, float alpha = 1.0f);

// Vertical colour bar with its range and title, drawn at `pos` (width ~60 px incl. labels).
void colorbar(ImDrawList* dl, ImVec2 pos, float height, bool diverging_map, double lo, double hi,
              const char* title);

struct LegendEntry {
  ImU32 color;
  std::string label;
};
// Boxed legend with a swatch per entry; top-left corner at `pos`.
void legend(ImDrawList* dl, ImVec2 pos, const std::vector<LegendEntry>& entries);

// Tick value formatting shared by the axes ("0.25", "1e-3", "12").
std::string tick_label(double v, bool integer);

}  // namespace hc::ui::plot
