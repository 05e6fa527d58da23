// Dashboard state shared by the panels, the host and the JavaScript API: the loaded statistics
// file, per-layer decompositions (analysed a few per frame), selection results, view settings.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hc/analysis.hpp"
#include "hc/synth.hpp"
#include "hc/ui/report.hpp"

namespace hc::ui {

// What the host (desktop or browser) can do for the panels; an empty function hides the control.
struct HostActions {
  std::function<void()> open_file_dialog;                        // browser file picker
  std::function<void(const std::string& path)> open_path;        // desktop: read a path
  std::function<void(const std::string& url)> fetch_url;         // browser: fetch a URL
  std::function<void(const std::string& url)> fetch_report_url;  // browser: fetch a report
  std::function<void(const std::string& name, const std::string& text)>
      save_text;  // download / write
};

struct Sample {
  std::string name;
  std::string url;         // fetched through HostActions::fetch_url
  std::string report_url;  // its comparison report (fetch_report_url), may be empty
};

enum class LoadState { Empty, Loading, Loaded, Error };
enum class ExpertStat { Frequency, Reap, Ean, GateMass };
// Edge colouring. The first four are signed parts under the complex's orientation; the last is
// the orientation-averaged harmonic energy (as a root, in barrier units) that --harmonic-target
// expected ranks.
// How the layer panel draws the complex: experts on a circle, or the pair matrix (readable at
// 128 experts) with experts ordered by hierarchical clustering of their barriers.
enum class LayerView { Graph, Matrix };
enum class EdgeComponent { Barrier, Gradient, Curl, Harmonic, HarmonicAveraged };
inline constexpr int kEdgeComponentCount = 5;

// Retained masses of one method, averaged over the analysed layers (docs/METHOD.md).
struct MethodComparison {
  Method method = Method::HodgeCover;
  bool ok = false;
  std::string error;
  RetainedMasses mean;
};

struct Timings {
  double read_ms = 0;        // parse + validate the file
  double analyse_ms = 0;     // build + decompose every layer (sum of per-layer times)
  double last_layer_ms = 0;  // latest single-layer rebuild (e.g. a tau change)
  double selection_ms = 0;   // latest run_selection (chosen method + comparison)
};

struct AppState {
  HostActions host;
  std::vector<Sample> samples;
  bool compact = false;  // embed page: one layer's complex and its numbers only

  LoadState load_state = LoadState::Empty;
  std::string source;  // file name or URL of the loaded (or failed) file
  std::string error;   // banner text while load_state == Error, or the last failed action
  std::optional<StatsFile> stats;

  ComplexOptions complex_options;                // global switches (quantile, orientation, ...)
  std::vector<std::optional<double>> layer_tau;  // per-layer absolute tau (τ slider), by index
  std::vector<LayerAnalysis> analyses;           // by index into stats->layers
  std::vector<std::string> layer_error;          // non-empty when a layer failed to decompose
  std::vector<char> analysed;
  int pending = 0;  // layers not analysed yet

  int current = 0;  // index into stats->layers
  ExpertStat heat_stat = ExpertStat::Frequency;
  bool heat_per_layer = true;     // normalise the heatmap per layer (else over the file)
  int overview_tab_request = -1;  // >= 0 selects that overview tab next frame (API, tests)
  EdgeComponent edge_component = EdgeComponent::Harmonic;
  int max_edges_drawn = 2500;
  bool show_holes = true;
  bool show_filled = true;

  SelectionOptions selection;
  bool use_ratio = true;
  std::optional<SelectionOutcome> outcome;
  std::vector<MethodComparison> comparison;
  bool selection_stale = true;

  // The comparison report (report.json of `compare` / `demo`) shown beside the statistics.
  std::optional<Report> report;
  std::string report_source;
  std::string report_error;      // why the last report failed to load (shown in the Open panel)
  int report_hover = -1;         // report row under the mouse on the frontier, -1 none
  int keep_ratio = -1;           // index into report->ratios for the keep-set views, -1: first
  int keep_a = -1, keep_b = -1;  // report rows whose keep sets are compared, -1 none

  LayerView layer_view = LayerView::Graph;
  int layer_tab_request =
      -1;  // >= 0 selects that layer-panel tab next frame (0 complex, 1 keep sets)
  bool matrix_lower_barrier = true;            // matrix: raw barrier below the diagonal
  std::vector<std::vector<int>> matrix_order;  // per layer index: clustering order (cached)

  Timings timings;
  std::string status;  // one-line status (what the host shows in its title / status element)
};

// Reads a file from bytes. On failure the state holds the error (banner) and no model.
void load_bytes(AppState& state, std::span<const std::uint8_t> bytes, const std::string& source);
// Reads a comparison report (report.json) from bytes. A bad report sets report_error and keeps
// the statistics (and any earlier report) as they were.
void load_report_bytes(AppState& state, std::span<const std::uint8_t> bytes,
                       const std::string& source);
void set_report_error(AppState& state, const std::string& source, const std::string& message);
// Picker and drag and drop: a report when the bytes are JSON, else a statistics file.
void load_any_bytes(AppState& state, std::span<const std::uint8_t> bytes,
                    const std::string& source);
// Generates a synthetic file in memory (core's synth) and loads it.
void load_synthetic(AppState& state, const SynthOptions& options);
// Marks a host-side failure (network, unreadable path) as the load error.
void set_load_error(AppState& state, const std::string& source, const std::string& message);
void set_loading(AppState& state, const std::string& source);

// Analyses pending layers until `budget_ms` has passed (at least one layer). True when done.
bool analyse_pending(AppState& state, double budget_ms);
void analyse_all(AppState& state);
bool analysis_complete(const AppState& state);

// Rebuilds and re-decomposes one layer (index into stats->layers) with its current tau.
void reanalyse_layer(AppState& state, int index);
// Sets (or clears, with nullopt) a layer's absolute tau and re-decomposes it.
void set_layer_tau(AppState& state, int index, std::optional<double> tau);
// Changes the global complex switches and re-decomposes every layer lazily.
void set_complex_options(AppState& state, const ComplexOptions& options);

// Runs the chosen method on every analysed layer and every method for the comparison table.
void run_selection(AppState& state);

// Index into stats->layers of transformer layer L, or -1.
int layer_index(const AppState& state, int layer);
// The barrier range of layer `index` (for the τ slider): {min, max} over its edges.
std::pair<double, double> barrier_range(const AppState& state, int index);

// Experts of layer `index` (into stats->layers) in display order for the matrix view:
// average-linkage clustering of the pair barriers, leaves in dendrogram order. Cached.
const std::vector<int>& matrix_order(AppState& state, int index);
// Experts report row `row` keeps in transformer layer `layer`; nullptr when not recorded.
const std::vector<int>* report_kept(const AppState& state, int row, int layer);
// The report's removal ratio the keep-set views show.
double keep_view_ratio(const AppState& state);

// JSON reports for the JavaScript API and the export button.
nlohmann::json summary_json(const AppState& state);  // includes "report"
// {"loaded", "source", "error", "rows", "ratios", "variants", "rows_with_kept", "compared"}
nlohmann::json report_summary_json(const AppState& state);
std::string plan_text(const AppState& state);  // empty when no selection has run

const char* expert_stat_name(ExpertStat s);
const char* edge_component_name(EdgeComponent c);
const std::vector<float>& expert_stat_values(const LayerStats& layer, ExpertStat s);

}  // namespace hc::ui
