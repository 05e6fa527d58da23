// RoPE frequencies from config.json: the default table, or YaRN as transformers v5 computes it
// (_compute_yarn_parameters: blended inv_freq, cos/sin attention factor; DeepSeek-V3 also scales
// the softmax by mscale(factor, mscale_all_dim)^2). Other RoPE types are refused by name.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "family_adapters.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native::detail {
namespace {

// A number from `params`, `fallback` when absent, null or 0 (transformers' `x or default`).
hc::Result<double> number_or(const nlohmann::json& params, const std::string& where,
                             const char* key, double fallback, bool zero_is_absent) {
  const auto it = params.find(key);
  if (it == params.end() || it->is_null()) return fallback;
  if (!it->is_number()) return malformed("config.json: " + where + "." + key + " must be a number");
  const double value = it->get<double>();
  return zero_is_absent && value == 0.0 ? fallback : value;
}

double yarn_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

#define HC_GET(target, expr)                 \
  do {                                       \
    auto value_ = (expr);                    \
    if (!value_.ok()) return value_.error(); \
    target = *value_;                        \
  } while (0)

}  // namespace

hc::Status fill_rope(const nlohmann::json& config, MoeModelSpec& spec) {
  // transformers v5 writes rope_parameters (with rope_type); older configs rope_scaling.
  const nlohmann::json* params = nullptr;
  std::string where, type_key;
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) continue;
    if (!it->is_object())
      return malformed(std::string("config.json: ") + key + " must be an object");
    for (const char* field : {"rope_type", "type"}) {
      if (it->contains(field) && !(*it)[field].is_null()) {
        params = &*it;
        where = key;
        type_key = field;
        break;
      }
    }
    if (params != nullptr) break;
  }
  std::string type = "default";
  if (params != nullptr) {
    if (!(*params)[type_key].is_string()) {
      return malformed("config.json: " + where + "." + type_key + " must be a string");
    }
    type = (*params)[type_key].get<std::string>();
  }
  const int dim = spec.head_dim;
  if (dim <= 0 || dim % 2 != 0) return malformed("config.json: the rotary dimension must be even");
  spec.rope_type = type;
  spec.rope_inv_freq.resize(std::size_t(dim / 2));
  for (int i = 0; i < dim / 2; ++i)
    spec.rope_inv_freq[std::size_t(i)] = std::pow(spec.rope_theta, -2.0 * i / dim);
  if (type == "default") return hc::Ok{};
  const std::string named = "config.json: " + where + "." + type_key + " \"" + type + "\"";
  if (type != "yarn") {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          named + " is not supported (default and yarn are implemented)");
  }
  if (spec.family == Family::DeepseekV2) {
    // transformers' DeepseekV2 drops the mscale^2 softmax factor that DeepSeek's own code
    // applies; until parity decides which to follow, refuse rather than guess.
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          named + " is not supported for deepseek_v2");
  }

  int max_positions = 0;
  HC_GET(max_positions, config_int_or(config, "max_position_embeddings", 0));
  double original = 0;
  HC_GET(original, number_or(*params, where, "original_max_position_embeddings",
                             double(max_positions), false));
  if (original <= 0) {
    return malformed("config.json: yarn needs " + where +
                     ".original_max_position_embeddings or max_position_embeddings");
  }
  double factor = 0, attention = 0, mscale = 0, mscale_all_dim = 0, beta_fast = 0, beta_slow = 0;
  HC_GET(factor, number_or(*params, where, "factor", double(max_positions) / original, false));
  if (!(factor > 0)) return malformed("config.json: " + where + ".factor must be positive");
  HC_GET(mscale, number_or(*params, where, "mscale", 0.0, false));
  HC_GET(mscale_all_dim, number_or(*params, where, "mscale_all_dim", 0.0, false));
  HC_GET(attention, number_or(*params, where, "attention_factor", 0.0, false));
  const bool explicit_attention =
      params->contains("attention_factor") && !(*params)["attention_factor"].is_null();
  if (!explicit_attention) {
    attention = mscale != 0.0 && mscale_all_dim != 0.0
                    ? yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim)
                    : yarn_mscale(factor, 1.0);
  }
  HC_GET(beta_fast, number_or(*params, where, "beta_fast", 32.0, true));
  HC_GET(beta_slow, number_or(*params, where, "beta_slow", 1.0, true));
  bool truncate = true;
  if (params->contains("truncate") && !(*params)["truncate"].is_null()) {
    if (!(*params)["truncate"].is_boolean()) {
      return malformed("config.json: " + where + ".truncate must be a boolean");
    }
    truncate = (*params)["truncate"].get<bool>();
  }

  // Dimension index at which a frequency completes `rotations` turns over the original context.
  auto correction_dim = [&](double rotations) {
    return dim * std::log(original / (rotations * 2.0 * std::numbers::pi)) /
           (2.0 * std::log(spec.rope_theta));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, double(dim - 1));
  if (low == high) high += 0.001;
  for (int i = 0; i < dim / 2; ++i) {
    const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    const double extrapolation = 1.0 - ramp;  // weight of the unscaled frequency
    const double base = spec.rope_inv_freq[std::size_t(i)];
    spec.rope_inv_freq[std::size_t(i)] =
        base / factor * (1.0 - extrapolation) + base * extrapolation;
  }
  spec.rope_attention_factor = attention;
  if (spec.family == Family::DeepseekV3 && mscale_all_dim != 0.0) {
    const double m = yarn_mscale(factor, mscale_all_dim);
    spec.softmax_scale_factor = m * m;
  }
  return hc::Ok{};
}

#undef HC_GET

}  // namespace hc::native::detail
