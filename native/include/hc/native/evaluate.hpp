// Held-out evaluation of one or several checkpoints on the same token sequences: perplexity,
// and KL divergence and top-1 agreement relative to the first (reference) model.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

struct ModelEvaluation {
  std::string model;            // the directory as given
  double perplexity = 0.0;      // exp(mean next-token NLL)
  double nll = 0.0;             // mean next-token negative log-likelihood (nats)
  double kl = 0.0;              // mean KL(p_reference || p_model) over the predicted positions
  double top1_agreement = 1.0;  // fraction of positions whose argmax matches the reference
  std::size_t tokens = 0;       // predicted positions (sum of T_s - 1)
  double seconds = 0.0;         // forward time of this model
  // Per sequence, in input order: summed KL to the reference over its predicted positions, and
  // the number of those positions (T_s - 1). For paired resampling of differences between
  // models scored on the same sequences (stats/bootstrap.hpp).
  std::vector<double> sequence_kl;
  std::vector<std::size_t> sequence_tokens;
};

// Progress: (model index, layers done, layers in that model).
using EvalProgress = std::function<void(std::size_t model, int done, int layers)>;

// The reference side of an evaluation, computed once: the reference model's final residual
// streams on the sequences, against which any number of other checkpoints are then scored one
// at a time (so a comparison of many compressed models never holds more than two).
class Evaluator {
 public:
  // Runs `reference` on `sequences` (each needs >= 2 tokens), layer-streamed on `device`.
  // `progress(done, layers)` after each layer. Errors name the directory.
  static hc::Result<Evaluator> open(const std::filesystem::path& reference,
                                    std::vector<std::vector<std::int32_t>> sequences,
                                    at::Device device,
                                    const std::function<void(int, int)>& progress = {});
  Evaluator(Evaluator&&) noexcept;
  Evaluator& operator=(Evaluator&&) noexcept;
  ~Evaluator();

  // The reference's own scores (kl 0, agreement 1).
  const ModelEvaluation& reference() const;
  // Scores `model` against the reference. Its vocabulary size must match.
  hc::Result<ModelEvaluation> evaluate(const std::filesystem::path& model,
                                       const std::function<void(int, int)>& progress = {}) const;

 private:
  struct State;
  explicit Evaluator(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

// Runs every model on `sequences` (each needs >= 2 tokens), layer-streamed on `device`. The
// first model is the reference for kl and top1_agreement (its own are 0 and 1). Models must
// share the vocabulary size. Errors name the model directory.
hc::Result<std::vector<ModelEvaluation>> evaluate_models(
    const std::vector<std::filesystem::path>& models,
    const std::vector<std::vector<std::int32_t>>& sequences, at::Device device,
    const EvalProgress& progress = {});

}  // namespace hc::native
