// Family adapter for gpt-oss (docs/FAMILIES.md): biased attention with learned sinks and
// per-layer sliding windows, biased router, fused interleaved experts with biases.
#include <string>

#include "family_adapters.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native::detail {
namespace {

// layer_types from the config, or transformers' default (even layers sliding, odd full).
hc::Result<std::vector<bool>> sliding_layers(const nlohmann::json& config, int layers) {
  std::vector<bool> sliding(static_cast<std::size_t>(layers));
  const auto it = config.find("layer_types");
  if (it == config.end() || it->is_null()) {
    for (int l = 0; l < layers; ++l) sliding[std::size_t(l)] = (l + 1) % 2 != 0;
    return sliding;
  }
  if (!it->is_array() || int(it->size()) < layers) {
    return malformed("config.json: layer_types must list one type per layer");
  }
  for (int l = 0; l < layers; ++l) {
    const auto& type = (*it)[std::size_t(l)];
    if (type == "sliding_attention") {
      sliding[std::size_t(l)] = true;
    } else if (type != "full_attention") {
      return malformed("config.json: layer_types[" + std::to_string(l) +
                       "] must be \"sliding_attention\" or \"full_attention\"");
    }
  }
  return sliding;
}

}  // namespace

hc::Status fill_gpt_oss(const nlohmann::json& config, MoeModelSpec& spec) {
  HC_FILL(spec.num_experts, config_int(config, "num_local_experts"));
  // The released config.json also carries experts_per_token; transformers reads
  // num_experts_per_tok.
  const bool has_k = config.contains("num_experts_per_tok");
  HC_FILL(spec.top_k, config_int(config, has_k ? "num_experts_per_tok" : "experts_per_token"));
  spec.moe_intermediate_size = spec.intermediate_size;  // every layer is MoE
  spec.routing = RoutingKind::TopkSoftmax;
  spec.layout = ExpertLayout::FusedInterleaved;
  spec.expert_act = ExpertAct::ClampedSwiglu;
  HC_FILL(spec.swiglu_limit, config_double_or(config, "swiglu_limit", 7.0));
  HC_FILL(spec.attention_bias, config_bool_or(config, "attention_bias", true));
  spec.attention_sinks = true;
  HC_FILL(spec.sliding_window, config_int_or(config, "sliding_window", 128));
  std::vector<bool> sliding;
  HC_FILL(sliding, sliding_layers(config, spec.num_layers));
  if (spec.head_dim % 2 != 0) return malformed("config.json: head_dim must be even");

  spec.embed_tokens = "model.embed_tokens.weight";
  spec.final_norm = "model.norm.weight";
  spec.lm_head = spec.tie_word_embeddings ? "" : "lm_head.weight";
  spec.layers.clear();
  for (int l = 0; l < spec.num_layers; ++l) {
    LayerSpec layer;
    const std::string p = layer_prefix(l), a = p + "self_attn.", m = p + "mlp.";
    layer.index = l;
    layer.moe = true;
    layer.sliding = sliding[std::size_t(l)] && spec.sliding_window > 0;
    layer.input_norm = p + "input_layernorm.weight";
    layer.post_attention_norm = p + "post_attention_layernorm.weight";
    layer.q_proj = a + "q_proj.weight";
    layer.k_proj = a + "k_proj.weight";
    layer.v_proj = a + "v_proj.weight";
    layer.o_proj = a + "o_proj.weight";
    if (spec.attention_bias) {
      layer.q_bias = a + "q_proj.bias";
      layer.k_bias = a + "k_proj.bias";
      layer.v_bias = a + "v_proj.bias";
      layer.o_bias = a + "o_proj.bias";
    }
    layer.sinks = a + "sinks";
    layer.router = m + "router.weight";
    layer.router_bias = m + "router.bias";
    layer.fused_gate_up = m + "experts.gate_up_proj";
    layer.fused_gate_up_bias = m + "experts.gate_up_proj_bias";
    layer.fused_down = m + "experts.down_proj";
    layer.fused_down_bias = m + "experts.down_proj_bias";
    spec.layers.push_back(std::move(layer));
  }
  return hc::Ok{};
}

}  // namespace hc::native::detail
