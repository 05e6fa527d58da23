// `hodgecover demo`: the README's main job. With LibTorch it runs end to end on the bundled
// trained model (extract → decompose → compare every method × ratio × Wanda → report); without,
// or with --synthetic, on a synthetic statistics file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace hc::native {

struct ModelDemoArgs {
  std::string model;        // empty: the bundled default (bundled_models_dir() / kDefaultModel)
  std::string calibration;  // empty: bundled data/calibration.txt
  std::string heldout;      // empty: bundled data/heldout.txt
  std::string out = "demo-out";
  std::string device = "auto";
  std::size_t tokens = 4096;       // calibration tokens for extract
  std::size_t eval_tokens = 8192;  // held-out tokens for each evaluation
  std::size_t seq_len = 0;         // 0: default_sequence_length of the model
  int max_triangles = 1024;
  std::vector<double> ratios{0.25, 0.5, 0.75};
  double wanda = 0.5;
  std::string checkpoints = "best";
  bool json = false;
};

inline constexpr const char* kDefaultModel = "tiny-olmoe";

// Where the bundled models live: $HODGECOVER_MODELS if set, else the source tree's models/.
std::filesystem::path bundled_models_dir();

// Runs the model demo (LibTorch build only); returns the exit code, throws CommandFailure.
int run_model_demo(const ModelDemoArgs& args);

using ModelDemoRunner = std::function<int(const ModelDemoArgs&)>;

}  // namespace hc::native
