// Tiny random MoE checkpoints of each supported family, with real config keys and tensor
// names: fixtures for tests and for CLI demos (no model files are committed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hc/native/checkpoint_writer.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native {

struct FixtureSizes {
  int layers = 2, hidden = 32, heads = 4, kv_heads = 2;
  int experts = 8, top_k = 2;
  int moe_intermediate = 16;     // per-expert size
  int intermediate = 48;         // dense-layer MLP (Qwen families with mlp_only_layers)
  int shared_intermediate = 32;  // qwen2_moe shared expert
  int vocab = 64;
  std::vector<int> mlp_only_layers;  // Qwen families only
  bool tie_word_embeddings = false;
  // DeepSeek: dense first layers, groups (n_group > 1, topk_group < n_group), shared experts,
  // MLA dims; q_lora_rank -1 picks the family's fixture default (V2: none, V3: 24).
  int first_k_dense_replace = 1, n_group = 4, topk_group = 2, n_shared_experts = 1;
  int q_lora_rank = -1, kv_lora_rank = 16, qk_nope_head_dim = 8, qk_rope_head_dim = 4,
      v_head_dim = 8;
  // gpt-oss: head size and window (short, so a 9-token test crosses it).
  int head_dim = 8, sliding_window = 4;
  // Multiplies the LM-head rows (the tied embedding when tied): the default's small random
  // weights give nearly flat next-token distributions; a scale of a few units per sqrt(H)
  // makes them peaked like a trained model's (bench/README.md, the 32k fixture).
  float head_scale = 1.0f;
  // Multiplies the routed experts' down projections: below 1, merging two experts moves the
  // residual stream as little as in a trained model (the default's random experts move it a
  // lot: pair barriers of ~0.4 nats per token against ~0.01 in the bundled models).
  float expert_scale = 1.0f;
};

// Parses "mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek_v2", "deepseek_v3",
// "gpt_oss"; nullopt otherwise.
std::optional<Family> family_from_model_type(const std::string& model_type);

// config.json of a tiny model of `family` with the keys that family's transformers config uses.
nlohmann::json fixture_config(Family family, const FixtureSizes& sizes);

// Deterministic random tensors for every tensor the spec expects (norm weights near 1,
// everything else small and centred). Same seed, same values on every platform.
std::vector<TensorToWrite> random_tensors(const MoeModelSpec& spec, std::uint64_t seed,
                                          hc::Dtype dtype);

// DeepSeek-V3 style block FP8 (docs/FAMILIES.md): every 2-D linear weight of a decoder layer
// except the router becomes F8_E4M3 values q with W = q * S[i / block][j / block], where S
// (`<name>_scale_inv`, F32) is each block's max |W| / 448. Other tensors are left as they are.
void quantize_fp8_blocks(std::vector<TensorToWrite>& tensors, std::uint64_t block);
inline constexpr std::uint64_t kFixtureFp8Block = 8;  // small, so tiny weights span blocks

// Writes the fixture checkpoint (see write_checkpoint for sharding and atomicity). dtype
// F8_E4M3 writes BF16 tensors with block-FP8 layer weights (quantize_fp8_blocks, block
// kFixtureFp8Block) and the matching quantization_config.
hc::Status write_random_checkpoint(const std::filesystem::path& dir, Family family,
                                   const FixtureSizes& sizes, std::uint64_t seed,
                                   hc::Dtype dtype = hc::Dtype::F32, std::uint64_t shard_bytes = 0);

}  // namespace hc::native
