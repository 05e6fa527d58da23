// Family adapter for DeepSeek-V2 and DeepSeek-V3 (docs/FAMILIES.md): MLA attention,
// dense first layers, shared experts, grouped routing; defaults follow transformers' configs.
#include <string>

#include "family_adapters.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native::detail {
namespace {

hc::Error unsupported(const std::string& message) {
  return hc::make_error(hc::ErrorCode::InvalidArgument, message);
}

// An optional integer whose explicit null means "none" (0), e.g. q_lora_rank: null in V2-Lite.
hc::Result<int> int_or_null(const nlohmann::json& config, const char* key, int fallback) {
  const auto it = config.find(key);
  if (it == config.end()) return fallback;
  if (it->is_null()) return 0;
  return config_int(config, key);
}

void fill_names(MoeModelSpec& spec) {
  spec.embed_tokens = "model.embed_tokens.weight";
  spec.final_norm = "model.norm.weight";
  spec.lm_head = spec.tie_word_embeddings ? "" : "lm_head.weight";
  spec.layers.clear();
  const bool v3 = spec.family == Family::DeepseekV3;
  for (int l = 0; l < spec.num_layers; ++l) {  // MTP layers (L >= num_hidden_layers) ignored
    LayerSpec layer;
    const std::string p = layer_prefix(l), a = p + "self_attn.", m = p + "mlp.";
    layer.index = l;
    layer.moe = l >= spec.first_k_dense_replace && l % spec.moe_layer_freq == 0;
    layer.input_norm = p + "input_layernorm.weight";
    layer.post_attention_norm = p + "post_attention_layernorm.weight";
    if (spec.q_lora_rank == 0) {
      layer.q_proj = a + "q_proj.weight";
    } else {
      layer.q_a_proj = a + "q_a_proj.weight";
      layer.q_a_norm = a + "q_a_layernorm.weight";
      layer.q_b_proj = a + "q_b_proj.weight";
    }
    layer.kv_a_proj = a + "kv_a_proj_with_mqa.weight";
    layer.kv_a_norm = a + "kv_a_layernorm.weight";
    layer.kv_b_proj = a + "kv_b_proj.weight";
    layer.o_proj = a + "o_proj.weight";
    if (!layer.moe) {
      layer.dense = {m + "gate_proj.weight", m + "up_proj.weight", m + "down_proj.weight"};
      spec.layers.push_back(std::move(layer));
      continue;
    }
    layer.router = m + "gate.weight";
    if (v3) layer.correction_bias = m + "gate.e_score_correction_bias";
    if (spec.layout == ExpertLayout::Fused) {
      layer.fused_gate_up = m + "experts.gate_up_proj";
      layer.fused_down = m + "experts.down_proj";
    } else {
      for (int e = 0; e < spec.num_experts; ++e) {
        const std::string x = m + "experts." + std::to_string(e) + ".";
        layer.experts.push_back(
            {x + "gate_proj.weight", x + "up_proj.weight", x + "down_proj.weight"});
      }
    }
    if (spec.n_shared_experts > 0) {
      layer.shared_expert = {m + "shared_experts.gate_proj.weight",
                             m + "shared_experts.up_proj.weight",
                             m + "shared_experts.down_proj.weight"};
    }
    spec.layers.push_back(std::move(layer));
  }
}

}  // namespace

