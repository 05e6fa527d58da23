// config.json of a model `hodgecover train` writes: the keys transformers' MixtralConfig,
// OlmoeConfig and Qwen3MoeConfig read, checked against the shape's sizes.
#include <string>

#include "hc/native/train_model.hpp"

namespace hc::native {
namespace {

hc::Error invalid(const std::string& message) {
  return hc::make_error(hc::ErrorCode::InvalidArgument, message);
}

}  // namespace

hc::Result<nlohmann::json> train_config_json(const TrainShape& s) {
  if (s.family != "mixtral" && s.family != "olmoe" && s.family != "qwen3_moe") {
    return invalid("unknown family '" + s.family + "' (expected mixtral, olmoe or qwen3_moe)");
  }
  const auto positive = [](int v) { return v > 0; };
  if (!positive(s.layers)) return invalid("the layer count must be positive");
  if (!positive(s.experts)) return invalid("the expert count must be positive");
  if (!positive(s.top_k)) return invalid("top-k must be positive");
  if (s.top_k > s.experts) {
    return invalid("top-k " + std::to_string(s.top_k) + " exceeds the expert count " +
                   std::to_string(s.experts));
  }
  if (!positive(s.hidden) || !positive(s.intermediate)) {
    return invalid("the hidden and intermediate sizes must be positive");
  }
  if (!positive(s.heads) || !positive(s.kv_heads)) {
    return invalid("the head and key-value head counts must be positive");
  }
  if (s.hidden % s.heads != 0) {
    return invalid("hidden size " + std::to_string(s.hidden) +
                   " is not divisible by the head count " + std::to_string(s.heads));
  }
  if ((s.hidden / s.heads) % 2 != 0)
    return invalid("head_dim (hidden / heads) must be even for RoPE");
  if (s.heads % s.kv_heads != 0) {
    return invalid("head count " + std::to_string(s.heads) +
                   " is not divisible by the key-value head count " + std::to_string(s.kv_heads));
  }
  if (s.vocab < 2) return invalid("the vocabulary must hold at least 2 tokens");

  const int head_dim = s.hidden / s.heads;
  nlohmann::json c = {
      {"vocab_size", s.vocab},
      {"hidden_size", s.hidden},
      {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv_heads},
      {"head_dim", head_dim},
      {"hidden_act", "silu"},
      {"max_position_embeddings", s.max_position_embeddings},
      {"initializer_range", 0.02},
      {"rms_norm_eps", s.rms_norm_eps},
      {"use_cache", true},
      {"pad_token_id", nullptr},
      {"bos_token_id", s.eos_token_id ? nlohmann::json(*s.eos_token_id) : nlohmann::json()},
      {"eos_token_id", s.eos_token_id ? nlohmann::json(*s.eos_token_id) : nlohmann::json()},
      {"tie_word_embeddings", false},
      {"rope_theta", s.rope_theta},
      {"rope_scaling", nullptr},
      {"attention_dropout", 0.0},
      {"num_experts_per_tok", s.top_k},
      {"output_router_logits", false},
      {"router_aux_loss_coef", 0.01},
      {"torch_dtype", "bfloat16"},
      {"transformers_version", "4.46.0"},
  };
  if (s.family == "mixtral") {
    c["model_type"] = "mixtral";
    c["architectures"] = {"MixtralForCausalLM"};
    c["intermediate_size"] = s.intermediate;
    c["num_local_experts"] = s.experts;
    c["sliding_window"] = nullptr;
    c["router_jitter_noise"] = 0.0;
  } else if (s.family == "olmoe") {
    c["model_type"] = "olmoe";
    c["architectures"] = {"OlmoeForCausalLM"};
    c["intermediate_size"] = s.intermediate;  // OLMoE: the expert size
    c["num_experts"] = s.experts;
    c["norm_topk_prob"] = s.norm_topk_prob;
    c["attention_bias"] = false;
    c["clip_qkv"] = nullptr;
  } else {
    c["model_type"] = "qwen3_moe";
    c["architectures"] = {"Qwen3MoeForCausalLM"};
    c["intermediate_size"] = s.intermediate;  // dense MLP size (no dense layers here)
    c["moe_intermediate_size"] = s.intermediate;
    c["num_experts"] = s.experts;
    c["norm_topk_prob"] = s.norm_topk_prob;
    c["decoder_sparse_step"] = 1;
    c["mlp_only_layers"] = nlohmann::json::array();
    c["attention_bias"] = false;
    c["use_sliding_window"] = false;
    c["sliding_window"] = nullptr;
    c["max_window_layers"] = s.layers;
  }
  return c;
}

}  // namespace hc::native
