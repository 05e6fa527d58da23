// The `hodgecover` subcommands: each add_*_command registers its options on the root app and
// returns the function main() runs when that subcommand was chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <ostream>
#include <vector>

#include "hc/analysis.hpp"
#include "hc/native/demo.hpp"
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

// Implemented by the LibTorch build (SPEC §6, §7); main registers them when HC_HAVE_TORCH.
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
