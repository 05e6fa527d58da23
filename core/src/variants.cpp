// Parses `compare --variants` files into named selection variants, validating every value.
#include "hc/variants.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace hc {
namespace {

Error bad(const std::string& source, const std::string& what) {
  return make_error(ErrorCode::InvalidArgument, source + ": " + what);
}

bool safe_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' ||
          c == '-'))
      return false;
  return true;
}

// Applies one key of a variant object; false (with `error` set) when the key or value is bad.
Status apply_key(const std::string& key, const nlohmann::json& value, Variant& v) {
  auto number = [&](double& out) -> Status {
    if (!value.is_number() || !std::isfinite(value.get<double>()))
      return make_error(ErrorCode::InvalidArgument, "\"" + key + "\" must be a finite number");
    out = value.get<double>();
    return Ok{};
  };
  auto text = [&]() -> Result<std::string> {
    if (!value.is_string())
      return make_error(ErrorCode::InvalidArgument, "\"" + key + "\" must be a string");
    return value.get<std::string>();
  };
  SelectionOptions& s = v.selection;
  ComplexOptions& c = v.complex;
  if (key == "rho_h") return number(s.rho_h);
  if (key == "rho_t") return number(s.rho_t);
  if (key == "lambda_e") return number(s.lambda_e);
  if (key == "lambda_t") return number(s.lambda_t);
  if (key == "lambda_v") return number(s.lambda_v);
  if (key == "output_scale") {
    HC_TRY_STATUS(number(v.output_scale));
    if (!(v.output_scale > 0.0 && v.output_scale <= 10.0))
      return make_error(ErrorCode::InvalidArgument, "\"output_scale\" must lie in (0, 10]");
    return Ok{};
  }
  if (key == "gate_correction") {
    auto t = text();
    if (!t) return t.error();
    if (*t != "auto" && *t != "off" && *t != "linear" && *t != "mass")
      return make_error(ErrorCode::InvalidArgument,
                        "\"gate_correction\" must be auto, off, linear or mass");
    v.gate_correction = *t;
    return Ok{};
  }
  if (key == "tau_quantile") {
    HC_TRY_STATUS(number(c.tau_quantile));
    c.tau.reset();
    return Ok{};
  }
  if (key == "tau") {
    double t = 0;
    HC_TRY_STATUS(number(t));
    c.tau = t;
    return Ok{};
  }
  if (key == "cover_tri" || key == "seed") {
    if (!value.is_number_integer() || value.get<long long>() < 0)
      return make_error(ErrorCode::InvalidArgument, "\"" + key + "\" must be an integer >= 0");
    if (key == "seed")
      s.seed = value.get<std::uint64_t>();
    else
      s.cover_tri = static_cast<int>(std::min<long long>(value.get<long long>(), 1000));
    return Ok{};
  }
  auto parsed = [&](auto parse, auto& out) -> Status {
    auto t = text();
    if (!t) return t.error();
    auto r = parse(*t);
    if (!r) return r.error();
    out = *r;
    return Ok{};
  };
  if (key == "method") return parsed(parse_method, s.method);
  if (key == "vertex_score") return parsed(parse_vertex_score, s.vertex_score);
  if (key == "triangle_credit") return parsed(parse_triangle_credit, s.triangle_credit);
  if (key == "harmonic_target") return parsed(parse_harmonic_target, s.harmonic_target);
  if (key == "orientation") return parsed(parse_orientation, c.orientation);
  if (key == "edges") return parsed(parse_edge_mode, c.edges);
  if (key == "fill") return parsed(parse_fill_rule, c.fill);
  if (key == "signal") return parsed(parse_edge_signal, c.signal);
  if (key == "mode") {
    ReductionMode m{};
    HC_TRY_STATUS(parsed(parse_reduction_mode, m));
    v.mode = m;
    s.mode = m;
    return Ok{};
  }
  return make_error(ErrorCode::InvalidArgument, "unknown key \"" + key + "\"");
}

}  // namespace

Result<std::vector<Variant>> parse_variants(const std::string& text, const std::string& source,
                                            const SelectionOptions& base_selection,
                                            const ComplexOptions& base_complex) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return bad(source, "not valid JSON");
  if (!doc.is_object() || !doc.contains("variants") || !doc["variants"].is_array())
    return bad(source, "expected {\"variants\": [ ... ]}");
  if (doc["variants"].empty()) return bad(source, "no variants");
  std::vector<Variant> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < doc["variants"].size(); ++i) {
    const nlohmann::json& item = doc["variants"][i];
    const std::string where = "variant " + std::to_string(i);
    if (!item.is_object()) return bad(source, where + " is not an object");
    if (!item.contains("name") || !item["name"].is_string())
      return bad(source, where + " has no \"name\" string");
    Variant v{item["name"].get<std::string>(), base_selection, base_complex, std::nullopt, 1.0, {}};
    if (!safe_name(v.name))
      return bad(source, where + ": name \"" + v.name +
                             "\" must be 1-64 characters of letters, digits, _ . + -");
    if (!names.insert(v.name).second)
      return bad(source, "duplicate variant name \"" + v.name + "\"");
    if (!item.contains("method"))
      return bad(source, "variant \"" + v.name + "\" has no \"method\"");
    for (const auto& [key, value] : item.items()) {
      if (key == "name") continue;
      if (Status s = apply_key(key, value, v); !s)
        return bad(source, "variant \"" + v.name + "\": " + s.error().message);
    }
    if (Status s = validate_selection_options(v.selection); !s)
      return bad(source, "variant \"" + v.name + "\": " + s.error().message);
    if (!(v.complex.tau_quantile >= 0.0 && v.complex.tau_quantile <= 1.0) ||
        (v.complex.tau && !(*v.complex.tau >= 0.0)))
      return bad(source, "variant \"" + v.name + "\": tau must be >= 0 and tau_quantile in [0, 1]");
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<Variant> method_variants(const std::vector<Method>& methods,
                                     const SelectionOptions& base_selection,
                                     const ComplexOptions& base_complex, int random_seeds) {
  std::vector<Variant> out;
  for (Method m : methods) {
    Variant v{method_name(m), base_selection, base_complex, std::nullopt, 1.0, {}};
    v.selection.method = m;
    if (m == Method::Random && random_seeds > 1) {
      for (int s = 0; s < random_seeds; ++s) {
        Variant r = v;
        r.name = "random.s" + std::to_string(s);
        r.selection.seed = static_cast<std::uint64_t>(s);
        out.push_back(r);
      }
      continue;
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace hc
