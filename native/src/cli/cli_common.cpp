// Shared pieces of the `hodgecover` commands: error boundary, option groups, loading, output.
#include "cli_common.hpp"

#include <unistd.h>

#include <iostream>
#include <new>

namespace hc::native {

int exit_code_for(hc::ErrorCode code) {
  switch (code) {
    case hc::ErrorCode::NotStatsFile:
    case hc::ErrorCode::UnsupportedVersion:
    case hc::ErrorCode::Malformed:
    case hc::ErrorCode::Corrupt:
    case hc::ErrorCode::InputUnreadable:
      return kExitBadInput;
    case hc::ErrorCode::InvalidArgument:
      return kExitUsage;
    case hc::ErrorCode::NumericalFailure:
    case hc::ErrorCode::WriteFailed:
      return kExitRuntime;
    case hc::ErrorCode::DeviceOutOfMemory:
    case hc::ErrorCode::DeviceFailure:
      return kExitDevice;
    case hc::ErrorCode::NonFinite:
      return kExitNonFinite;
    case hc::ErrorCode::PeerFailed:
      return kExitPeerFailed;
  }
  return kExitRuntime;
}

void fail(hc::ErrorCode code, const std::string& message) {
  throw CommandFailure(hc::make_error(code, message));
}
void fail(const hc::Error& error) {
  throw CommandFailure(error);
}

namespace {

// Core messages usually start with the source name already; add it where they do not, so
// every bad-input message names the file.
[[noreturn]] void fail_naming(const hc::Error& error, const std::string& source) {
  if (error.message.rfind(source, 0) == 0) fail(error);
  fail(error.code, source + ": " + error.message);
}

}  // namespace

void print_error(std::string_view command, std::string_view message) {
  std::cerr << "hodgecover";
  if (!command.empty()) std::cerr << ' ' << command;
  std::cerr << ": error: " << message << '\n';
}

int run_guarded(std::string_view command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const CommandFailure& e) {
    std::string message = e.what();
    // The library says what to lower; the CLI names the switches that lower it.
    if (e.error().code == hc::ErrorCode::DeviceOutOfMemory) {
      message +=
          " (--tokens, --seq-len, --max-triangles where the command has them, or "
          "--device cpu)";
    }
    print_error(command, message);
    return e.exit_code();
  } catch (const CLI::Error& e) {
    print_error(command, e.what());
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    print_error(command, "out of memory");
  } catch (const std::exception& e) {
    print_error(command, std::string("internal error: ") + e.what());
  } catch (...) {
    print_error(command, "internal error: unknown exception");
  }
  return kExitRuntime;
}

void add_complex_options(CLI::App& command, ComplexSwitches& s) {
  const char* group = "Complex (docs/METHOD.md §1)";
  auto* quantile = command
                       .add_option("--tau-quantile", s.tau_quantile,
                                   "Fill threshold as a quantile of the layer's edge barriers")
                       ->check(CLI::Range(0.0, 1.0))
                       ->capture_default_str()
                       ->group(group);
  s.tau_option =
      command.add_option("--tau", s.tau, "Absolute fill threshold (instead of a quantile)")
          ->check(CLI::NonNegativeNumber)
          ->group(group);
  quantile->excludes(s.tau_option);
  command
      .add_option("--orientation", s.orientation,
                  "Vertex order that orients edges: index, or ascending frequency or REAP (only "
                  "the displayed parts and --harmonic-target oriented depend on it)")
      ->check(CLI::IsMember({"index", "frequency", "reap"}))
      ->capture_default_str()
      ->group(group);
  command.add_option("--edges", s.edges, "Keep every pair, or only pairs with barrier <= tau")
      ->check(CLI::IsMember({"complete", "threshold"}))
      ->capture_default_str()
      ->group(group);
  command
      .add_option("--fill", s.fill, "Fill a triangle when its barrier <= tau, or <= its pair sum")
      ->check(CLI::IsMember({"tau", "sum"}))
      ->capture_default_str()
      ->group(group);
  command
      .add_option("--signal", s.signal,
                  "Edge signal to decompose: the merge barrier, or the antisymmetric substitution "
                  "flow d(i->j) - d(j->i) (format 1.3 files)")
      ->check(CLI::IsMember({"barrier", "flow"}))
      ->capture_default_str()
      ->group(group);
}

