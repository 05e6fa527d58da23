// Training of small decoder-only MoE language models (Mixtral, OLMoE, Qwen3-MoE layouts) on
// token ids with LibTorch autograd, using the forward pass's own building blocks, so a written
// checkpoint computes exactly what the trainer computed (hodgecover train).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

struct TrainShape {
  std::string family = "mixtral";  // "mixtral", "olmoe" or "qwen3_moe"
  int layers = 4, experts = 8, top_k = 2, hidden = 128, intermediate = 256;
  int heads = 4, kv_heads = 2;
  int vocab = 1024;
  bool norm_topk_prob = false;  // OLMoE / Qwen3-MoE only; Mixtral always renormalises
  double rope_theta = 10000.0, rms_norm_eps = 1e-5;
  int max_position_embeddings = 4096;  // `hodgecover train` writes its --seq-len here
  std::optional<int> eos_token_id;     // written as bos/eos ids when set
};

// The Hugging Face config.json of `shape` (model_type, architectures and every key the family's
// transformers config reads), or InvalidArgument naming the bad size (unknown family, top-k >
// experts, hidden not divisible by heads, odd head_dim, heads not divisible by kv_heads, ...).
hc::Result<nlohmann::json> train_config_json(const TrainShape& shape);

struct TrainOptions {
  int seq_len = 128, batch = 16, steps = 1000, warmup = -1;  // warmup -1: min(100, steps / 10)
  double lr = 3e-3, min_lr_ratio = 0.1, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95;
  double grad_clip = 1.0;
  double aux_coef = 0.01;  // load-balancing loss weight (1.0 = perfectly balanced per layer)
  std::uint64_t seed = 0;
  // Held-out sequences, cut as `hodgecover eval` cuts them; 0: seq_len (eval's default for a
  // model whose max_position_embeddings is seq_len).
  int eval_seq_len = 0;
  int threads = 1;  // at::set_num_threads; 0 leaves LibTorch's choice
};

struct TrainStep {
  int step = 0, steps = 0;  // step is 1-based
  double loss = 0.0;        // next-token cross entropy of the batch (nats)
  double aux = 0.0;         // load-balancing loss, mean over layers
  double lr = 0.0;
  double seconds = 0.0;  // wall time of this step
};
using TrainProgress = std::function<void(const TrainStep&)>;

struct HeldoutResult {
  double nll = 0.0, perplexity = 0.0;
  std::size_t tokens = 0;  // predicted positions
  // expert_load[layer][e]: share of the top-k assignments that went to expert e (sums to 1).
  std::vector<std::vector<double>> expert_load;
};

struct TrainedModel {
  nlohmann::json config;
  std::map<std::string, std::vector<float>> tensors;  // HF names; values rounded to bf16
  std::map<std::string, std::vector<std::uint64_t>> shapes;
  std::vector<double> losses;  // per step
  std::vector<double> step_seconds;
  double seconds = 0.0;
  HeldoutResult initial, heldout;  // held-out results before training and after (bf16 weights)
};

// Trains on `train_ids` (random windows of seq_len + 1 tokens) and evaluates on `heldout_ids`
// (may be empty: no evaluation). Errors: InvalidArgument for bad shapes/options or too few
// training tokens; NumericalFailure when the loss stops being finite.
hc::Result<TrainedModel> train_model(const TrainShape& shape, const TrainOptions& options,
                                     const std::vector<std::int32_t>& train_ids,
                                     const std::vector<std::int32_t>& heldout_ids,
                                     const TrainProgress& progress = {});

}  // namespace hc::native
