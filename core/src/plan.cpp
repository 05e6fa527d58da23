// Compression plans (`hodgecover.plan` version 1, docs/FORMAT.md): JSON writer, validating reader,
// and the selection options recorded as plan params.
#include "hc/plan.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>

namespace hc {
namespace {

constexpr const char* kPlanFormat = "hodgecover.plan";
constexpr int kPlanVersion = 1;

// Decimal, no sign, no padding ("0", "17"; not "017", "+1", "1.0"), fitting an int. The same
// spelling rule as the statistics file's layer names, so a plan key names exactly one layer.
std::optional<int> parse_index(const std::string& s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::int64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > INT_MAX) return std::nullopt;
  return static_cast<int>(value);
}

// A non-negative JSON integer that fits an int (floats such as 3.0 are refused: ids are ints).
std::optional<int> json_index(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(INT_MAX)) return static_cast<int>(v);
  } else if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v >= 0 && v <= INT_MAX) return static_cast<int>(v);
  }
  return std::nullopt;
}

Result<LayerPlan> layer_from_json(const nlohmann::json& j, int layer, const std::string& where) {
  auto corrupt = [&](const std::string& what) {
    return make_error(ErrorCode::Corrupt, where + what);
  };
  if (!j.is_object()) return corrupt("must be an object");
  LayerPlan plan;
  plan.layer = layer;

  const auto keep = j.find("keep");
  if (keep == j.end()) return corrupt("missing \"keep\"");
  if (!keep->is_array()) return corrupt("\"keep\" must be an array of expert ids");
  if (keep->empty()) return corrupt("\"keep\" is empty: a layer must keep at least one expert");
  for (const auto& item : *keep) {
    const std::optional<int> id = json_index(item);
    if (!id) return corrupt("\"keep\" holds " + item.dump() + ", not a non-negative integer");
    if (!plan.keep.empty() && *id <= plan.keep.back())
      return corrupt("\"keep\" must be strictly ascending (" + std::to_string(*id) + " after " +
                     std::to_string(plan.keep.back()) + ")");
    plan.keep.push_back(*id);
  }

  const auto merge = j.find("merge_into");
  if (merge == j.end()) return plan;
  if (!merge->is_object()) return corrupt("\"merge_into\" must be an object");
  auto kept = [&](int id) { return std::binary_search(plan.keep.begin(), plan.keep.end(), id); };
  for (const auto& [key, value] : merge->items()) {
    const std::optional<int> dropped = parse_index(key);
    if (!dropped) return corrupt("\"merge_into\" key \"" + key + "\" is not an expert id");
    if (kept(*dropped))
      return corrupt("\"merge_into\" lists expert " + key + " as dropped, but it is kept");
    std::optional<int> survivor =
        value.is_string() ? parse_index(value.get<std::string>()) : json_index(value);
    if (!survivor)
      return corrupt("\"merge_into\"[\"" + key + "\"] = " + value.dump() + " is not an expert id");
    if (!kept(*survivor))
      return corrupt("\"merge_into\" merges expert " + key + " into " + std::to_string(*survivor) +
                     ", which is not kept");
    plan.merge_into[*dropped] = *survivor;
  }
  return plan;
}

}  // namespace

nlohmann::json plan_to_json(const Plan& plan) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [index, layer] : plan.layers) {
    nlohmann::json merge = nlohmann::json::object();
    for (const auto& [dropped, survivor] : layer.merge_into)
      merge[std::to_string(dropped)] = survivor;
    layers[std::to_string(index)] = {{"keep", layer.keep}, {"merge_into", merge}};
  }
  return {{"format", kPlanFormat},
          {"version", kPlanVersion},
          {"method", plan.method},
          {"params", plan.params.is_object() ? plan.params : nlohmann::json::object()},
          {"layers", layers}};
}

