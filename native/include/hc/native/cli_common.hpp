// Shared pieces of the `hodgecover` commands: exit codes, the error boundary, option groups
// (complex switches, HodgeCover parameters), stats-file loading, output helpers, progress bar.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hc/analysis.hpp"
#include "hc/complex.hpp"
#include "hc/native/file_io.hpp"
#include "hc/result.hpp"
#include "hc/selection.hpp"
#include "hc/stats_file.hpp"

#ifndef HC_VERSION
#define HC_VERSION "0.0.0"
#endif

namespace hc::native {

// Reported by --version and recorded as `producer` in files this tool writes.
inline constexpr const char* kVersion = HC_VERSION;

// Exit codes (SPEC §9). Scripts rely on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;     // bad options or option values
inline constexpr int kExitBadInput = 3;  // an input file is missing, unreadable or invalid
inline constexpr int kExitRuntime = 4;   // everything else: solver failure, output not writable

int exit_code_for(hc::ErrorCode code);
int exit_code_for(IoFailure failure);

// Thrown inside a command to stop it with a message and an exit code; run_guarded catches it.
class CommandFailure : public std::runtime_error {
 public:
  CommandFailure(int exit_code, const std::string& message)
      : std::runtime_error(message), m_exit_code(exit_code) {}
  int exit_code() const { return m_exit_code; }

 private:
  int m_exit_code;
};

[[noreturn]] void fail(int exit_code, const std::string& message);
[[noreturn]] void fail(const hc::Error& error);
[[noreturn]] void fail(const IoError& error);

// Unwraps a core result, turning its error into a CommandFailure with the mapped exit code.
template <typename T>
T take(hc::Result<T>&& result) {
  if (!result.ok()) fail(result.error());
  return std::move(result).value();
}

// "hodgecover <command>: error: <message>" on stderr.
void print_error(std::string_view command, std::string_view message);

// Runs a command body; every exception becomes a message on stderr and an exit code.
int run_guarded(std::string_view command, const std::function<int()>& body);

// The complex switches of SPEC §4, shared by decompose, select and demo.
struct ComplexSwitches {
  double tau_quantile = 0.75;
  double tau = 0.0;
  std::string orientation = hc::orientation_name(hc::ComplexOptions{}.orientation);
  std::string edges = "complete";
  std::string fill = "tau";
  CLI::Option* tau_option = nullptr;  // set by add_complex_options; tells whether --tau was given
};
void add_complex_options(CLI::App& command, ComplexSwitches& switches);
hc::ComplexOptions complex_options(const ComplexSwitches& switches);
// "tau = 0.75 quantile, complete edges, fill tau, index orientation" for report headers.
std::string describe_complex(const hc::ComplexOptions& options);

// The HodgeCover parameters of SPEC §5.1 (method, budget, seed and mode belong to `select`).
// Defaults come from hc::SelectionOptions, the one place they are set.
struct HodgeCoverSwitches {
  double rho_h = hc::SelectionOptions{}.rho_h, rho_t = hc::SelectionOptions{}.rho_t;
  int cover_tri = hc::SelectionOptions{}.cover_tri;
  double lambda_e = hc::SelectionOptions{}.lambda_e, lambda_t = hc::SelectionOptions{}.lambda_t,
         lambda_v = hc::SelectionOptions{}.lambda_v;
  std::string vertex_score = hc::vertex_score_name(hc::SelectionOptions{}.vertex_score);
  std::string triangle_credit =
      hc::SelectionOptions{}.triangle_credit == hc::TriangleCredit::Binary ? "binary" : "partial";
  std::string harmonic_target = hc::harmonic_target_name(hc::SelectionOptions{}.harmonic_target);
};
void add_hodgecover_options(CLI::App& command, HodgeCoverSwitches& switches);
// SelectionOptions with the HodgeCover parameters filled in and everything else at defaults.
hc::SelectionOptions selection_options(const HodgeCoverSwitches& switches);

// A statistics file read from disk. Missing/unreadable files and parse errors fail with exit
// code 3 and a message naming the file.
struct LoadedStats {
  std::string path;
  std::uint64_t file_bytes = 0;
  hc::StatsFile stats;
};
LoadedStats load_stats(const std::string& path);

// Decomposes every layer (with a progress bar) or only `only_layer`. Errors name `source`.
std::vector<hc::LayerAnalysis> analyze_stats(const hc::StatsFile& stats,
                                             const hc::ComplexOptions& options,
                                             std::optional<int> only_layer,
                                             const std::string& source);

// Writes an output file atomically or fails (exit 4) with a message naming it.
void write_output(const std::string& path, std::span<const std::uint8_t> bytes);
void write_output(const std::string& path, std::string_view text);

// One JSON document per line on stdout; invalid UTF-8 in strings (model names) is replaced
// rather than aborting the dump.
std::string json_text(const nlohmann::json& json, int indent = -1);
void print_json(const nlohmann::json& json);

// printf into a std::string (GCC 12 has no <format>).
std::string strprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

// "m:ss", or "h:mm:ss" from an hour on (progress bars, training ETAs).
std::string clock_text(double seconds);

// Mean of each retained mass over the layers of a selection.
hc::RetainedMasses mean_retained(const std::map<int, hc::RetainedMasses>& by_layer);

// A one-line progress bar on stderr (percentage, rate, ETA). Draws only when stderr is a
// terminal, and only once the work has run long enough to be worth watching, so fast runs and
// redirected output stay clean. Cleared when finished or destroyed.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, std::string unit);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void advance(std::size_t steps = 1);
  void finish();

 private:
  void draw();

  std::string m_label, m_unit;
  std::size_t m_total, m_done = 0;
  bool m_enabled, m_drawn = false;
  std::chrono::steady_clock::time_point m_start, m_last_draw;
};

}  // namespace hc::native
