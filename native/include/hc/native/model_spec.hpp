// MoeModelSpec: one internal description of a sparse-MoE checkpoint (sizes, routing, per-layer
// tensor names) built from config.json by a per-family adapter. Families: docs/FAMILIES.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

class Checkpoint;

// The families of docs/FAMILIES.md. Adding one: an enumerator plus a family_*.cpp adapter
// registered in model_spec.cpp.
enum class Family { Mixtral, Qwen2Moe, Qwen3Moe, Olmoe, DeepseekV2, DeepseekV3, GptOss };
const char* family_model_type(Family family);  // "mixtral", ...

// How router logits become expert weights (docs/FAMILIES.md).
// Every kind breaks top-k ties towards the lower expert index.
enum class RoutingKind {
  SoftmaxTopk,         // softmax over all experts, top-k, renormalise iff norm_topk_prob, x rsf
                       // (DeepSeek-V2 "greedy" is this with norm off and rsf applied)
  GroupLimitedGreedy,  // DeepSeek-V2: softmax; keep topk_group groups by group max; top-k; x rsf
  NoauxTc,             // DeepSeek-V3: sigmoid; select on s + correction bias in the top groups
                       // (group score = sum of its top-2); w = s_S (renormalised iff
                       // norm_topk_prob), x rsf
  TopkSoftmax,         // gpt-oss: logits (+ router bias), top-k, softmax over the k logits
};
const char* routing_kind_name(RoutingKind kind);  // "softmax_topk", ...

enum class AttentionKind {
  Standard,  // q/k/v/o projections with GQA (optionally biases, QK-norm, sinks, sliding window)
  Mla,       // DeepSeek multi-head latent attention (q_lora optional, kv_a/kv_b low-rank)
};

// Expert MLP activation.
enum class ExpertAct {
  Swiglu,         // down(silu(gate x) * up x)
  ClampedSwiglu,  // gpt-oss: g = min(g, L), u = clamp(u, -L, L), down((u + 1) g sigmoid(1.702 g))
};

enum class ExpertLayout {
  PerExpert,  // experts.N.{gate,up,down}_proj.weight (Mixtral: w1, w3, w2)
  Fused,      // experts.gate_up_proj [E, 2I, H] (gate rows first), experts.down_proj [E, H, I]
  FusedInterleaved,  // gpt-oss: gate_up_proj [E, H, 2I] (x @ W; gate = columns 0::2, up = 1::2)
                     // + gate_up_proj_bias [E, 2I], down_proj [E, I, H] + down_proj_bias [E, H]
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
  std::string o_bias;                           // [H]; gpt-oss
  std::string sinks;                            // [heads] learned attention sinks; gpt-oss
  bool sliding = false;                         // sliding-window attention layer (gpt-oss)
  // MLA (AttentionKind::Mla). q_proj holds the full query projection when q_lora_rank == 0.
  std::string q_a_proj, q_a_norm, q_b_proj;     // [r_q, H], [r_q], [heads*qk_head, r_q]
  std::string kv_a_proj, kv_a_norm, kv_b_proj;  // [r_kv+rope, H], [r_kv], [heads*(nope+v), r_kv]
  // MoE layers
  std::string router;                     // [E, H]
  std::string router_bias;                // [E] added to the logits (gpt-oss); empty when none
  std::string correction_bias;            // [E] e_score_correction_bias, selection only (noaux_tc)
  std::vector<MlpNames> experts;          // PerExpert layout, one per expert
  std::string fused_gate_up, fused_down;  // Fused / FusedInterleaved layouts
  std::string fused_gate_up_bias, fused_down_bias;  // FusedInterleaved only
  MlpNames shared_expert;                           // empty names when the family has none
  std::string shared_expert_gate;                   // [1, H]; empty when absent
  // Runtime only (ForwardModel::mask_experts), not read from the config: experts that cannot
  // be routed to. Empty: none masked.
  std::vector<bool> masked_experts;
  // Dense layers
  MlpNames dense;  // intermediate_size
};

struct MoeModelSpec {
  Family family = Family::Mixtral;
  int num_layers = 0, hidden_size = 0, intermediate_size = 0, moe_intermediate_size = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0, vocab_size = 0;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  int max_position_embeddings = 0;  // the context the model was built for (0: not stated)
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
  ExpertAct expert_act = ExpertAct::Swiglu;
  double swiglu_limit = 7.0;  // ClampedSwiglu
  // DeepSeek routing and layer pattern: MoE iff L >= first_k_dense_replace and
  // L % moe_layer_freq == 0. Shared experts: one SwiGLU of n_shared_experts * moe_intermediate.
  int n_group = 1, topk_group = 1;
  double routed_scaling_factor = 1.0;
  int n_shared_experts = 0;
  int first_k_dense_replace = 0, moe_layer_freq = 1;
  // Attention. head_dim is the rotary/attention head size of Standard attention; Mla uses the
  // dims below (qk_head_dim = qk_nope_head_dim + qk_rope_head_dim, softmax scale
  // softmax_scale_factor * qk_head_dim^-0.5) and sets head_dim = qk_rope_head_dim, the rotary
  // dim. q_lora_rank 0: a plain q_proj.
  AttentionKind attention = AttentionKind::Standard;
  int q_lora_rank = 0, kv_lora_rank = 0, qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  // RoPE pairing: false = rotate-half (dims i and i + D/2), true = adjacent pairs (2i, 2i+1) as
  // DeepSeek's complex / rope_interleave form.
  bool rope_interleaved = false;
  // RoPE over the rotary dim D = head_dim: inv_freq [D/2] and the factor that multiplies
  // cos/sin, from rope_parameters / rope_scaling (rope_config.cpp).
  std::string rope_type = "default";  // "default" or "yarn"
  std::vector<double> rope_inv_freq;
  double rope_attention_factor = 1.0;
  double softmax_scale_factor = 1.0;  // DeepSeek-V3 yarn: mscale(factor, mscale_all_dim)^2
  bool attention_sinks = false;       // gpt-oss
  int sliding_window = 0;             // keys j with i - j < sliding_window on sliding layers
  std::string embed_tokens, final_norm, lm_head;  // lm_head empty when tied
  std::vector<LayerSpec> layers;

  std::vector<int> moe_layers() const;
};

// Whether the weights of the selected experts are renormalised to a fixed total, so removing
// other experts cannot change their sum: gpt-oss, and softmax or sigmoid routing with
// norm_topk_prob. DeepSeek-V2's group-limited greedy never renormalises here.
bool routing_renormalizes(const MoeModelSpec& spec);

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

// Sequence length the commands use when --seq-len is not given: 512, or the model's
// max_position_embeddings when that is smaller (so small-context models are not asked to
// extrapolate).
std::size_t default_sequence_length(const MoeModelSpec& spec);

}  // namespace hc::native
