// Fixture checkpoints: config.json per family (docs/FAMILIES.md) plus seeded random weights
// named and shaped by the same MoeModelSpec the reader validates against.
#include "checkpoint_fixture.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace hc::native {

std::optional<Family> family_from_model_type(const std::string& model_type) {
  for (Family f : {Family::Mixtral, Family::Qwen2Moe, Family::Qwen3Moe, Family::Olmoe,
                   Family::DeepseekV2, Family::DeepseekV3, Family::GptOss}) {
    if (model_type == family_model_type(f)) return f;
  }
  return std::nullopt;
}

nlohmann::json fixture_config(Family family, const FixtureSizes& s) {
  nlohmann::json c = {
      {"model_type", family_model_type(family)},
      {"hidden_size", s.hidden},
      {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv_heads},
      {"vocab_size", s.vocab},
      {"num_experts_per_tok", s.top_k},
      {"hidden_act", "silu"},
      {"max_position_embeddings", 4096},
      {"tie_word_embeddings", s.tie_word_embeddings},
      {"torch_dtype", "float32"},
  };
  switch (family) {
    case Family::Mixtral:
      c["architectures"] = {"MixtralForCausalLM"};
      c["num_local_experts"] = s.experts;
      c["intermediate_size"] = s.moe_intermediate;
      c["rms_norm_eps"] = 1e-5;
      c["rope_theta"] = 1e6;
      break;
    case Family::Qwen2Moe:
    case Family::Qwen3Moe:
      c["architectures"] = {family == Family::Qwen2Moe ? "Qwen2MoeForCausalLM"
                                                       : "Qwen3MoeForCausalLM"};
      c["num_experts"] = s.experts;
      c["moe_intermediate_size"] = s.moe_intermediate;
      c["intermediate_size"] = s.intermediate;
      c["decoder_sparse_step"] = 1;
      c["mlp_only_layers"] = s.mlp_only_layers;
      c["rms_norm_eps"] = 1e-6;
      c["rope_theta"] = family == Family::Qwen2Moe ? 1e6 : 1e7;
      if (family == Family::Qwen2Moe) {
        c["shared_expert_intermediate_size"] = s.shared_intermediate;
        c["norm_topk_prob"] = false;
      } else {
        c["head_dim"] = s.hidden / s.heads;
        c["norm_topk_prob"] = true;
        c["attention_bias"] = false;
      }
      break;
    case Family::Olmoe:
      c["architectures"] = {"OlmoeForCausalLM"};
      c["num_experts"] = s.experts;
      c["intermediate_size"] = s.moe_intermediate;
      c["norm_topk_prob"] = false;
      c["rms_norm_eps"] = 1e-5;
      c["rope_theta"] = 10000.0;
      c["clip_qkv"] = nullptr;
      break;
    case Family::DeepseekV2:
    case Family::DeepseekV3: {
      const bool v3 = family == Family::DeepseekV3;
      c["architectures"] = {v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
      c["num_key_value_heads"] = s.heads;  // MLA: every head has its own key
      c["n_routed_experts"] = s.experts;
      c["n_shared_experts"] = s.n_shared_experts;
      c["moe_intermediate_size"] = s.moe_intermediate;
      c["intermediate_size"] = s.intermediate;
      c["first_k_dense_replace"] = s.first_k_dense_replace;
      c["moe_layer_freq"] = 1;
      c["n_group"] = s.n_group;
      c["topk_group"] = s.topk_group;
      c["topk_method"] = v3 ? "noaux_tc" : "group_limited_greedy";
      c["scoring_func"] = v3 ? "sigmoid" : "softmax";
      c["norm_topk_prob"] = v3;
      c["routed_scaling_factor"] = v3 ? 2.5 : 1.5;
      const int q_rank = s.q_lora_rank >= 0 ? s.q_lora_rank : (v3 ? 24 : 0);
      c["q_lora_rank"] = q_rank > 0 ? nlohmann::json(q_rank) : nlohmann::json(nullptr);
      c["kv_lora_rank"] = s.kv_lora_rank;
      c["qk_nope_head_dim"] = s.qk_nope_head_dim;
      c["qk_rope_head_dim"] = s.qk_rope_head_dim;
      c["v_head_dim"] = s.v_head_dim;
      c["attention_bias"] = false;
      c["rms_norm_eps"] = 1e-6;
      c["rope_theta"] = 10000.0;
      if (v3) c["rope_interleave"] = true;
      break;
    }
    case Family::GptOss: {
      c["architectures"] = {"GptOssForCausalLM"};
      c["num_local_experts"] = s.experts;
      c["intermediate_size"] = s.moe_intermediate;
      c["head_dim"] = s.head_dim;
      c["attention_bias"] = true;
      c["sliding_window"] = s.sliding_window;
      std::vector<std::string> types;
      for (int l = 0; l < s.layers; ++l)
        types.push_back(l % 2 == 0 ? "sliding_attention" : "full_attention");
      c["layer_types"] = types;
      c["swiglu_limit"] = 7.0;
      c["router_aux_loss_coef"] = 0.9;
      c["rms_norm_eps"] = 1e-5;
      c["rope_theta"] = 150000.0;
      c["hidden_act"] = "silu";
      break;
    }
  }
  return c;
}

std::vector<TensorToWrite> random_tensors(const MoeModelSpec& spec, std::uint64_t seed,
                                          hc::Dtype dtype) {
  // mt19937_64's output sequence is fixed by the standard (distributions are not): map raw
  // bits to [-1, 1) ourselves.
  std::mt19937_64 rng(seed);
  auto uniform = [&rng] { return float(double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0); };
  std::vector<TensorToWrite> out;
  for (const auto& want : expected_tensors(spec)) {
    TensorToWrite t{want.name, dtype, want.shape, {}};
    std::uint64_t count = 1;
    for (auto d : want.shape) count *= d;
    const bool norm = want.name.find("norm") != std::string::npos;
    t.values.resize(count);
    for (auto& v : t.values) v = norm ? 1.0f + 0.1f * uniform() : 0.1f * uniform();
    out.push_back(std::move(t));
  }
  return out;
}

void quantize_fp8_blocks(std::vector<TensorToWrite>& tensors, std::uint64_t block) {
  std::vector<TensorToWrite> scales;
  for (auto& t : tensors) {
    const bool layer_linear = t.name.rfind("model.layers.", 0) == 0 && t.shape.size() == 2 &&
                              t.name.size() > 7 &&
                              t.name.compare(t.name.size() - 7, 7, ".weight") == 0 &&
                              t.name.find("norm") == std::string::npos &&
                              t.name.find("mlp.gate.weight") == std::string::npos;
    if (!layer_linear) continue;
    const std::uint64_t rows = t.shape[0], cols = t.shape[1];
    const std::uint64_t br = (rows + block - 1) / block, bc = (cols + block - 1) / block;
    TensorToWrite s{t.name + "_scale_inv", hc::Dtype::F32, {br, bc}, std::vector<float>(br * bc)};
    for (std::uint64_t bi = 0; bi < br; ++bi) {
      for (std::uint64_t bj = 0; bj < bc; ++bj) {
        float amax = 0;
        for (std::uint64_t i = bi * block; i < std::min(rows, (bi + 1) * block); ++i)
          for (std::uint64_t j = bj * block; j < std::min(cols, (bj + 1) * block); ++j)
            amax = std::max(amax, std::fabs(t.values[i * cols + j]));
        const float scale = amax > 0 ? amax / 448.0f : 1.0f;
        s.values[bi * bc + bj] = scale;
        for (std::uint64_t i = bi * block; i < std::min(rows, (bi + 1) * block); ++i)
          for (std::uint64_t j = bj * block; j < std::min(cols, (bj + 1) * block); ++j)
            t.values[i * cols + j] /= scale;  // encoded to F8 by the writer
      }
    }
    t.dtype = hc::Dtype::F8_E4M3;
    scales.push_back(std::move(s));
  }
  for (auto& s : scales) tensors.push_back(std::move(s));
}

hc::Status write_random_checkpoint(const std::filesystem::path& dir, Family family,
                                   const FixtureSizes& sizes, std::uint64_t seed, hc::Dtype dtype,
                                   std::uint64_t shard_bytes) {
  nlohmann::json config = fixture_config(family, sizes);
  config["torch_dtype"] = dtype == hc::Dtype::F32   ? "float32"
                          : dtype == hc::Dtype::F16 ? "float16"
                                                    : "bfloat16";
  const bool fp8 = dtype == hc::Dtype::F8_E4M3;
  if (fp8) {
    config["torch_dtype"] = "bfloat16";
    config["quantization_config"] = {{"quant_method", "fp8"},
                                     {"fmt", "e4m3"},
                                     {"activation_scheme", "dynamic"},
                                     {"weight_block_size", {kFixtureFp8Block, kFixtureFp8Block}}};
  }
  auto spec = model_spec_from_config(config);
  if (!spec.ok()) return spec.error();
  CheckpointWriteOptions options;
  options.shard_bytes = shard_bytes;
  auto tensors = random_tensors(*spec, seed, fp8 ? hc::Dtype::BF16 : dtype);
  if (sizes.head_scale != 1.0f) {
    const std::string& head = spec->lm_head.empty() ? spec->embed_tokens : spec->lm_head;
    for (auto& t : tensors)
      if (t.name == head)
        for (auto& v : t.values) v *= sizes.head_scale;
  }
  if (sizes.expert_scale != 1.0f) {
    std::vector<std::string> downs;
    for (const LayerSpec& layer : spec->layers) {
      for (const auto& expert : layer.experts) downs.push_back(expert.down);
      if (!layer.fused_down.empty()) downs.push_back(layer.fused_down);
    }
    for (auto& t : tensors)
      if (std::find(downs.begin(), downs.end(), t.name) != downs.end())
        for (auto& v : t.values) v *= sizes.expert_scale;
  }
  if (fp8) quantize_fp8_blocks(tensors, kFixtureFp8Block);
  return write_checkpoint(dir, config, tensors, options);
}

}  // namespace hc::native