Result<Plan> plan_from_json(const nlohmann::json& json, const std::string& source) {
  const std::string where = source + ": ";
  auto corrupt = [&](const std::string& what) {
    return make_error(ErrorCode::Corrupt, where + what);
  };
  if (!json.is_object())
    return make_error(ErrorCode::Malformed, where + "plan is not a JSON object");

  const auto format = json.find("format");
  if (format == json.end() || !format->is_string())
    return corrupt("missing \"format\" (expected \"" + std::string(kPlanFormat) + "\")");
  if (format->get<std::string>() != kPlanFormat)
    return corrupt("format is \"" + format->get<std::string>() + "\", not \"" + kPlanFormat + "\"");

  const auto version = json.find("version");
  if (version == json.end()) return corrupt("missing \"version\"");
  if (!version->is_number_integer())
    return corrupt("\"version\" must be an integer, got " + version->dump());
  const bool too_new = version->is_number_unsigned() ? version->get<std::uint64_t>() >
                                                           static_cast<std::uint64_t>(kPlanVersion)
                                                     : version->get<std::int64_t>() > kPlanVersion;
  if (too_new)
    return corrupt("plan version " + version->dump() + " is newer than this reader (version " +
                   std::to_string(kPlanVersion) + "); update hodgecover");
  if (version->get<std::int64_t>() < 1)
    return corrupt("plan version " + version->dump() + " is invalid (versions start at 1)");

  Plan plan;
  const auto method = json.find("method");
  if (method == json.end() || !method->is_string() || method->get<std::string>().empty())
    return corrupt("missing or empty \"method\" string");
  plan.method = method->get<std::string>();

  const auto params = json.find("params");
  if (params != json.end()) {
    if (!params->is_object()) return corrupt("\"params\" must be an object");
    plan.params = *params;
  }

  const auto layers = json.find("layers");
  if (layers == json.end() || !layers->is_object()) return corrupt("missing \"layers\" object");
  if (layers->empty()) return corrupt("\"layers\" is empty");
  for (const auto& [key, value] : layers->items()) {
    const std::optional<int> layer = parse_index(key);
    if (!layer)
      return corrupt("layer key \"" + key + "\" is not a decimal layer index (like \"0\", \"12\")");
    Result<LayerPlan> parsed = layer_from_json(value, *layer, where + "layer " + key + ": ");
    if (!parsed) return parsed.error();
    plan.layers[*layer] = std::move(*parsed);
  }
  return plan;
}

Result<Plan> parse_plan(const std::string& text, const std::string& source) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded())
    return make_error(ErrorCode::Malformed, source + ": not valid JSON (cannot parse the plan)");
  return plan_from_json(json, source);
}

nlohmann::json selection_params(const SelectionOptions& o, const ComplexOptions& c) {
  const bool merge = o.method == Method::HcSmoe || o.mode == ReductionMode::Merge;
  nlohmann::json params = {
      {"method", method_name(o.method)},
      {"keep", o.keep >= 0 ? nlohmann::json(o.keep) : nlohmann::json(nullptr)},
      {"ratio", o.ratio},
      {"seed", o.seed},
      {"rho_h", o.rho_h},
      {"rho_t", o.rho_t},
      {"cover_tri", o.cover_tri},
      {"lambda_e", o.lambda_e},
      {"lambda_t", o.lambda_t},
      {"lambda_v", o.lambda_v},
      {"vertex_score", vertex_score_name(o.vertex_score)},
      {"triangle_credit", o.triangle_credit == TriangleCredit::Binary ? "binary" : "partial"},
      {"harmonic_target", harmonic_target_name(o.harmonic_target)},
      {"mode", reduction_mode_name(merge ? ReductionMode::Merge : ReductionMode::Prune)},
      {"tau_quantile", c.tau_quantile},
      {"tau", c.tau ? nlohmann::json(*c.tau) : nlohmann::json(nullptr)},
      {"orientation", orientation_name(c.orientation)},
      {"edges", c.edges == EdgeMode::Threshold ? "threshold" : "complete"},
      {"fill", c.fill == FillRule::Sum ? "sum" : "tau"},
  };
  // Recorded only when not the default, so plans of barrier-signal runs keep their form.
  if (c.signal != EdgeSignal::Barrier) params["signal"] = edge_signal_name(c.signal);
  return params;
}

}  // namespace hc
