// Host services that differ between the desktop app and the browser. One implementation per
// platform (platform_desktop.cpp, bridge_emscripten.cpp), chosen by CMake.
#pragma once

#include "hc/ui/app_state.hpp"

struct SDL_Window;

namespace hc::web {

// The one dashboard state of this process (the JavaScript API reaches it through the bridge).
ui::AppState& app_state();

// Fills state.host and the sample list; then acts on the start-up arguments (desktop: a path
// to open; browser: the page's own script reads ?stats= itself).
void install_host(ui::AppState& state, int argc, char** argv);

// False when the page asked for the JavaScript API only (no canvas, no main loop).
bool window_wanted();

// Reports state.status when it changed: the window title on desktop; document.title and the
// page's #status element in the browser.
void publish_status(const ui::AppState& state, SDL_Window* window);

// Opens a file dropped on the window (desktop; the browser handles drops in JavaScript).
void open_dropped_path(ui::AppState& state, const char* path);

// Runs `frame` until it returns false (desktop) or forever as the browser's animation loop.
void run_main_loop(bool (*frame)());

}  // namespace hc::web