hc::Status fill_deepseek(const nlohmann::json& config, MoeModelSpec& spec) {
  const bool v3 = spec.family == Family::DeepseekV3;
  HC_FILL(spec.num_experts, config_int(config, "n_routed_experts"));
  HC_FILL(spec.top_k, config_int(config, "num_experts_per_tok"));
  HC_FILL(spec.moe_intermediate_size, config_int(config, "moe_intermediate_size"));
  HC_FILL(spec.n_shared_experts, int_or_null(config, "n_shared_experts", v3 ? 1 : 2));
  spec.shared_expert_intermediate_size = spec.n_shared_experts * spec.moe_intermediate_size;
  HC_FILL(spec.first_k_dense_replace, config_int_or(config, "first_k_dense_replace", v3 ? 3 : 0));
  HC_FILL(spec.moe_layer_freq, config_int_or(config, "moe_layer_freq", 1));
  if (spec.moe_layer_freq == 0) return malformed("config.json: moe_layer_freq must be positive");
  HC_FILL(spec.routed_scaling_factor,
          config_double_or(config, "routed_scaling_factor", v3 ? 2.5 : 1.0));
  HC_FILL(spec.n_group, int_or_null(config, "n_group", v3 ? 8 : 0));
  HC_FILL(spec.topk_group, int_or_null(config, "topk_group", v3 ? 4 : 0));

  if (v3) {
    // transformers' DeepseekV3 router hard-codes sigmoid scoring with the correction bias and
    // grouped top-k; it does not read scoring_func / topk_method.
    spec.routing = RoutingKind::NoauxTc;
    HC_FILL(spec.norm_topk_prob, config_bool_or(config, "norm_topk_prob", true));
    HC_FILL(spec.rope_interleaved, config_bool_or(config, "rope_interleave", true));
  } else {
    std::string method;
    HC_FILL(method, config_string_or(config, "topk_method", "greedy"));
    if (method == "greedy") {
      spec.routing = RoutingKind::SoftmaxTopk;
    } else if (method == "group_limited_greedy") {
      spec.routing = RoutingKind::GroupLimitedGreedy;
    } else {
      return unsupported("config.json: topk_method \"" + method +
                         "\" is not supported for deepseek_v2 (greedy, group_limited_greedy)");
    }
    spec.norm_topk_prob = false;   // transformers' DeepseekV2 never renormalises
    spec.rope_interleaved = true;  // V2 rotates adjacent pairs (complex form)
  }
  const bool grouped = spec.routing != RoutingKind::SoftmaxTopk;
  if (!grouped) {
    spec.n_group = spec.topk_group = 1;
  } else {
    if (spec.n_group == 0 || spec.topk_group == 0 || spec.topk_group > spec.n_group) {
      return malformed(
          "config.json: n_group and topk_group must be positive with "
          "topk_group <= n_group");
    }
    if (spec.num_experts % spec.n_group != 0) {
      return malformed("config.json: n_routed_experts must be a multiple of n_group");
    }
    const int per_group = spec.num_experts / spec.n_group;
    if (v3 && per_group < 2) {
      return malformed("config.json: noaux_tc routing needs at least 2 experts per group");
    }
    if (spec.topk_group * per_group < spec.top_k) {
      return malformed(
          "config.json: topk_group groups hold fewer experts than num_experts_per_tok");
    }
  }

  spec.attention = AttentionKind::Mla;
  HC_FILL(spec.q_lora_rank, int_or_null(config, "q_lora_rank", 1536));
  HC_FILL(spec.kv_lora_rank, config_int_or(config, "kv_lora_rank", 512));
  HC_FILL(spec.qk_nope_head_dim, config_int_or(config, "qk_nope_head_dim", 128));
  HC_FILL(spec.qk_rope_head_dim, config_int_or(config, "qk_rope_head_dim", 64));
  HC_FILL(spec.v_head_dim, config_int_or(config, "v_head_dim", 128));
  if (spec.kv_lora_rank == 0 || spec.qk_rope_head_dim == 0 || spec.qk_rope_head_dim % 2 != 0 ||
      spec.v_head_dim == 0) {
    return malformed(
        "config.json: kv_lora_rank, v_head_dim and an even qk_rope_head_dim must be "
        "positive");
  }
  spec.head_dim = spec.qk_rope_head_dim;  // the rotary dimension, as transformers sets it

  bool flag = false;
  HC_FILL(flag, config_bool_or(config, "attention_bias", false));
  if (flag) return unsupported("config.json: attention_bias true is not supported for DeepSeek");
  HC_FILL(flag, config_bool_or(config, "mlp_bias", false));
  if (flag) return unsupported("config.json: mlp_bias true is not supported for DeepSeek");
  std::string act;
  HC_FILL(act, config_string_or(config, "hidden_act", "silu"));
  if (act != "silu") return unsupported("config.json: hidden_act \"" + act + "\" is not supported");
  fill_names(spec);
  return hc::Ok{};
}

}  // namespace hc::native::detail
