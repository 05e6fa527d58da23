// Dashboard host main loop: SDL2 window + OpenGL3 (desktop) or WebGL2 (browser), Dear ImGui's
// SDL2/OpenGL3 backends, and hc::ui::draw_frame between new-frame and render.
#include <SDL.h>
#include <SDL_opengl.h>
#include <imgui.h>
#include <imgui_impl_opengl3.h>
#include <imgui_impl_sdl.h>

#include <cstdio>

#include "hc/ui/draw.hpp"
#include "platform.hpp"

namespace {

SDL_Window* g_window = nullptr;
SDL_GLContext g_gl = nullptr;

bool frame() {
  hc::ui::AppState& state = hc::web::app_state();
  SDL_Event event;
  bool running = true;
  while (SDL_PollEvent(&event)) {
    ImGui_ImplSDL2_ProcessEvent(&event);
    if (event.type == SDL_QUIT) running = false;
    if (event.type == SDL_WINDOWEVENT && event.window.event == SDL_WINDOWEVENT_CLOSE &&
        event.window.windowID == SDL_GetWindowID(g_window)) {
      running = false;
    }
    if (event.type == SDL_DROPFILE) {
      hc::web::open_dropped_path(state, event.drop.file);
      SDL_free(event.drop.file);
    }
  }
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplSDL2_NewFrame();
  ImGui::NewFrame();
  hc::ui::draw_frame(state);
  ImGui::Render();
  const ImGuiIO& io = ImGui::GetIO();
  glViewport(0, 0, static_cast<int>(io.DisplaySize.x * io.DisplayFramebufferScale.x),
             static_cast<int>(io.DisplaySize.y * io.DisplayFramebufferScale.y));
  glClearColor(0.09f, 0.10f, 0.12f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  SDL_GL_SwapWindow(g_window);
  hc::web::publish_status(state, g_window);
  return running;
}

}  // namespace

int main(int argc, char** argv) {
  hc::ui::AppState& state = hc::web::app_state();
  hc::web::install_host(state, argc, argv);
  if (!hc::web::window_wanted()) return 0;  // JavaScript API only

  if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_TIMER) != 0) {
    std::fprintf(stderr, "hodgecover-dashboard: SDL_Init failed: %s\n", SDL_GetError());
    return 1;
  }
#if defined(__EMSCRIPTEN__)
  const char* glsl = "#version 300 es";  // WebGL2
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_ES);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
#else
  const char* glsl = "#version 130";
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 2);
#endif
  SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
  const auto flags = static_cast<SDL_WindowFlags>(SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE |
                                                  SDL_WINDOW_ALLOW_HIGHDPI);
  g_window = SDL_CreateWindow("HodgeCover", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, 1280,
                              800, flags);
  if (!g_window) {
    std::fprintf(stderr, "hodgecover-dashboard: cannot create a window: %s\n", SDL_GetError());
    return 1;
  }
  g_gl = SDL_GL_CreateContext(g_window);
  if (!g_gl) {
    std::fprintf(stderr, "hodgecover-dashboard: no OpenGL context: %s\n", SDL_GetError());
    return 1;
  }
  SDL_GL_MakeCurrent(g_window, g_gl);
  SDL_GL_SetSwapInterval(1);
  SDL_EventState(SDL_DROPFILE, SDL_ENABLE);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  hc::ui::apply_style();
  ImGui_ImplSDL2_InitForOpenGL(g_window, g_gl);
  ImGui_ImplOpenGL3_Init(glsl);

  hc::web::run_main_loop(frame);

  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplSDL2_Shutdown();
  ImGui::DestroyContext();
  SDL_GL_DeleteContext(g_gl);
  SDL_DestroyWindow(g_window);
  SDL_Quit();
  return 0;
}
