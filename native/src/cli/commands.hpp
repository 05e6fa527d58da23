// The `hodgecover` subcommands: each add_*_command registers its options on the root app and
// returns the function main() runs when that subcommand was chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <ostream>
#include <vector>

#include "demo.hpp"
#include "hc/analysis.hpp"
#include "hc/selection.hpp"

#ifndef HC_HAVE_TORCH
#define HC_HAVE_TORCH 0
#endif

namespace hc::native {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit code; main wraps it in run_guarded
};

Command add_info_command(CLI::App& root);
Command add_decompose_command(CLI::App& root);
Command add_select_command(CLI::App& root);
Command add_synth_command(CLI::App& root);
// model_demo runs the end-to-end demo (LibTorch builds); empty: only the synthetic one.
Command add_demo_command(CLI::App& root, ModelDemoRunner model_demo);
Command add_apply_command(CLI::App& root);

// One-line summaries of the commands that need LibTorch: the light `hodgecover` lists them in
// its --help and hands them to the `hodgecover-torch` helper, which registers them for real.
inline constexpr const char* kExtractSummary =
    "Run calibration text through a checkpoint and write its statistics file";
inline constexpr const char* kEvalSummary =
    "Perplexity of a checkpoint, and KL / top-1 agreement of others against it";
inline constexpr const char* kCompareSummary =
    "Every method x removal ratio x Wanda: apply, evaluate, and write a markdown + JSON table";
inline constexpr const char* kTrainSummary =
    "Train a small MoE language model and write it as a Hugging Face checkpoint";
inline constexpr const char* kDemoSummary =
    "Run the default job end to end on the bundled trained model: extract, decompose, "
    "compare every method x ratio x Wanda, report";

// Implemented by the LibTorch helper (docs/CLI.md); its main registers them (HC_HAVE_TORCH).
Command add_eval_command(CLI::App& root);
Command add_extract_command(CLI::App& root);
Command add_compare_command(CLI::App& root);
Command add_train_command(CLI::App& root);  // cmd_train.cpp

// Readable per-layer decomposition table (shared by decompose and demo).
void print_decomposition_table(std::ostream& out, const std::vector<hc::LayerAnalysis>& analyses);

// Mean retained masses of several methods under one budget, one row per method (shared by
// `select --compare` and demo).
struct MethodRetained {
  hc::Method method;
  hc::RetainedMasses mean;
};
void print_retained_table(std::ostream& out, const std::vector<MethodRetained>& rows);

}  // namespace hc::native
