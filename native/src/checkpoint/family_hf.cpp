// Family adapters for Mixtral, Qwen2-MoE, Qwen3-MoE and OLMoE (docs/FAMILIES.md):
// config keys and defaults per family; the shared naming lives in model_spec.cpp.
#include <string>

#include "family_adapters.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native::detail {
hc::Status fill_mixtral(const nlohmann::json& config, MoeModelSpec& spec) {
  HC_FILL(spec.num_experts, config_int(config, "num_local_experts"));
  HC_FILL(spec.top_k, config_int(config, "num_experts_per_tok"));
  spec.moe_intermediate_size = spec.intermediate_size;  // every layer is MoE
  spec.norm_topk_prob = true;                           // softmax -> top-k -> renormalise, always
  spec.routing = RoutingKind::SoftmaxTopk;
  fill_common_names(spec, "block_sparse_moe", "w1", "w3", "w2");
  return hc::Ok{};
}

hc::Status fill_qwen_olmoe(const nlohmann::json& config, MoeModelSpec& spec) {
  // transformers v5 writes Qwen3-MoE's expert count as num_local_experts (seen in configs saved
  // by transformers 5.17); older releases and Qwen2-MoE/OLMoE use num_experts.
  const bool v5_key = !config.contains("num_experts") && config.contains("num_local_experts");
  HC_FILL(spec.num_experts, config_int(config, v5_key ? "num_local_experts" : "num_experts"));
  HC_FILL(spec.top_k, config_int(config, "num_experts_per_tok"));
  HC_FILL(spec.norm_topk_prob, config_bool_or(config, "norm_topk_prob", false));
  spec.routing = RoutingKind::SoftmaxTopk;
  if (spec.family == Family::Olmoe) {
    // intermediate_size is the expert size; every layer is MoE.
    spec.moe_intermediate_size = spec.intermediate_size;
    spec.qk_norm = QkNorm::Full;
    HC_FILL(spec.attention_bias, config_bool_or(config, "attention_bias", false));
  } else {
    HC_FILL(spec.moe_intermediate_size, config_int(config, "moe_intermediate_size"));
    HC_FILL(spec.decoder_sparse_step, config_int_or(config, "decoder_sparse_step", 1));
    if (spec.decoder_sparse_step == 0) {
      return malformed("config.json: decoder_sparse_step must be positive");
    }
    const auto only = config.find("mlp_only_layers");
    if (only != config.end() && !only->is_null()) {
      if (!only->is_array()) return malformed("config.json: mlp_only_layers must be a list");
      for (const auto& v : *only) {
        if (!v.is_number_integer()) {
          return malformed("config.json: mlp_only_layers must hold layer indices");
        }
        spec.mlp_only_layers.push_back(v.get<int>());
      }
    }
    if (spec.family == Family::Qwen2Moe) {
      spec.attention_bias = true;  // Qwen2 attention always has q/k/v biases
      HC_FILL(spec.shared_expert_intermediate_size,
              config_int(config, "shared_expert_intermediate_size"));
      spec.shared_expert_gate = spec.shared_expert_intermediate_size > 0;
    } else {
      spec.qk_norm = QkNorm::PerHead;
      HC_FILL(spec.attention_bias, config_bool_or(config, "attention_bias", false));
    }
  }
  fill_common_names(spec, "mlp", "gate_proj", "up_proj", "down_proj");
  return hc::Ok{};
}

}  // namespace hc::native::detail
