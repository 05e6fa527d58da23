// Family-independent half of MoeModelSpec: config access, family dispatch, tensor names shared
// by all families, expected shapes and checkpoint validation.
#include "hc/native/model_spec.hpp"
#include "family_adapters.hpp"

#include <algorithm>

#include "hc/native/checkpoint.hpp"
#include "hc/native/dtype_convert.hpp"

namespace hc::native {
namespace {

using detail::malformed;

struct FamilyEntry {
  Family family;
  const char* model_type;
  hc::Status (*fill)(const nlohmann::json&, MoeModelSpec&);
};

// Adding a family: one row here plus its adapter.
const FamilyEntry kFamilies[] = {
    {Family::Mixtral, "mixtral", detail::fill_mixtral},
    {Family::Qwen2Moe, "qwen2_moe", detail::fill_qwen_olmoe},
    {Family::Qwen3Moe, "qwen3_moe", detail::fill_qwen_olmoe},
    {Family::Olmoe, "olmoe", detail::fill_qwen_olmoe},
    {Family::DeepseekV2, "deepseek_v2", detail::fill_deepseek},
    {Family::DeepseekV3, "deepseek_v3", detail::fill_deepseek},
    {Family::GptOss, "gpt_oss", detail::fill_gpt_oss},
};

const nlohmann::json* present(const nlohmann::json& config, const char* key) {
  const auto it = config.find(key);
  return it == config.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

const char* routing_kind_name(RoutingKind kind) {
  switch (kind) {
    case RoutingKind::SoftmaxTopk:
      return "softmax_topk";
    case RoutingKind::GroupLimitedGreedy:
      return "group_limited_greedy";
    case RoutingKind::NoauxTc:
      return "noaux_tc";
    case RoutingKind::TopkSoftmax:
      return "topk_softmax";
  }
  return "unknown";
}

const char* family_model_type(Family family) {
  for (const auto& entry : kFamilies) {
    if (entry.family == family) return entry.model_type;
  }
  return "unknown";
}

std::string supported_families() {
  std::string text;
  for (const auto& entry : kFamilies)
    text += (text.empty() ? "" : ", ") + std::string(entry.model_type);
  return text;
}

std::vector<int> MoeModelSpec::moe_layers() const {
  std::vector<int> out;
  for (const auto& layer : layers) {
    if (layer.moe) out.push_back(layer.index);
  }
  return out;
}

namespace detail {

std::string layer_prefix(int layer) {
  return "model.layers." + std::to_string(layer) + ".";
}

hc::Result<std::string> config_string_or(const nlohmann::json& config, const char* key,
                                         const std::string& fallback) {
  const nlohmann::json* value = present(config, key);
  if (value == nullptr) return fallback;
  if (!value->is_string())
    return malformed(std::string("config.json: ") + key + " must be a string");
  return value->get<std::string>();
}

hc::Result<int> config_int(const nlohmann::json& config, const char* key) {
  const nlohmann::json* value = present(config, key);
  if (value == nullptr) return malformed(std::string("config.json: missing key ") + key);
  if (!value->is_number_integer() || value->get<std::int64_t>() < 0 ||
      value->get<std::int64_t>() > 1'000'000'000) {
    return malformed(std::string("config.json: ") + key + " must be a non-negative integer");
  }
  return static_cast<int>(value->get<std::int64_t>());
}

hc::Result<int> config_int_or(const nlohmann::json& config, const char* key, int fallback) {
  return present(config, key) ? config_int(config, key) : hc::Result<int>(fallback);
}

hc::Result<double> config_double_or(const nlohmann::json& config, const char* key,
                                    double fallback) {
  const nlohmann::json* value = present(config, key);
  if (value == nullptr) return fallback;
  if (!value->is_number())
    return malformed(std::string("config.json: ") + key + " must be a number");
  return value->get<double>();
}

hc::Result<bool> config_bool_or(const nlohmann::json& config, const char* key, bool fallback) {
  const nlohmann::json* value = present(config, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean())
    return malformed(std::string("config.json: ") + key + " must be a boolean");
  return value->get<bool>();
}

void fill_common_names(MoeModelSpec& spec, const std::string& moe_prefix, const std::string& gate,
                       const std::string& up, const std::string& down) {
  spec.embed_tokens = "model.embed_tokens.weight";
  spec.final_norm = "model.norm.weight";
  spec.lm_head = spec.tie_word_embeddings ? "" : "lm_head.weight";
  spec.layers.clear();
  for (int l = 0; l < spec.num_layers; ++l) {
    LayerSpec layer;
    const std::string p = layer_prefix(l);
    layer.index = l;
    const bool dense_listed =
        std::count(spec.mlp_only_layers.begin(), spec.mlp_only_layers.end(), l);
    layer.moe = !dense_listed && spec.num_experts > 0 && (l + 1) % spec.decoder_sparse_step == 0;
    layer.input_norm = p + "input_layernorm.weight";
    layer.post_attention_norm = p + "post_attention_layernorm.weight";
    for (auto [field, name] :
         {std::pair{&layer.q_proj, "q_proj"}, std::pair{&layer.k_proj, "k_proj"},
          std::pair{&layer.v_proj, "v_proj"}, std::pair{&layer.o_proj, "o_proj"}}) {
      *field = p + "self_attn." + name + ".weight";
    }
    if (spec.attention_bias) {
      layer.q_bias = p + "self_attn.q_proj.bias";
      layer.k_bias = p + "self_attn.k_proj.bias";
      layer.v_bias = p + "self_attn.v_proj.bias";
    }
    if (spec.qk_norm != QkNorm::None) {
      layer.q_norm = p + "self_attn.q_norm.weight";
      layer.k_norm = p + "self_attn.k_norm.weight";
    }
    if (!layer.moe) {
      layer.dense = {p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight",
                     p + "mlp.down_proj.weight"};
      spec.layers.push_back(std::move(layer));
      continue;
    }
    const std::string m = p + (spec.layout == ExpertLayout::Fused ? "mlp." : moe_prefix + ".");
    layer.router = m + "gate.weight";
    if (spec.layout == ExpertLayout::Fused) {
      layer.fused_gate_up = m + "experts.gate_up_proj";
      layer.fused_down = m + "experts.down_proj";
    } else {
      for (int e = 0; e < spec.num_experts; ++e) {
        const std::string x = m + "experts." + std::to_string(e) + ".";
        layer.experts.push_back({x + gate + ".weight", x + up + ".weight", x + down + ".weight"});
      }
    }
    if (spec.shared_expert_intermediate_size > 0) {
      layer.shared_expert = {m + "shared_expert.gate_proj.weight",
                             m + "shared_expert.up_proj.weight",
                             m + "shared_expert.down_proj.weight"};
      if (spec.shared_expert_gate) layer.shared_expert_gate = m + "shared_expert_gate.weight";
    }
    spec.layers.push_back(std::move(layer));
  }
}

}  // namespace detail

hc::Result<MoeModelSpec> model_spec_from_config(const nlohmann::json& config, ExpertLayout layout) {
  const nlohmann::json* type = present(config, "model_type");
  if (type == nullptr || !type->is_string()) {
    return malformed("config.json: missing model_type (supported: " + supported_families() + ")");
  }
  const FamilyEntry* entry = nullptr;
  for (const auto& candidate : kFamilies) {
    if (type->get<std::string>() == candidate.model_type) entry = &candidate;
  }
  if (entry == nullptr) {
    return malformed("config.json: unsupported model_type \"" + type->get<std::string>() +
                     "\" (supported: " + supported_families() + ")");
  }
  MoeModelSpec spec;
  spec.family = entry->family;
  spec.layout = layout;
  using detail::config_int;
#define HC_SPEC_INT(field, expr)             \
  do {                                       \
    auto value_ = (expr);                    \
    if (!value_.ok()) return value_.error(); \
    spec.field = *value_;                    \
  } while (0)
  HC_SPEC_INT(num_layers, config_int(config, "num_hidden_layers"));
  HC_SPEC_INT(hidden_size, config_int(config, "hidden_size"));
  HC_SPEC_INT(num_heads, config_int(config, "num_attention_heads"));
  HC_SPEC_INT(num_kv_heads, detail::config_int_or(config, "num_key_value_heads", spec.num_heads));
  HC_SPEC_INT(vocab_size, config_int(config, "vocab_size"));
  HC_SPEC_INT(intermediate_size, config_int(config, "intermediate_size"));
  if (spec.num_heads == 0 || spec.num_kv_heads == 0 || spec.hidden_size == 0) {
    return malformed("config.json: hidden_size and head counts must be positive");
  }
  HC_SPEC_INT(head_dim,
              detail::config_int_or(config, "head_dim", spec.hidden_size / spec.num_heads));
#undef HC_SPEC_INT
  auto eps = detail::config_double_or(config, "rms_norm_eps", 1e-6);
  if (!eps.ok()) return eps.error();
  spec.rms_norm_eps = *eps;
  // transformers v5 moved rope_theta into rope_parameters.
  double theta_default = 10000.0;
  const nlohmann::json* rope = present(config, "rope_parameters");
  if (rope != nullptr && rope->is_object()) {
    auto nested = detail::config_double_or(*rope, "rope_theta", theta_default);
    if (!nested.ok()) return nested.error();
    theta_default = *nested;
  }
  auto theta = detail::config_double_or(config, "rope_theta", theta_default);
  if (!theta.ok()) return theta.error();
  spec.rope_theta = *theta;
  auto max_positions = detail::config_int_or(config, "max_position_embeddings", 0);
  if (!max_positions.ok()) return max_positions.error();
  spec.max_position_embeddings = std::max(0, *max_positions);
  auto tie = detail::config_bool_or(config, "tie_word_embeddings", false);
  if (!tie.ok()) return tie.error();
  spec.tie_word_embeddings = *tie;

  HC_TRY_STATUS(entry->fill(config, spec));
  HC_TRY_STATUS(detail::fill_rope(config, spec));
  // Far above any released model; keeps a corrupt config from asking for absurd name tables.
  if (spec.num_layers > 4096 || spec.num_experts > 65536) {
    return malformed("config.json: implausible num_hidden_layers or expert count");
  }
  if (spec.top_k == 0 || spec.top_k > spec.num_experts) {
    return malformed("config.json: num_experts_per_tok must be between 1 and the expert count");
  }
  return spec;
}

hc::Result<MoeModelSpec> model_spec_for(const Checkpoint& checkpoint) {
  auto spec = model_spec_from_config(checkpoint.config(), ExpertLayout::PerExpert);
  if (!spec.ok()) return spec;
  const auto moe = spec->moe_layers();
  if (moe.empty()) return spec;
  const LayerSpec& first = spec->layers[moe.front()];
  if (spec->layout == ExpertLayout::FusedInterleaved) {
    // The released gpt-oss checkpoints store MXFP4 blocks; only the dequantised (BF16 re-save)
    // layout is read.
    const std::string blocks = first.fused_gate_up + "_blocks";
    if (checkpoint.has(blocks) && !checkpoint.has(first.fused_gate_up)) {
      return hc::make_error(hc::ErrorCode::Malformed,
                            checkpoint.dir().string() + ": " + blocks +
                                ": MXFP4-quantised experts are not supported; use a BF16/F32 "
                                "re-save (experts.gate_up_proj [E, H, 2I])");
    }
    return spec;
  }
  const std::string fused =
      "model.layers." + std::to_string(first.index) + ".mlp.experts.gate_up_proj";
  if (!checkpoint.has(first.experts.front().gate) && checkpoint.has(fused)) {
    return model_spec_from_config(checkpoint.config(), ExpertLayout::Fused);
  }
  return spec;
}

std::vector<ExpectedTensor> expected_tensors(const MoeModelSpec& s) {
  using U = std::uint64_t;
  const U h = s.hidden_size, q = U(s.num_heads) * s.head_dim, kv = U(s.num_kv_heads) * s.head_dim;
  const U e = s.num_experts, i = s.moe_intermediate_size;
  std::vector<ExpectedTensor> out;
  auto add = [&](const std::string& name, std::vector<U> shape) {
    if (!name.empty()) out.push_back({name, std::move(shape)});
  };
  auto add_mlp = [&](const MlpNames& names, U inner) {
    add(names.gate, {inner, h});
    add(names.up, {inner, h});
    add(names.down, {h, inner});
  };
  add(s.embed_tokens, {U(s.vocab_size), h});
  const U heads = s.num_heads, qk_head = U(s.qk_nope_head_dim) + U(s.qk_rope_head_dim);
  for (const auto& layer : s.layers) {
    add(layer.input_norm, {h});
    add(layer.post_attention_norm, {h});
    if (s.attention == AttentionKind::Mla) {
      add(layer.q_proj, {heads * qk_head, h});
      add(layer.q_a_proj, {U(s.q_lora_rank), h});
      add(layer.q_a_norm, {U(s.q_lora_rank)});
      add(layer.q_b_proj, {heads * qk_head, U(s.q_lora_rank)});
      add(layer.kv_a_proj, {U(s.kv_lora_rank) + U(s.qk_rope_head_dim), h});
      add(layer.kv_a_norm, {U(s.kv_lora_rank)});
      add(layer.kv_b_proj, {heads * (U(s.qk_nope_head_dim) + U(s.v_head_dim)), U(s.kv_lora_rank)});
      add(layer.o_proj, {h, heads * U(s.v_head_dim)});
    } else {
      add(layer.q_proj, {q, h});
      add(layer.k_proj, {kv, h});
      add(layer.v_proj, {kv, h});
      add(layer.o_proj, {h, q});
    }
    add(layer.q_bias, {q});
    add(layer.k_bias, {kv});
    add(layer.v_bias, {kv});
    add(layer.o_bias, {h});
    add(layer.sinks, {heads});
    const bool per_head = s.qk_norm == QkNorm::PerHead;
    add(layer.q_norm, {per_head ? U(s.head_dim) : q});
    add(layer.k_norm, {per_head ? U(s.head_dim) : kv});
    if (!layer.moe) {
      add_mlp(layer.dense, U(s.intermediate_size));
      continue;
    }
    add(layer.router, {e, h});
    add(layer.router_bias, {e});
    add(layer.correction_bias, {e});
    for (const auto& expert : layer.experts) add_mlp(expert, i);
    if (s.layout == ExpertLayout::FusedInterleaved) {
      add(layer.fused_gate_up, {e, h, 2 * i});
      add(layer.fused_gate_up_bias, {e, 2 * i});
      add(layer.fused_down, {e, i, h});
      add(layer.fused_down_bias, {e, h});
    } else {
      add(layer.fused_gate_up, {e, 2 * i, h});
      add(layer.fused_down, {e, h, i});
    }
    add_mlp(layer.shared_expert, U(s.shared_expert_intermediate_size));
    add(layer.shared_expert_gate, {1, h});
  }
  add(s.final_norm, {h});
  add(s.lm_head, {U(s.vocab_size), h});
  return out;
}

hc::Status validate_checkpoint(const MoeModelSpec& spec, const Checkpoint& checkpoint) {
  const std::string dir = checkpoint.dir().string();
  for (const auto& want : expected_tensors(spec)) {
    if (!checkpoint.has(want.name)) {
      return malformed(dir + ": missing tensor " + want.name + " (expected shape " +
                       shape_text(want.shape) + ")");
    }
    const auto found = checkpoint.info(want.name);
    if (found->shape != want.shape) {
      return malformed(dir + ": " + want.name + ": expected shape " + shape_text(want.shape) +
                       ", found " + shape_text(found->shape));
    }
    if (!dtype_decodable(found->dtype)) {
      return malformed(dir + ": " + want.name + ": unsupported dtype " +
                       hc::dtype_name(found->dtype));
    }
    if (found->dtype == hc::Dtype::F8_E4M3 && !checkpoint.has(want.name + "_scale_inv")) {
      return malformed(dir + ": " + want.name + ": F8_E4M3 weight without " + want.name +
                       "_scale_inv");
    }
  }
  return hc::Ok{};
}

std::size_t default_sequence_length(const MoeModelSpec& spec) {
  constexpr std::size_t kDefault = 512;
  const int max = spec.max_position_embeddings;
  return max >= 2 && static_cast<std::size_t>(max) < kDefault ? static_cast<std::size_t>(max)
                                                              : kDefault;
}

bool routing_renormalizes(const MoeModelSpec& spec) {
  switch (spec.routing) {
    case RoutingKind::TopkSoftmax:
      return true;
    case RoutingKind::NoauxTc:
    case RoutingKind::SoftmaxTopk:
      return spec.norm_topk_prob;
    case RoutingKind::GroupLimitedGreedy:
      return false;
  }
  return false;
}

}  // namespace hc::native
