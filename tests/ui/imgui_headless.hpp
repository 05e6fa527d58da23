// Test support for the dashboard suites: an ImGui context with no backend that runs frames
// through draw_frame (sweeping the mouse so tooltips draw), and small synthetic files.
#pragma once

#include <imgui.h>
#include <imgui_internal.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <vector>

#include "hc/ui/draw.hpp"

namespace hc::test {

struct ImGuiHeadless {
  ImGuiHeadless() {
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(1280, 800);
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);  // builds the atlas, as a backend would
    hc::ui::apply_style();
  }
  ~ImGuiHeadless() { ImGui::DestroyContext(); }

  // Runs frames, sweeping the mouse over the display so hover tooltips are drawn too.
  int frames(hc::ui::AppState& state, int n) {
    int vertices = 0;
    for (int i = 0; i < n; ++i) {
      ImGuiIO& io = ImGui::GetIO();
      io.DeltaTime = 1.0f / 60.0f;
      io.MousePos = ImVec2(static_cast<float>((i * 97) % 1280), static_cast<float>((i * 53) % 800));
      ImGui::NewFrame();
      hc::ui::draw_frame(state);
      ImGui::Render();
      vertices = ImGui::GetDrawData()->TotalVtxCount;
    }
    return vertices;
  }

  // One frame with the mouse at `mouse` (held down when `click`); returns the vertex count.
  int frame_at(hc::ui::AppState& state, ImVec2 mouse, bool click = false) {
    ImGuiIO& io = ImGui::GetIO();
    io.DeltaTime = 1.0f / 60.0f;
    io.MousePos = mouse;
    io.MouseDown[0] = click;
    ImGui::NewFrame();
    hc::ui::draw_frame(state);
    ImGui::Render();
    io.MouseDown[0] = false;
    return ImGui::GetDrawData()->TotalVtxCount;
  }
};

inline std::vector<std::uint8_t> synth_bytes(int layers, int experts) {
  hc::SynthOptions o;
  o.layers = layers;
  o.experts = experts;
  o.seed = 3;
  auto r = hc::synthesize(o);
  BOOST_REQUIRE(r.ok());
  auto bytes = hc::write_stats(r->stats);
  BOOST_REQUIRE(bytes.ok());
  return std::move(bytes).value();
}

inline bool window_drawn(const char* name) {
  ImGuiWindow* w = ImGui::FindWindowByName(name);
  return w && w->LastFrameActive == ImGui::GetFrameCount();
}

}  // namespace hc::test
