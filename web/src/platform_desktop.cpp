// Desktop host services: statistics files and comparison reports by path (command line, path
// box, drag and drop; a report is recognised by its JSON content), plans written
// next to the working directory, the status in the window title.
#include <SDL.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "platform.hpp"

namespace hc::web {
namespace {

void open_path(ui::AppState& state, const std::string& path) {
  const bool report = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  const auto fail = [&](const std::string& message) {
    if (report)
      ui::set_report_error(state, path, message);
    else
      ui::set_load_error(state, path, message);
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot open the file");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) return fail(path + ": read error");
  ui::load_any_bytes(state, bytes, path);
}

// Writes to a temporary name and renames, so no half-written plan is ever visible.
void save_text(ui::AppState& state, const std::string& name, const std::string& text) {
  const std::string tmp = name + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      state.error = "cannot write " + tmp;
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, name, ec);
  if (ec) {
    state.error = "cannot write " + name + ": " + ec.message();
    return;
  }
  state.error.clear();
  std::fprintf(stderr, "hodgecover-dashboard: wrote %s\n", name.c_str());
}

}  // namespace

ui::AppState& app_state() {
  static ui::AppState state;
  return state;
}

void install_host(ui::AppState& state, int argc, char** argv) {
  state.host.open_path = [&state](const std::string& p) { open_path(state, p); };
  state.host.save_text = [&state](const std::string& n, const std::string& t) {
    save_text(state, n, t);
  };
  // hodgecover-dashboard [model.hcstats] [report.json]
  for (int i = 1; i < argc; ++i) open_path(state, argv[i]);
}

bool window_wanted() {
  return true;
}

void publish_status(const ui::AppState& state, SDL_Window* window) {
  static std::string last;
  if (state.status == last) return;
  last = state.status;
  SDL_SetWindowTitle(window, ("HodgeCover - " + last).c_str());
}

void open_dropped_path(ui::AppState& state, const char* path) {
  open_path(state, path);
}

void run_main_loop(bool (*frame)()) {
  while (frame()) {
  }
}

}  // namespace hc::web
