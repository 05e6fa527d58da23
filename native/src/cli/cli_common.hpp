// Shared pieces of the `hodgecover` commands: exit codes, the error boundary, option groups
// (complex switches, HodgeCover parameters), stats-file loading, output helpers, progress bar.
#pragma once

#include <CLI/CLI.hpp>
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
#include "hc/native/progress.hpp"
#include "hc/native/text.hpp"
#include "hc/result.hpp"
#include "hc/selection.hpp"
#include "hc/stats_file.hpp"

namespace hc::native {

// Exit codes (docs/CLI.md). Scripts rely on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;       // bad options or option values
inline constexpr int kExitBadInput = 3;    // an input file is missing, unreadable or invalid
inline constexpr int kExitRuntime = 4;     // solver failure, output not writable, anything else
inline constexpr int kExitDevice = 5;      // the accelerator ran out of memory or failed
inline constexpr int kExitNonFinite = 6;   // NaN or Inf appeared in the model's numbers
inline constexpr int kExitPeerFailed = 7;  // another rank of a distributed run failed

// The one mapping from error categories to exit codes.
int exit_code_for(hc::ErrorCode code);

// Thrown inside a command to stop it with an error; run_guarded reports it and returns its
// exit code. Commands throw only this (through fail/take); library code returns hc::Result.
class CommandFailure : public std::runtime_error {
 public:
  explicit CommandFailure(hc::Error error)
      : std::runtime_error(error.message), m_error(std::move(error)) {}
  const hc::Error& error() const { return m_error; }
  int exit_code() const { return exit_code_for(m_error.code); }

 private:
  hc::Error m_error;
};

[[noreturn]] void fail(hc::ErrorCode code, const std::string& message);
[[noreturn]] void fail(const hc::Error& error);

// Unwraps a result, turning its error into a CommandFailure.
template <typename T>
T take(hc::Result<T>&& result) {
  if (!result.ok()) fail(result.error());
  return std::move(result).value();
}
// Unwraps the parse of one switch's value, naming the switch: "--device tpu: expected ...".
template <typename T>
T take_option(const char* option, hc::Result<T>&& result) {
  if (!result.ok()) fail(result.error().code, std::string(option) + " " + result.error().message);
  return std::move(result).value();
}
// Fails on an error status.
inline void check(const hc::Status& status) {
  if (!status.ok()) fail(status.error());
}

// "hodgecover <command>: error: <message>" on stderr.
void print_error(std::string_view command, std::string_view message);

// Runs a command body; every exception becomes a message on stderr and an exit code.
int run_guarded(std::string_view command, const std::function<int()>& body);

// The complex switches of docs/METHOD.md, shared by decompose, select and demo.
struct ComplexSwitches {
  double tau_quantile = 0.75;
  double tau = 0.0;
  std::string orientation = hc::orientation_name(hc::ComplexOptions{}.orientation);
  std::string edges = "complete";
  std::string fill = "tau";
  std::string signal = "barrier";
  CLI::Option* tau_option = nullptr;  // set by add_complex_options; tells whether --tau was given
};
void add_complex_options(CLI::App& command, ComplexSwitches& switches);
hc::ComplexOptions complex_options(const ComplexSwitches& switches);

// The HodgeCover parameters of docs/METHOD.md (method, budget, seed and mode belong to `select`).
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

// One JSON document per line on stdout (json_text: invalid UTF-8 replaced).
void print_json(const nlohmann::json& json);

}  // namespace hc::native
