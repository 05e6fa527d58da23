// Benchmark: parse + decompose + HodgeCover-select a synthetic statistics file (default 48
// layers x 128 experts, 4096 candidate triangles per layer), and a dense-solver baseline for
// the curl component on a few layers, timed in the same run. Builds natively and to WASM.
// Usage: bench_decompose_select [--layers L] [--experts E] [--max-triangles T] [--repeat R]
//        [--baseline-layers N] [--baseline-experts E]
// Also times the selection with the orientation-averaged harmonic target (its energies are
// computed during that selection), against the default selection in the same run.
#include <Eigen/Dense>
#include <Eigen/SparseCore>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "hc/analysis.hpp"
#include "hc/synth.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int arg_int(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

// Straightforward baseline for f_curl: dense normal equations (B2^T B2) c = B2^T f solved by
// pivoted LDL^T (Eigen zeroes negligible pivots, so a singular B2^T B2 still gives a
// least-squares solution), then f_curl = B2 c.
Eigen::VectorXd dense_curl(const hc::Complex& complex) {
  const Eigen::MatrixXd b2 = Eigen::MatrixXd(hc::boundary_2(complex));
  const Eigen::MatrixXd normal = b2.transpose() * b2;
  const Eigen::VectorXd rhs = b2.transpose() * complex.signal;
  const Eigen::VectorXd c = normal.ldlt().solve(rhs);
  return b2 * c;
}

}  // namespace

int main(int argc, char** argv) {
  hc::SynthOptions synth;
  synth.layers = arg_int(argc, argv, "--layers", 48);
  synth.experts = arg_int(argc, argv, "--experts", 128);
  synth.max_triangles = arg_int(argc, argv, "--max-triangles", 4096);
  synth.seed = 7;
  const int repeat = std::max(1, arg_int(argc, argv, "--repeat", 3));
  const int baseline_layers = arg_int(argc, argv, "--baseline-layers", 2);
  const int baseline_experts = arg_int(argc, argv, "--baseline-experts", 48);

  auto made = hc::synthesize(synth);
  if (!made) {
    std::fprintf(stderr, "synth failed: %s\n", made.error().message.c_str());
    return 1;
  }
  auto bytes = hc::write_stats(made->stats);
  if (!bytes) {
    std::fprintf(stderr, "write failed: %s\n", bytes.error().message.c_str());
    return 1;
  }
  std::printf(
      "file: %d layers x %d experts, %zu edges and up to %d candidate triangles per layer, "
      "%.1f MB\n",
      synth.layers, synth.experts, made->stats.layers[0].edges.size(), synth.max_triangles,
      static_cast<double>(bytes->size()) / 1e6);

  hc::ComplexOptions complex_options;
  hc::SelectionOptions selection;
  selection.ratio = 0.5;
  hc::SelectionOptions averaged = selection;
  averaged.harmonic_target = hc::HarmonicTarget::Expected;
  double best_parse = 1e30, best_decompose = 1e30, best_select = 1e30, best_averaged = 1e30;
  std::size_t filled = 0;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto stats = hc::read_stats(*bytes, "bench");
    const double parse = seconds_since(t0);
    if (!stats) {
      std::fprintf(stderr, "read failed: %s\n", stats.error().message.c_str());
      return 1;
    }
    t0 = std::chrono::steady_clock::now();
    auto analyses = hc::analyze_file(*stats, complex_options);
    const double decompose = seconds_since(t0);
    if (!analyses) {
      std::fprintf(stderr, "decompose failed: %s\n", analyses.error().message.c_str());
      return 1;
    }
    t0 = std::chrono::steady_clock::now();
    auto outcome = hc::select_file(*stats, *analyses, selection, complex_options);
    const double select = seconds_since(t0);
    if (!outcome) {
      std::fprintf(stderr, "select failed: %s\n", outcome.error().message.c_str());
      return 1;
    }
    t0 = std::chrono::steady_clock::now();
    auto averaged_outcome = hc::select_file(*stats, *analyses, averaged, complex_options);
    best_averaged = std::min(best_averaged, seconds_since(t0));
    if (!averaged_outcome) {
      std::fprintf(stderr, "select failed: %s\n", averaged_outcome.error().message.c_str());
      return 1;
    }
    filled = 0;
    for (const auto& a : *analyses) filled += a.complex.filled.size();
    best_parse = std::min(best_parse, parse);
    best_decompose = std::min(best_decompose, decompose);
    best_select = std::min(best_select, select);
  }
  const double total = best_decompose + best_select;
  std::printf("filled triangles: %.0f per layer on average\n",
              static_cast<double>(filled) / synth.layers);
  std::printf("parse                %8.2f ms\n", best_parse * 1e3);
  std::printf("decompose all layers %8.2f ms  (%.2f ms/layer)\n", best_decompose * 1e3,
              best_decompose * 1e3 / synth.layers);
  std::printf("hodgecover select    %8.2f ms\n", best_select * 1e3);
  std::printf("decompose + select   %8.2f ms  (target < 500 ms natively) best of %d\n", total * 1e3,
              repeat);
  std::printf(
      "select, orientation-averaged target %8.2f ms (%.1fx the default selection; the "
      "averaged energies are sampled on layers this full)\n",
      best_averaged * 1e3, best_averaged / std::max(best_select, 1e-9));

  if (baseline_layers > 0) {
    // The dense baseline is cubic in the number of filled triangles (about 40 s for one
    // 128-expert layer), so it runs on smaller layers of the same construction.
    hc::SynthOptions small = synth;
    small.layers = baseline_layers;
    small.experts = baseline_experts;
    small.max_triangles = 1024;
    auto made_small = hc::synthesize(small);
    if (!made_small) return 1;
    double ours = 0, dense = 0, max_diff = 0;
    std::size_t tri = 0;
    for (const hc::LayerStats& layer : made_small->stats.layers) {
      auto t0 = std::chrono::steady_clock::now();
      auto a = hc::analyze_layer(layer, complex_options);
      ours += seconds_since(t0);
      if (!a) return 1;
      t0 = std::chrono::steady_clock::now();
      const Eigen::VectorXd curl = dense_curl(a->complex);
      dense += seconds_since(t0);
      tri += a->complex.filled.size();
      max_diff = std::max(max_diff, (curl - a->hodge.curl).cwiseAbs().maxCoeff());
    }
    const double n = static_cast<double>(baseline_layers);
    std::printf(
        "baseline: dense curl solve on %d layer(s) of %d experts (%.0f filled triangles): "
        "%.1f ms/layer; ours (whole decomposition) %.2f ms/layer; ratio %.0fx; "
        "max |curl difference| %.2e\n",
        baseline_layers, baseline_experts, static_cast<double>(tri) / n, dense * 1e3 / n,
        ours * 1e3 / n, dense / std::max(ours, 1e-12), max_diff);
  }
  return 0;
}