hc::ComplexOptions complex_options(const ComplexSwitches& s) {
  hc::ComplexOptions options;
  options.tau_quantile = s.tau_quantile;
  if (s.tau_option != nullptr && s.tau_option->count() > 0) options.tau = s.tau;
  options.orientation = take(hc::parse_orientation(s.orientation));
  options.edges = take(hc::parse_edge_mode(s.edges));
  options.fill = take(hc::parse_fill_rule(s.fill));
  options.signal = take(hc::parse_edge_signal(s.signal));
  return options;
}

void add_hodgecover_options(CLI::App& command, HodgeCoverSwitches& s) {
  const char* group = "HodgeCover (docs/METHOD.md §4)";
  command.add_option("--rho-h", s.rho_h, "Share of harmonic energy the critical edges hold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->group(group);
  command.add_option("--rho-t", s.rho_t, "Share of triplet excess the critical triangles hold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->group(group);
  command.add_option("--cover-tri", s.cover_tri, "Kept vertices needed to cover a triangle")
      ->check(CLI::Range(1, 3))
      ->capture_default_str()
      ->group(group);
  command.add_option("--lambda-e", s.lambda_e, "Weight of covered critical edges")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group(group);
  command.add_option("--lambda-t", s.lambda_t, "Weight of covered critical triangles")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group(group);
  command.add_option("--lambda-v", s.lambda_v, "Weight of the vertex score")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group(group);
  command.add_option("--vertex-score", s.vertex_score, "Vertex score: REAP, frequency or none")
      ->check(CLI::IsMember({"reap", "frequency", "none"}))
      ->capture_default_str()
      ->group(group);
  command
      .add_option("--triangle-credit", s.triangle_credit,
                  "Greedy credit for a partly covered triangle")
      ->check(CLI::IsMember({"partial", "binary"}))
      ->capture_default_str()
      ->group(group);
  command
      .add_option("--harmonic-target", s.harmonic_target,
                  "Edge harmonic energy: averaged over all edge orientations, or under the "
                  "complex's orientation (default; reap makes it independent of numbering)")
      ->check(CLI::IsMember({"expected", "oriented"}))
      ->capture_default_str()
      ->group(group);
}

hc::SelectionOptions selection_options(const HodgeCoverSwitches& s) {
  hc::SelectionOptions options;
  options.rho_h = s.rho_h;
  options.rho_t = s.rho_t;
  options.cover_tri = s.cover_tri;
  options.lambda_e = s.lambda_e;
  options.lambda_t = s.lambda_t;
  options.lambda_v = s.lambda_v;
  options.vertex_score = take(hc::parse_vertex_score(s.vertex_score));
  options.triangle_credit = take(hc::parse_triangle_credit(s.triangle_credit));
  options.harmonic_target = take(hc::parse_harmonic_target(s.harmonic_target));
  return options;
}

LoadedStats load_stats(const std::string& path) {
  LoadedStats loaded;
  loaded.path = path;
  std::vector<std::uint8_t> bytes;
  check(read_file(path, bytes));
  loaded.file_bytes = bytes.size();
  auto stats = hc::read_stats(bytes, path);
  if (!stats.ok()) fail_naming(stats.error(), path);
  loaded.stats = std::move(stats).value();
  return loaded;
}

std::vector<hc::LayerAnalysis> analyze_stats(const hc::StatsFile& stats,
                                             const hc::ComplexOptions& options,
                                             std::optional<int> only_layer,
                                             const std::string& source) {
  if (only_layer) {
    auto result = hc::analyze_file(stats, options, only_layer);
    if (!result.ok()) fail_naming(result.error(), source);
    return std::move(result).value();
  }
  std::vector<hc::LayerAnalysis> analyses;
  analyses.reserve(stats.layers.size());
  ProgressBar progress("decompose", stats.layers.size(), "layers");
  for (const hc::LayerStats& layer : stats.layers) {
    auto result = hc::analyze_layer(layer, options);
    if (!result.ok()) fail_naming(result.error(), source);
    analyses.push_back(std::move(result).value());
    analyses.back().layer = layer.layer;
    progress.advance();
  }
  return analyses;
}

void write_output(const std::string& path, std::span<const std::uint8_t> bytes) {
  check(write_file_atomic(path, bytes));
}

void write_output(const std::string& path, std::string_view text) {
  check(write_text_atomic(path, text));
}

void print_json(const nlohmann::json& json) {
  std::cout << json_text(json) << '\n';
}

}  // namespace hc::native
