// Dashboard state transitions: loading, per-layer analysis (incremental, so the UI stays live
// while a large file decomposes), τ changes, selection and the JSON reports.
#include "hc/ui/app_state.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace hc::ui {
namespace {

double now_ms() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

void clear_model(AppState& s) {
  s.stats.reset();
  s.analyses.clear();
  s.layer_tau.clear();
  s.layer_error.clear();
  s.analysed.clear();
  s.pending = 0;
  s.current = 0;
  s.outcome.reset();
  s.comparison.clear();
  s.selection_stale = true;
  s.matrix_order.clear();
  s.timings = {};
}

void update_status(AppState& s) {
  char buf[256];
  switch (s.load_state) {
    case LoadState::Empty:
      s.status = "no file loaded";
      break;
    case LoadState::Loading:
      s.status = "loading " + s.source;
      break;
    case LoadState::Error:
      s.status = "error: " + s.error;
      break;
    case LoadState::Loaded: {
      const int n = static_cast<int>(s.stats->layers.size());
      if (s.pending > 0) {
        std::snprintf(buf, sizeof buf, "%d layers loaded, decomposing (%d left)", n, s.pending);
      } else {
        std::snprintf(buf, sizeof buf, "%d layers loaded", n);
      }
      s.status = buf;
      break;
    }
  }
}

void start_model(AppState& s, StatsFile stats, const std::string& source, double read_ms) {
  clear_model(s);
  const std::size_t n = stats.layers.size();
  s.stats = std::move(stats);
  s.source = source;
  s.error.clear();
  s.load_state = LoadState::Loaded;
  s.analyses.resize(n);
  s.layer_tau.assign(n, std::nullopt);
  s.layer_error.assign(n, std::string());
  s.analysed.assign(n, 0);
  s.pending = static_cast<int>(n);
  s.timings.read_ms = read_ms;
  // A sensible default budget for the loaded width: remove half.
  s.selection.keep = -1;
  s.use_ratio = true;
  update_status(s);
}

void analyse_index(AppState& s, int i) {
  const double t0 = now_ms();
  ComplexOptions options = s.complex_options;
  if (s.layer_tau[i]) options.tau = s.layer_tau[i];
  auto a = analyze_layer(s.stats->layers[i], options);
  if (a) {
    s.analyses[i] = std::move(a).value();
    s.layer_error[i].clear();
  } else {
    s.analyses[i] = LayerAnalysis{};
    s.analyses[i].layer = s.stats->layers[i].layer;
    s.layer_error[i] = a.error().message;
  }
  if (!s.analysed[i]) {
    s.analysed[i] = 1;
    --s.pending;
  }
  const double dt = now_ms() - t0;
  s.timings.last_layer_ms = dt;
  s.selection_stale = true;
}

}  // namespace

const char* expert_stat_name(ExpertStat s) {
  switch (s) {
    case ExpertStat::Frequency:
      return "frequency";
    case ExpertStat::Reap:
      return "REAP";
    case ExpertStat::Ean:
      return "EAN";
    case ExpertStat::GateMass:
      return "gate mass";
  }
  return "?";
}

const char* edge_component_name(EdgeComponent c) {
  switch (c) {
    case EdgeComponent::Barrier:
      return "barrier";
    case EdgeComponent::Gradient:
      return "gradient";
    case EdgeComponent::Curl:
      return "curl";
    case EdgeComponent::Harmonic:
      return "harmonic";
    case EdgeComponent::HarmonicAveraged:
      return "harmonic (all orientations)";
  }
  return "?";
}

const std::vector<float>& expert_stat_values(const LayerStats& layer, ExpertStat s) {
  switch (s) {
    case ExpertStat::Reap:
      return layer.reap;
    case ExpertStat::Ean:
      return layer.ean;
    case ExpertStat::GateMass:
      return layer.gate_mass;
    case ExpertStat::Frequency:
      break;
  }
  return layer.frequency;
}

void set_loading(AppState& s, const std::string& source) {
  clear_model(s);
  s.source = source;
  s.error.clear();
  s.load_state = LoadState::Loading;
  update_status(s);
}

void set_load_error(AppState& s, const std::string& source, const std::string& message) {
  clear_model(s);
  s.source = source;
  s.error = message;
  s.load_state = LoadState::Error;
  update_status(s);
}

