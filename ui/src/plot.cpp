// ImDrawList plotting helpers: colour maps, axes, colour bars, legends.
#include "hc/ui/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hc::ui::plot {
namespace {

ImU32 lerp_stops(const float (*stops)[3], int n, float t, float alpha) {
  t = std::clamp(t, 0.0f, 1.0f) * static_cast<float>(n - 1);
  const int i = std::min(static_cast<int>(t), n - 2);
  const float f = t - static_cast<float>(i);
  float rgb[3];
  for (int c = 0; c < 3; ++c) rgb[c] = stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f;
  return ImGui::ColorConvertFloat4ToU32(ImVec4(rgb[0], rgb[1], rgb[2], alpha));
}

// A "nice" step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`.
double nice_step(double span, int count) {
  if (!(span > 0) || count < 1) return 1;
  const double raw = span / count;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

}  // namespace

ImU32 sequential(float t, float alpha) {
  static const float stops[5][3] = {{0.07f, 0.06f, 0.28f},
                                    {0.17f, 0.28f, 0.55f},
                                    {0.13f, 0.56f, 0.55f},
                                    {0.45f, 0.79f, 0.35f},
                                    {0.99f, 0.91f, 0.15f}};
  return lerp_stops(stops, 5, t, alpha);
}

ImU32 diverging(float t, float alpha) {
  static const float stops[5][3] = {{0.13f, 0.33f, 0.78f},
                                    {0.45f, 0.62f, 0.92f},
                                    {0.80f, 0.80f, 0.82f},
                                    {0.95f, 0.55f, 0.42f},
                                    {0.80f, 0.12f, 0.15f}};
  return lerp_stops(stops, 5, 0.5f * (t + 1.0f), alpha);
}

ImU32 categorical(int index, float alpha) {
  static const float colors[8][3] = {
      {0.90f, 0.62f, 0.00f}, {0.34f, 0.71f, 0.91f}, {0.00f, 0.62f, 0.45f}, {0.94f, 0.89f, 0.26f},
      {0.00f, 0.45f, 0.70f}, {0.84f, 0.37f, 0.00f}, {0.80f, 0.47f, 0.65f}, {0.75f, 0.75f, 0.75f}};
  const float* c = colors[((index % 8) + 8) % 8];
  return ImGui::ColorConvertFloat4ToU32(ImVec4(c[0], c[1], c[2], alpha));
}

ImVec2 Frame::map(double x, double y) const {
  const double fx = x1 != x0 ? (x - x0) / (x1 - x0) : 0.5;
  const double fy = y1 != y0 ? (y - y0) / (y1 - y0) : 0.5;
  return ImVec2(min.x + static_cast<float>(fx) * (max.x - min.x),
                max.y - static_cast<float>(fy) * (max.y - min.y));
}

double Frame::unmap_x(float px) const {
  return x0 + (x1 - x0) * (px - min.x) / std::max(1.0f, max.x - min.x);
}

double Frame::unmap_y(float py) const {
  return y0 + (y1 - y0) * (max.y - py) / std::max(1.0f, max.y - min.y);
}

bool Frame::contains(ImVec2 p) const {
  return p.x >= min.x && p.x < max.x && p.y >= min.y && p.y < max.y;
}

std::string tick_label(double v, bool integer) {
  char buf[32];
  if (integer) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::llround(v)));
  } else if (v != 0 && (std::fabs(v) < 1e-2 || std::fabs(v) >= 1e4)) {
    std::snprintf(buf, sizeof buf, "%.0e", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

Frame axes(const char* id, ImVec2 size, double x0, double x1, double y0, double y1,
           const char* x_label, const char* y_label, int x_ticks, int y_ticks, bool integer_x,
           bool integer_y, bool log_y) {
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  size.x = std::max(size.x, 80.0f);
  size.y = std::max(size.y, 60.0f);
  ImGui::InvisibleButton(id, size);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float line = ImGui::GetTextLineHeight();
  const float left = line * 3.2f;
  const float bottom = line * 1.3f + (x_label && *x_label ? line : 0.0f);
  Frame f;
  const float top = (y_label && *y_label) ? line * 1.4f : line * 0.5f;  // room for the y title
  f.min = ImVec2(origin.x + left, origin.y + top);
  f.max = ImVec2(origin.x + size.x - line * 0.5f, origin.y + size.y - bottom);
  f.x0 = x0, f.x1 = x1, f.y0 = y0, f.y1 = y1;
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_Text, 0.8f);
  const ImU32 grid = ImGui::GetColorU32(ImGuiCol_Text, 0.12f);
  dl->AddRect(f.min, f.max, axis);

  double step = nice_step(x1 - x0, x_ticks);
  if (integer_x) step = std::max(1.0, std::round(step));
  // x_ticks <= 0: the caller labels the x axis itself (e.g. category names).
  for (double v = std::ceil(x0 / step) * step; x_ticks > 0 && v <= x1 + step * 1e-9; v += step) {
    const ImVec2 p = f.map(v, y0);
    dl->AddLine(ImVec2(p.x, f.min.y), ImVec2(p.x, f.max.y), grid);
    dl->AddLine(p, ImVec2(p.x, p.y + 4), axis);
    const std::string s = tick_label(v, integer_x);
    const ImVec2 ts = ImGui::CalcTextSize(s.c_str());
    dl->AddText(ImVec2(p.x - ts.x * 0.5f, p.y + 5), axis, s.c_str());
  }
  step = nice_step(y1 - y0, y_ticks);
  if (integer_y || log_y) step = std::max(1.0, std::round(step));
  for (double v = std::ceil(y0 / step) * step; v <= y1 + step * 1e-9; v += step) {
    const ImVec2 p = f.map(x0, v);
    dl->AddLine(ImVec2(f.min.x, p.y), ImVec2(f.max.x, p.y), grid);
    dl->AddLine(ImVec2(p.x - 4, p.y), p, axis);
    const std::string s = log_y ? tick_label(std::pow(10.0, v), false) : tick_label(v, integer_y);
    const ImVec2 ts = ImGui::CalcTextSize(s.c_str());
    dl->AddText(ImVec2(p.x - ts.x - 6, p.y - ts.y * 0.5f), axis, s.c_str());
  }
  if (x_label && *x_label) {
    const ImVec2 ts = ImGui::CalcTextSize(x_label);
    dl->AddText(ImVec2((f.min.x + f.max.x - ts.x) * 0.5f, origin.y + size.y - line * 1.1f), axis,
                x_label);
  }
  if (y_label && *y_label) {
    // ImGui has no rotated text: stack the title above the axis instead.
    dl->AddText(ImVec2(origin.x, origin.y), axis, y_label);
  }
  return f;
}

void colorbar(ImDrawList* dl, ImVec2 pos, float height, bool diverging_map, double lo, double hi,
              const char* title) {
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const float line = ImGui::GetTextLineHeight();
  dl->AddText(pos, text, title);
  const ImVec2 top(pos.x, pos.y + line + 4);
  const float h = std::max(20.0f, height - line - 8);
  const int steps = 32;
  for (int i = 0; i < steps; ++i) {
    const float t = 1.0f - (i + 0.5f) / steps;  // top = high
    const ImU32 c = diverging_map ? diverging(2 * t - 1) : sequential(t);
    dl->AddRectFilled(ImVec2(top.x, top.y + h * i / steps),
                      ImVec2(top.x + 14, top.y + h * (i + 1) / steps + 1), c);
  }
  dl->AddRect(top, ImVec2(top.x + 14, top.y + h), text);
  dl->AddText(ImVec2(top.x + 18, top.y - 2), text, tick_label(hi, false).c_str());
  dl->AddText(ImVec2(top.x + 18, top.y + h - line), text, tick_label(lo, false).c_str());
}

void legend(ImDrawList* dl, ImVec2 pos, const std::vector<LegendEntry>& entries) {
  const float line = ImGui::GetTextLineHeight();
  float width = 0;
  for (const auto& e : entries) width = std::max(width, ImGui::CalcTextSize(e.label.c_str()).x);
  const ImVec2 end(pos.x + width + line * 2.0f, pos.y + entries.size() * (line + 2) + 6);
  dl->AddRectFilled(pos, end, ImGui::GetColorU32(ImGuiCol_PopupBg, 0.85f), 3.0f);
  dl->AddRect(pos, end, ImGui::GetColorU32(ImGuiCol_Border), 3.0f);
  float y = pos.y + 3;
  for (const auto& e : entries) {
    dl->AddRectFilled(ImVec2(pos.x + 4, y + 2), ImVec2(pos.x + 4 + line - 4, y + line - 2),
                      e.color);
    dl->AddText(ImVec2(pos.x + line + 4, y), ImGui::GetColorU32(ImGuiCol_Text), e.label.c_str());
    y += line + 2;
  }
}

}  // namespace hc::ui::plot
