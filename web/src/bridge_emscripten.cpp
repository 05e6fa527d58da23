// The browser bridge: the only file that includes Emscripten headers. Host services for the
// panels (file picker, fetch, download, status) call into shell/bridge.js, and a few extern "C"
// functions passing integers, pointers and byte buffers are the JavaScript API's back end
// (wrapped as Module.hodgecover in bridge.js).
#include <emscripten.h>

#include <cmath>
#include <string>

#include "platform.hpp"

namespace hc::web {
namespace {

std::string g_reply;  // backing store of the last string returned to JavaScript

const char* reply(std::string text) {
  g_reply = std::move(text);
  return g_reply.c_str();
}

double now_ms() {
  return emscripten_get_now();
}

// File names and error messages may carry bytes from a bad file: never let dump() fail on them.
const char* reply_json(const nlohmann::json& j) {
  return reply(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

ui::AppState& app_state() {
  static ui::AppState state;
  return state;
}

void install_host(ui::AppState& state, int, char**) {
  state.host.open_file_dialog = [] { EM_ASM({ Module.hcOpenFileDialog(); }); };
  state.host.fetch_url = [](const std::string& url) {
    EM_ASM({ Module.hcFetch(UTF8ToString($0)); }, url.c_str());
  };
  state.host.fetch_report_url = [](const std::string& url) {
    EM_ASM({ Module.hcFetchReport(UTF8ToString($0)); }, url.c_str());
  };
  state.host.save_text = [](const std::string& name, const std::string& text) {
    EM_ASM({ Module.hcDownload(UTF8ToString($0), UTF8ToString($1)); }, name.c_str(), text.c_str());
  };
  EM_ASM({
    if (Module.hcHostReady) Module.hcHostReady();
  });
}

bool window_wanted() {
  return EM_ASM_INT({ return Module.hcNoWindow ? 0 : 1; }) != 0;
}

void publish_status(const ui::AppState& state, SDL_Window*) {
  static std::string last;
  // The report's state rides along: "none", "loaded <rows>" or "error".
  const std::string report = state.report ? "loaded " + std::to_string(state.report->rows.size())
                             : state.report_error.empty() ? "none"
                                                          : "error";
  if (state.status + "|" + report == last) return;
  last = state.status + "|" + report;
  const char* kind = state.load_state == ui::LoadState::Loaded    ? "loaded"
                     : state.load_state == ui::LoadState::Error   ? "error"
                     : state.load_state == ui::LoadState::Loading ? "loading"
                                                                  : "empty";
  const int layers = state.stats ? static_cast<int>(state.stats->layers.size()) : 0;
  EM_ASM({ Module.hcOnStatus(UTF8ToString($0), UTF8ToString($1), $2, $3, UTF8ToString($4)); }, kind,
         state.status.c_str(), layers, state.pending, report.c_str());
}

void open_dropped_path(ui::AppState&, const char*) {}

namespace {
bool (*g_frame)() = nullptr;
void frame_trampoline() {
  g_frame();
}
}  // namespace

void run_main_loop(bool (*frame)()) {
  g_frame = frame;
  emscripten_set_main_loop(frame_trampoline, 0, 1);
}

}  // namespace hc::web

using hc::web::app_state;
using hc::web::now_ms;
using hc::web::reply;
using hc::web::reply_json;

extern "C" {

// Loads a statistics file from bytes; with `analyse_now` every layer is decomposed before
// returning (JavaScript API), otherwise a few layers per frame (the dashboard stays live).
// Returns the number of layers, or -1 with the error in the summary.
EMSCRIPTEN_KEEPALIVE int hc_web_load(const std::uint8_t* data, int size, const char* name,
                                     int analyse_now) {
  hc::ui::AppState& s = app_state();
  hc::ui::load_bytes(s, std::span<const std::uint8_t>(data, static_cast<std::size_t>(size)), name);
  if (s.load_state != hc::ui::LoadState::Loaded) {
    hc::web::publish_status(s, nullptr);
    return -1;
  }
  if (analyse_now) hc::ui::analyse_all(s);
  hc::web::publish_status(s, nullptr);
  return static_cast<int>(s.stats->layers.size());
}

// Loads a comparison report (report.json) from bytes, beside the statistics. Returns its row
// count, or -1 with the error in summary().report.
EMSCRIPTEN_KEEPALIVE int hc_web_load_report(const std::uint8_t* data, int size, const char* name) {
  hc::ui::AppState& s = app_state();
  hc::ui::load_report_bytes(s, std::span<const std::uint8_t>(data, static_cast<std::size_t>(size)),
                            name);
  return s.report && s.report_error.empty() && s.report_source == name
             ? static_cast<int>(s.report->rows.size())
             : -1;
}

// File picker and drag and drop: a report when the bytes are JSON, else a statistics file.
EMSCRIPTEN_KEEPALIVE void hc_web_load_any(const std::uint8_t* data, int size, const char* name) {
  hc::ui::AppState& s = app_state();
  hc::ui::load_any_bytes(s, std::span<const std::uint8_t>(data, static_cast<std::size_t>(size)),
                         name);
  hc::web::publish_status(s, nullptr);
}

EMSCRIPTEN_KEEPALIVE void hc_web_report_error(const char* source, const char* message) {
  hc::ui::set_report_error(app_state(), source, message);
}

// View switches for links and tests: the layer panel's view (0 graph, 1 matrix, 2 the keep sets
// tab), the overview
// tab (0 experts, 1 energy, 2 report; -1 unchanged) and the compared report rows (-1 unchanged).
EMSCRIPTEN_KEEPALIVE void hc_web_set_view(int layer_view, int overview_tab, int row_a, int row_b) {
  hc::ui::AppState& s = app_state();
  if (layer_view == 0 || layer_view == 1) {
    s.layer_view = static_cast<hc::ui::LayerView>(layer_view);
    s.layer_tab_request = 0;
  }
  if (layer_view == 2) s.layer_tab_request = 1;  // the keep sets tab
  if (overview_tab >= 0) s.overview_tab_request = overview_tab;
  const int rows = s.report ? static_cast<int>(s.report->rows.size()) : 0;
  if (row_a >= 0 && row_a < rows) s.keep_a = row_a;
  if (row_b >= 0 && row_b < rows) s.keep_b = row_b;
  if (row_a >= 0 && row_b >= 0 && layer_view < 0) s.layer_tab_request = 1;
}

EMSCRIPTEN_KEEPALIVE void hc_web_set_loading(const char* source) {
  hc::ui::set_loading(app_state(), source);
  hc::web::publish_status(app_state(), nullptr);
}

EMSCRIPTEN_KEEPALIVE void hc_web_load_error(const char* source, const char* message) {
  hc::ui::set_load_error(app_state(), source, message);
  hc::web::publish_status(app_state(), nullptr);
}

EMSCRIPTEN_KEEPALIVE void hc_web_add_sample(const char* name, const char* url,
                                            const char* report_url) {
  app_state().samples.push_back({name, url, report_url});
}

EMSCRIPTEN_KEEPALIVE void hc_web_set_compact(int compact) {
  app_state().compact = compact != 0;
}

// Makes transformer layer L current; returns its index or -1.
EMSCRIPTEN_KEEPALIVE int hc_web_set_layer(int layer) {
  hc::ui::AppState& s = app_state();
  const int index = hc::ui::layer_index(s, layer);
  if (index >= 0) s.current = index;
  return index;
}

// Sets layer L's absolute tau (NaN: back to the quantile) and re-decomposes it. Returns the
// milliseconds the rebuild + decomposition took, or -1 for an unknown layer.
EMSCRIPTEN_KEEPALIVE double hc_web_set_tau(int layer, double tau) {
  hc::ui::AppState& s = app_state();
  const int index = hc::ui::layer_index(s, layer);
  if (index < 0) return -1;
  const double t0 = now_ms();
  hc::ui::set_layer_tau(s, index, std::isnan(tau) ? std::nullopt : std::optional<double>(tau));
  return now_ms() - t0;
}

// Decomposes every pending layer now; returns the milliseconds it took.
EMSCRIPTEN_KEEPALIVE double hc_web_analyse_all() {
  const double t0 = now_ms();
  hc::ui::analyse_all(app_state());
  hc::web::publish_status(app_state(), nullptr);
  return now_ms() - t0;
}

EMSCRIPTEN_KEEPALIVE const char* hc_web_summary() {
  return reply_json(hc::ui::summary_json(app_state()));
}

// docs/CLI.md decomposition JSON of layer L (empty object when unknown or not decomposed).
EMSCRIPTEN_KEEPALIVE const char* hc_web_decomposition(int layer) {
  hc::ui::AppState& s = app_state();
  const int index = hc::ui::layer_index(s, layer);
  if (index < 0) return reply("{}");
  if (!s.analysed[index]) hc::ui::reanalyse_layer(s, index);
  if (!s.layer_error[index].empty()) {
    return reply_json(nlohmann::json{{"error", s.layer_error[index]}});
  }
  return reply_json(hc::decomposition_json(s.analyses[index]));
}

// Runs a selection (`keep` > 0 wins over `ratio`) with every method compared; returns the plan
// with retained masses and the comparison, or {"error": ...}.
EMSCRIPTEN_KEEPALIVE const char* hc_web_select(const char* method, int keep, double ratio) {
  hc::ui::AppState& s = app_state();
  if (s.load_state != hc::ui::LoadState::Loaded) return reply(R"({"error":"no file loaded"})");
  auto m = hc::parse_method(method);
  if (!m) return reply_json(nlohmann::json{{"error", m.error().message}});
  s.selection.method = *m;
  s.use_ratio = keep <= 0;
  s.selection.keep = keep > 0 ? keep : -1;
  if (keep <= 0) s.selection.ratio = ratio;
  if (auto valid = hc::validate_selection_options(s.selection); !valid) {
    return reply_json(nlohmann::json{{"error", valid.error().message}});
  }
  hc::ui::run_selection(s);
  if (!s.outcome) return reply_json(nlohmann::json{{"error", s.error}});
  nlohmann::json out = hc::selection_json(*s.outcome);
  nlohmann::json comparison = nlohmann::json::object();
  for (const auto& c : s.comparison) {
    if (!c.ok) {
      comparison[hc::method_name(c.method)] = {{"error", c.error}};
      continue;
    }
    comparison[hc::method_name(c.method)] = {{"gradient", c.mean.gradient},
                                             {"curl", c.mean.curl},
                                             {"harmonic", c.mean.harmonic},
                                             {"triangle", c.mean.triangle}};
  }
  out["comparison"] = std::move(comparison);
  out["selection_ms"] = s.timings.selection_ms;
  return reply_json(out);
}

EMSCRIPTEN_KEEPALIVE const char* hc_web_plan() {
  return reply(hc::ui::plan_text(app_state()));
}

}  // extern "C"
