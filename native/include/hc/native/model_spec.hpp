// MoeModelSpec: one internal description of a sparse-MoE checkpoint (sizes, routing, per-layer
// tensor names) built from config.json by a per-family adapter. Families: CHECKPOINTS.md §2.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

class Checkpoint;

// Supported so far: the first four of SPEC §8. DeepSeek-V2/V3 and gpt-oss slot in as new
// enumerators plus a family_*.cpp adapter registered in model_spec.cpp.
enum class Family { Mixtral, Qwen2Moe, Qwen3Moe, Olmoe };
const char* family_model_type(Family family);  // "mixtral", ...

// How router logits become expert weights (CHECKPOINTS.md §3).
enum class RoutingKind {
  SoftmaxTopk,  // softmax over all experts, top-k, renormalise iff norm_topk_prob
};

enum class ExpertLayout {
  PerExpert,  // experts.N.{gate,up,down}_proj.weight (Mixtral: w1, w3, w2)
  Fused,      // experts.gate_up_proj [E, 2I, H] (gate rows first), experts.down_proj [E, H, I]
};

// Query-key norm placement.
enum class QkNorm {
  None,
  PerHead,  // q_norm/k_norm weight [head_dim] applied per head (Qwen3-MoE)
  Full,     // q_norm [heads*head_dim], k_norm [kv_heads*head_dim] (OLMoE)
};

struct MlpNames {
  std::string gate, up, down;  // [I, H], [I, H], [H, I]
};

struct LayerSpec {
  int index = 0;
  bool moe = false;
  std::string input_norm, post_attention_norm;  // [H]
  std::string q_proj, k_proj, v_proj, o_proj;   // weights; biases below when present
  std::string q_bias, k_bias, v_bias;           // empty when the family has none
  std::string q_norm, k_norm;                   // empty when qk_norm == None
  // MoE layers
  std::string router;                     // [E, H]
  std::vector<MlpNames> experts;          // PerExpert layout, one per expert
  std::string fused_gate_up, fused_down;  // Fused layout
  MlpNames shared_expert;                 // empty names when the family has none
  std::string shared_expert_gate;         // [1, H]; empty when absent
  // Dense layers
  MlpNames dense;  // intermediate_size
};

struct MoeModelSpec {
  Family family = Family::Mixtral;
  int num_layers = 0, hidden_size = 0, intermediate_size = 0, moe_intermediate_size = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0, vocab_size = 0;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  bool tie_word_embeddings = false, attention_bias = false;
  int num_experts = 0, top_k = 0;
  bool norm_topk_prob = false;
  int shared_expert_intermediate_size = 0;  // 0: no shared expert
  bool shared_expert_gate = false;          // sigmoid gate on the shared expert
  QkNorm qk_norm = QkNorm::None;
  int decoder_sparse_step = 1;
  std::vector<int> mlp_only_layers;
  RoutingKind routing = RoutingKind::SoftmaxTopk;
  ExpertLayout layout = ExpertLayout::PerExpert;
  std::string embed_tokens, final_norm, lm_head;  // lm_head empty when tied
  std::vector<LayerSpec> layers;

  std::vector<int> moe_layers() const;
};

// The supported model_type strings, comma separated, for error messages.
std::string supported_families();

// Builds the spec from config.json alone, for the given expert layout. Errors (Malformed) name
// the missing/invalid key; an unknown model_type lists the supported families.
hc::Result<MoeModelSpec> model_spec_from_config(const nlohmann::json& config,
                                                ExpertLayout layout = ExpertLayout::PerExpert);
// Same, detecting the expert layout from the checkpoint's tensor names.
hc::Result<MoeModelSpec> model_spec_for(const Checkpoint& checkpoint);

struct ExpectedTensor {
  std::string name;
  std::vector<std::uint64_t> shape;
};
// Every tensor the spec requires, with its shape ([out, in] for linear weights).
std::vector<ExpectedTensor> expected_tensors(const MoeModelSpec& spec);

// Checks that every expected tensor exists with the expected shape and a decodable dtype.
// Error: "<name>: expected shape [32, 64], found [32, 48]" (Malformed).
hc::Status validate_checkpoint(const MoeModelSpec& spec, const Checkpoint& checkpoint);

namespace detail {
// Per-family adapters (family_*.cpp): fill family-specific fields and tensor names.
hc::Status fill_mixtral(const nlohmann::json& config, MoeModelSpec& spec);
hc::Status fill_qwen_olmoe(const nlohmann::json& config, MoeModelSpec& spec);
// Typed config access with errors naming the key.
hc::Result<int> config_int(const nlohmann::json& config, const char* key);
hc::Result<int> config_int_or(const nlohmann::json& config, const char* key, int fallback);
hc::Result<double> config_double_or(const nlohmann::json& config, const char* key, double fallback);
hc::Result<bool> config_bool_or(const nlohmann::json& config, const char* key, bool fallback);
// Fills the attention, norm and dense-MLP names shared by all four families.
void fill_common_names(MoeModelSpec& spec, const std::string& moe_prefix, const std::string& gate,
                       const std::string& up, const std::string& down);
}  // namespace detail

}  // namespace hc::native
