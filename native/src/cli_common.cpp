// Shared pieces of the `hodgecover` commands: error boundary, option groups, loading, output.
#include "hc/native/cli_common.hpp"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <new>

namespace hc::native {

int exit_code_for(hc::ErrorCode code) {
  switch (code) {
    case hc::ErrorCode::NotStatsFile:
    case hc::ErrorCode::UnsupportedVersion:
    case hc::ErrorCode::Malformed:
    case hc::ErrorCode::Corrupt:
      return kExitBadInput;
    case hc::ErrorCode::InvalidArgument:
      return kExitUsage;
    case hc::ErrorCode::NumericalFailure:
    case hc::ErrorCode::WriteFailed:
      return kExitRuntime;
  }
  return kExitRuntime;
}

int exit_code_for(IoFailure failure) {
  return failure == IoFailure::WriteFailed ? kExitRuntime : kExitBadInput;
}

void fail(int exit_code, const std::string& message) {
  throw CommandFailure(exit_code, message);
}
void fail(const hc::Error& error) {
  fail(exit_code_for(error.code), error.message);
}
void fail(const IoError& error) {
  fail(exit_code_for(error.failure), error.message);
}

namespace {

// Core messages usually start with the source name already; add it where they do not, so
// every bad-input message names the file.
[[noreturn]] void fail_naming(const hc::Error& error, const std::string& source) {
  if (error.message.rfind(source, 0) == 0) fail(error);
  fail(exit_code_for(error.code), source + ": " + error.message);
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
    print_error(command, e.what());
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
  const char* group = "Complex (SPEC 4)";
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
}

hc::ComplexOptions complex_options(const ComplexSwitches& s) {
  hc::ComplexOptions options;
  options.tau_quantile = s.tau_quantile;
  if (s.tau_option != nullptr && s.tau_option->count() > 0) options.tau = s.tau;
  options.orientation = take(hc::parse_orientation(s.orientation));
  options.edges = take(hc::parse_edge_mode(s.edges));
  options.fill = take(hc::parse_fill_rule(s.fill));
  return options;
}

std::string describe_complex(const hc::ComplexOptions& o) {
  std::string text =
      o.tau ? strprintf("tau = %g", *o.tau) : strprintf("tau = %g quantile", o.tau_quantile);
  text += o.edges == hc::EdgeMode::Complete ? ", complete edges" : ", threshold edges";
  text += o.fill == hc::FillRule::Tau ? ", fill tau" : ", fill sum";
  text += std::string(", ") + hc::orientation_name(o.orientation) + " order";
  return text;
}

void add_hodgecover_options(CLI::App& command, HodgeCoverSwitches& s) {
  const char* group = "HodgeCover (SPEC 5.1)";
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
                  "Edge harmonic energy: averaged over all edge orientations (independent of "
                  "expert numbering), or under the complex's orientation (earlier results)")
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
  if (auto error = read_file(path, bytes)) {
    if (error->failure == IoFailure::IsDirectory) {
      fail(kExitBadInput, path + ": is a directory, not a statistics file");
    }
    fail(*error);
  }
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
  if (auto error = write_file_atomic(path, bytes)) fail(*error);
}

void write_output(const std::string& path, std::string_view text) {
  if (auto error = write_text_atomic(path, text)) fail(*error);
}

std::string json_text(const nlohmann::json& json, int indent) {
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_json(const nlohmann::json& json) {
  std::cout << json_text(json) << '\n';
}

std::string strprintf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int size = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  if (size > 0) std::vsnprintf(text.data(), text.size() + 1, format, args);
  va_end(args);
  return text;
}

hc::RetainedMasses mean_retained(const std::map<int, hc::RetainedMasses>& by_layer) {
  hc::RetainedMasses mean{0, 0, 0, 0};
  if (by_layer.empty()) return hc::RetainedMasses{};
  for (const auto& [layer, r] : by_layer) {
    mean.gradient += r.gradient;
    mean.curl += r.curl;
    mean.harmonic += r.harmonic;
    mean.triangle += r.triangle;
  }
  const double n = static_cast<double>(by_layer.size());
  mean.gradient /= n;
  mean.curl /= n;
  mean.harmonic /= n;
  mean.triangle /= n;
  return mean;
}

namespace {

constexpr auto kDrawDelay = std::chrono::milliseconds(400);
constexpr auto kDrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 24;

}  // namespace

std::string clock_text(double seconds) {
  const long s = seconds < 0 ? 0 : static_cast<long>(seconds + 0.5);
  if (s >= 3600) return strprintf("%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return strprintf("%ld:%02ld", s / 60, s % 60);
}

ProgressBar::ProgressBar(std::string label, std::size_t total, std::string unit)
    : m_label(std::move(label)),
      m_unit(std::move(unit)),
      m_total(total),
      m_enabled(total > 1 && ::isatty(STDERR_FILENO) == 1),
      m_start(std::chrono::steady_clock::now()),
      m_last_draw(m_start) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::advance(std::size_t steps) {
  m_done = std::min(m_total, m_done + steps);
  if (!m_enabled) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - m_start < kDrawDelay || (m_drawn && now - m_last_draw < kDrawInterval)) return;
  m_last_draw = now;
  draw();
}

void ProgressBar::finish() {
  if (m_drawn) std::cerr << "\r\033[K" << std::flush;
  m_drawn = false;
  m_enabled = false;
}

void ProgressBar::draw() {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  const double share = m_total > 0 ? static_cast<double>(m_done) / m_total : 1.0;
  const int filled = static_cast<int>(share * kBarWidth);
  const double rate = elapsed > 0 ? m_done / elapsed : 0.0;
  const std::string eta = rate > 0 ? clock_text((m_total - m_done) / rate) : "?";
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kBarWidth - filled), '.');
  std::cerr << "\r\033[K"
            << strprintf("%s [%s] %3.0f%%  %zu/%zu %s  %.1f %s/s  ETA %s", m_label.c_str(),
                         bar.c_str(), share * 100.0, m_done, m_total, m_unit.c_str(), rate,
                         m_unit.c_str(), eta.c_str())
            << std::flush;
  m_drawn = true;
}

}  // namespace hc::native