void load_bytes(AppState& s, std::span<const std::uint8_t> bytes, const std::string& source) {
  const double t0 = now_ms();
  auto stats = read_stats(bytes, source);
  if (!stats) {
    set_load_error(s, source,
                   std::string(error_code_name(stats.error().code)) + ": " + stats.error().message);
    return;
  }
  if (stats->layers.empty()) {
    set_load_error(s, source, source + ": the file has no MoE layers");
    return;
  }
  start_model(s, std::move(stats).value(), source, now_ms() - t0);
}

void load_synthetic(AppState& s, const SynthOptions& options) {
  char name[96];
  std::snprintf(name, sizeof name, "synthetic %d x %d (seed %llu)", options.layers, options.experts,
                static_cast<unsigned long long>(options.seed));
  const double t0 = now_ms();
  auto synth = synthesize(options);
  if (!synth) {
    set_load_error(s, name, synth.error().message);
    return;
  }
  start_model(s, std::move(synth->stats), name, now_ms() - t0);
}

bool analysis_complete(const AppState& s) {
  return s.load_state == LoadState::Loaded && s.pending == 0;
}

bool analyse_pending(AppState& s, double budget_ms) {
  if (s.load_state != LoadState::Loaded) return true;
  const double t0 = now_ms();
  const int n = static_cast<int>(s.analysed.size());
  // The layer on screen first, then the rest in order.
  if (s.current < n && !s.analysed[s.current]) {
    analyse_index(s, s.current);
    s.timings.analyse_ms += s.timings.last_layer_ms;
  }
  for (int i = 0; i < n && s.pending > 0; ++i) {
    if (s.analysed[i]) continue;
    if (now_ms() - t0 >= budget_ms) break;
    analyse_index(s, i);
    s.timings.analyse_ms += s.timings.last_layer_ms;
  }
  update_status(s);
  return s.pending == 0;
}

void analyse_all(AppState& s) {
  while (!analyse_pending(s, 1e30)) {
  }
}

void reanalyse_layer(AppState& s, int index) {
  if (s.load_state != LoadState::Loaded || index < 0 ||
      index >= static_cast<int>(s.analysed.size())) {
    return;
  }
  // A layer decomposed before (the τ slider) starts from its previous decomposition: the same
  // result to the solver tolerance, usually for a fraction of the work (core's reanalyze_layer).
  if (s.analysed[index] && s.layer_error[index].empty()) {
    const double t0 = now_ms();
    ComplexOptions options = s.complex_options;
    if (s.layer_tau[index]) options.tau = s.layer_tau[index];
    auto a = reanalyze_layer(s.stats->layers[index], options, s.analyses[index]);
    if (a) {
      s.analyses[index] = std::move(a).value();
      s.timings.last_layer_ms = now_ms() - t0;
      s.selection_stale = true;
      update_status(s);
      return;
    }
  }
  analyse_index(s, index);  // first time, or a failure: the cold path records the error
  update_status(s);
}

void set_layer_tau(AppState& s, int index, std::optional<double> tau) {
  if (index < 0 || index >= static_cast<int>(s.layer_tau.size())) return;
  s.layer_tau[index] = tau;
  reanalyse_layer(s, index);
}

void set_complex_options(AppState& s, const ComplexOptions& options) {
  s.complex_options = options;
  if (s.load_state != LoadState::Loaded) return;
  std::fill(s.analysed.begin(), s.analysed.end(), 0);
  s.pending = static_cast<int>(s.analysed.size());
  s.timings.analyse_ms = 0;
  s.selection_stale = true;
  update_status(s);
}

int layer_index(const AppState& s, int layer) {
  if (!s.stats) return -1;
  for (std::size_t i = 0; i < s.stats->layers.size(); ++i) {
    if (s.stats->layers[i].layer == layer) return static_cast<int>(i);
  }
  return -1;
}

std::pair<double, double> barrier_range(const AppState& s, int index) {
  if (!s.stats || index < 0 || index >= static_cast<int>(s.stats->layers.size())) return {0, 1};
  const auto& b = s.stats->layers[index].edge_barrier;
  if (b.empty()) return {0, 1};
  auto [lo, hi] = std::minmax_element(b.begin(), b.end());
  return {*lo, std::max<double>(*hi, *lo + 1e-12)};
}

