// Compression plans (docs/FORMAT.md): `hodgecover.plan` version 1 JSON, written by `select` and the
// dashboard, read by `apply`.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "hc/result.hpp"
#include "hc/selection.hpp"

namespace hc {

struct Plan {
  std::string method;                                // method name, e.g. "hodgecover"
  nlohmann::json params = nlohmann::json::object();  // every option that produced the plan
  std::map<int, LayerPlan> layers;                   // by transformer layer index
};

// {"format":"hodgecover.plan","version":1,"method":..,"params":{..},
//  "layers":{"L":{"keep":[..],"merge_into":{"dropped":survivor,..}}}}
// merge_into keys are strings (JSON object keys), values integers.
nlohmann::json plan_to_json(const Plan& plan);
// Accepts survivor values as integers or decimal strings. `source` prefixes messages.
Result<Plan> plan_from_json(const nlohmann::json& json, const std::string& source);
Result<Plan> parse_plan(const std::string& text, const std::string& source);

// The options as plan params (method-independent fields included).
nlohmann::json selection_params(const SelectionOptions& options, const ComplexOptions& complex);

}  // namespace hc
