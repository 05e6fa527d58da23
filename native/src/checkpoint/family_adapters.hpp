// Internal to the checkpoint room: the per-family adapters model_spec.cpp dispatches to, and the
// typed config.json access they share.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hc/native/model_spec.hpp"
#include "hc/result.hpp"

namespace hc::native {

namespace detail {
// A Malformed error (a config key missing or invalid), for the adapters' messages.
inline hc::Error malformed(const std::string& message) {
  return hc::make_error(hc::ErrorCode::Malformed, message);
}

// Assigns the value of a Result-returning `expr` to `target`, or returns its error.
#define HC_FILL(target, expr)                \
  do {                                       \
    auto value_ = (expr);                    \
    if (!value_.ok()) return value_.error(); \
    target = *value_;                        \
  } while (0)

// Per-family adapters (family_*.cpp): fill family-specific fields and tensor names.
hc::Status fill_mixtral(const nlohmann::json& config, MoeModelSpec& spec);
hc::Status fill_qwen_olmoe(const nlohmann::json& config, MoeModelSpec& spec);
hc::Status fill_deepseek(const nlohmann::json& config, MoeModelSpec& spec);  // V2 and V3
hc::Status fill_gpt_oss(const nlohmann::json& config, MoeModelSpec& spec);
std::string layer_prefix(int layer);  // "model.layers.L."
// RoPE frequencies from rope_parameters (transformers v5) or rope_scaling: default or yarn;
// other types are refused naming the key. Needs head_dim (the rotary dim) already set.
hc::Status fill_rope(const nlohmann::json& config, MoeModelSpec& spec);
// Typed config access with errors naming the key.
hc::Result<int> config_int(const nlohmann::json& config, const char* key);
hc::Result<int> config_int_or(const nlohmann::json& config, const char* key, int fallback);
hc::Result<double> config_double_or(const nlohmann::json& config, const char* key, double fallback);
hc::Result<bool> config_bool_or(const nlohmann::json& config, const char* key, bool fallback);
hc::Result<std::string> config_string_or(const nlohmann::json& config, const char* key,
                                         const std::string& fallback);
// Fills the attention, norm and dense-MLP names shared by Mixtral, Qwen2/3-MoE and OLMoE.
void fill_common_names(MoeModelSpec& spec, const std::string& moe_prefix, const std::string& gate,
                       const std::string& up, const std::string& down);
}  // namespace detail

}  // namespace hc::native