void run_selection(AppState& s) {
  s.outcome.reset();
  s.comparison.clear();
  s.error.clear();
  if (!analysis_complete(s)) analyse_all(s);
  if (!analysis_complete(s)) return;
  const double t0 = now_ms();
  // The orientation-averaged energies, once per layer for all the selections below.
  if (s.selection.harmonic_target == HarmonicTarget::Expected) {
    for (std::size_t i = 0; i < s.analyses.size(); ++i)
      if (s.layer_error[i].empty()) (void)ensure_expected(s.analyses[i]);
  }
  // Layers that failed to decompose cannot be selected; leave them out of the plan.
  std::vector<LayerAnalysis> usable;
  const std::vector<LayerAnalysis>* analyses = &s.analyses;
  if (std::any_of(s.layer_error.begin(), s.layer_error.end(),
                  [](const std::string& e) { return !e.empty(); })) {
    for (std::size_t i = 0; i < s.analyses.size(); ++i) {
      if (s.layer_error[i].empty()) usable.push_back(s.analyses[i]);
    }
    analyses = &usable;
  }
  SelectionOptions options = s.selection;
  if (s.use_ratio) options.keep = -1;
  // A method whose data the file lacks (loo before format 1.1) is refused with the file-level
  // reason; in the comparison it is a row marked unavailable, not a failure of the others.
  if (Status supported = method_supported(*s.stats, options.method); !supported) {
    s.error = supported.error().message;
  } else {
    auto outcome = select_file(*s.stats, *analyses, options, s.complex_options);
    if (outcome) {
      s.outcome = std::move(outcome).value();
    } else {
      s.error = outcome.error().message;
    }
  }
  for (Method m : all_methods()) {
    MethodComparison c;
    c.method = m;
    if (Status supported = method_supported(*s.stats, m); !supported) {
      c.error = supported.error().message;
      s.comparison.push_back(std::move(c));
      continue;
    }
    SelectionOptions o = options;
    o.method = m;
    if (m == Method::HcSmoe) o.mode = ReductionMode::Merge;
    auto r = select_file(*s.stats, *analyses, o, s.complex_options);
    if (r) {
      c.ok = true;
      RetainedMasses sum{0, 0, 0, 0};
      for (const auto& [layer, masses] : r->retained) {
        sum.gradient += masses.gradient;
        sum.curl += masses.curl;
        sum.harmonic += masses.harmonic;
        sum.triangle += masses.triangle;
      }
      const double n = std::max<std::size_t>(1, r->retained.size());
      c.mean = {sum.gradient / n, sum.curl / n, sum.harmonic / n, sum.triangle / n};
    } else {
      c.error = r.error().message;
    }
    s.comparison.push_back(std::move(c));
  }
  s.selection_stale = false;
  s.timings.selection_ms = now_ms() - t0;
}

nlohmann::json summary_json(const AppState& s) {
  nlohmann::json out = {
      {"state", s.load_state == LoadState::Loaded    ? "loaded"
                : s.load_state == LoadState::Error   ? "error"
                : s.load_state == LoadState::Loading ? "loading"
                                                     : "empty"},
      {"source", s.source},
      {"error", s.error},
      {"timings_ms",
       {{"read", s.timings.read_ms},
        {"analyse", s.timings.analyse_ms},
        {"last_layer", s.timings.last_layer_ms},
        {"selection", s.timings.selection_ms}}},
  };
  out["report"] = report_summary_json(s);
  if (!s.stats) return out;
  out["model"] = s.stats->model;
  out["family"] = s.stats->family;
  out["pending"] = s.pending;
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < s.stats->layers.size(); ++i) {
    const LayerStats& l = s.stats->layers[i];
    nlohmann::json j = {{"layer", l.layer}, {"experts", l.experts}};
    if (!s.analysed[i]) {
      j["analysed"] = false;
    } else if (!s.layer_error[i].empty()) {
      j["error"] = s.layer_error[i];
    } else {
      const LayerAnalysis& a = s.analyses[i];
      const HodgeEnergy& e = a.hodge.energy;
      j["tau"] = a.complex.tau;
      j["edges"] = a.complex.edge_count();
      j["filled_triangles"] = a.complex.triangle_count();
      j["holes"] = a.complex.holes.size();
      j["betti"] = {a.hodge.betti[0], a.hodge.betti[1], a.hodge.betti[2]};
      j["energy_fraction"] = {{"gradient", e.fraction(e.gradient)},
                              {"curl", e.fraction(e.curl)},
                              {"harmonic", e.fraction(e.harmonic)}};
    }
    layers.push_back(std::move(j));
  }
  out["layers"] = std::move(layers);
  return out;
}

std::string plan_text(const AppState& s) {
  if (!s.outcome) return std::string();
  return selection_json(*s.outcome).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace hc::ui
