// Plans (`hodgecover.plan` version 1): JSON round trips, accepted spellings, params, and every
// way a plan file can be invalid.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hc/plan.hpp"

namespace {

using nlohmann::json;

hc::Plan sample_plan() {
  hc::Plan plan;
  plan.method = "hodgecover";
  hc::SelectionOptions options;
  options.keep = 2;
  plan.params = hc::selection_params(options, hc::ComplexOptions{});
  hc::LayerPlan a;
  a.layer = 2;
  a.keep = {0, 3};
  a.merge_into = {{1, 0}, {2, 3}};
  hc::LayerPlan b;
  b.layer = 10;
  b.keep = {1, 2};
  plan.layers = {{2, a}, {10, b}};
  return plan;
}

// A valid plan text with `edit` applied to its JSON.
template <typename Edit>
std::string edited(Edit edit) {
  json j = hc::plan_to_json(sample_plan());
  edit(j);
  return j.dump();
}

void expect_error(const std::string& text, hc::ErrorCode code, const std::string& fragment) {
  const hc::Result<hc::Plan> plan = hc::parse_plan(text, "plan.json");
  BOOST_REQUIRE_MESSAGE(!plan.ok(), "accepted: " << text);
  BOOST_TEST((plan.error().code == code), text << " -> " << plan.error().message);
  BOOST_TEST(plan.error().message.rfind("plan.json: ", 0) == 0u, plan.error().message);
  BOOST_TEST(plan.error().message.find(fragment) != std::string::npos,
             "'" << fragment << "' not in: " << plan.error().message);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plan)

BOOST_AUTO_TEST_CASE(round_trip) {
  const hc::Plan original = sample_plan();
  const json j = hc::plan_to_json(original);
  BOOST_TEST(j["format"] == "hodgecover.plan");
  BOOST_TEST(j["version"] == 1);
  BOOST_TEST(j["layers"]["2"]["merge_into"]["1"] == 0);  // keys strings, values integers
  BOOST_TEST(j["layers"]["10"]["keep"] == json::array({1, 2}));

  const auto parsed = hc::parse_plan(j.dump(2), "plan.json");
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->method == original.method);
  BOOST_TEST(parsed->params == original.params);
  BOOST_REQUIRE(parsed->layers.size() == 2u);
  for (const auto& [index, layer] : original.layers) {
    const hc::LayerPlan& back = parsed->layers.at(index);
    BOOST_TEST(back.layer == index);
    BOOST_TEST(back.keep == layer.keep);
    BOOST_TEST((back.merge_into == layer.merge_into));
  }
  BOOST_TEST(hc::plan_to_json(*parsed) == j);
}

BOOST_AUTO_TEST_CASE(accepted_spellings) {
  // Survivors as decimal strings, merge_into and params optional, unknown keys ignored.
  const std::string text = R"({"format":"hodgecover.plan","version":1,"method":"reap",
    "future_key":[1,2],"layers":{"0":{"keep":[0,2],"merge_into":{"1":"0","3":2}},
    "7":{"keep":[5]}}})";
  const auto plan = hc::parse_plan(text, "plan.json");
  BOOST_REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  const std::map<int, int> expected = {{1, 0}, {3, 2}};
  BOOST_TEST((plan->layers.at(0).merge_into == expected));
  BOOST_TEST(plan->layers.at(7).keep == std::vector<int>{5});
  BOOST_TEST(plan->layers.at(7).merge_into.empty());
  BOOST_TEST(plan->params.is_object());
}

BOOST_AUTO_TEST_CASE(selection_params_record_every_option) {
  hc::SelectionOptions o;
  o.method = hc::Method::HcSmoe;
  o.seed = 7;
  o.vertex_score = hc::VertexScore::None;
  hc::ComplexOptions c;
  c.tau = 0.25;
  c.fill = hc::FillRule::Sum;
  const json p = hc::selection_params(o, c);
  BOOST_TEST(p["method"] == "hcsmoe");
  BOOST_TEST(p["mode"] == "merge");  // hcsmoe always merges
  BOOST_TEST(p["keep"].is_null());
  BOOST_TEST(p["ratio"] == 0.5);
  BOOST_TEST(p["seed"] == 7);
  BOOST_TEST(p["vertex_score"] == "none");
  BOOST_TEST(p["triangle_credit"] == "partial");
  BOOST_TEST(p["tau"] == 0.25);
  BOOST_TEST(p["fill"] == "sum");
  BOOST_TEST(p["edges"] == "complete");
  BOOST_TEST(p["orientation"] == "reap");
  BOOST_TEST(p["harmonic_target"] == "oriented");
  for (const char* key :
       {"rho_h", "rho_t", "cover_tri", "lambda_e", "lambda_t", "lambda_v", "tau_quantile"})
    BOOST_TEST(p.contains(key), key);
  o.method = hc::Method::Reap;
  o.keep = 3;
  BOOST_TEST(hc::selection_params(o, hc::ComplexOptions{})["mode"] == "prune");
  BOOST_TEST(hc::selection_params(o, hc::ComplexOptions{})["keep"] == 3);
  BOOST_TEST(hc::selection_params(o, hc::ComplexOptions{})["tau"].is_null());
}

BOOST_AUTO_TEST_CASE(malformed_text) {
  using hc::ErrorCode;
  expect_error("", ErrorCode::Malformed, "not valid JSON");
  expect_error("{\"format\":", ErrorCode::Malformed, "not valid JSON");
  expect_error("[1,2]", ErrorCode::Malformed, "not a JSON object");
  expect_error("\"hodgecover.plan\"", ErrorCode::Malformed, "not a JSON object");
}

BOOST_AUTO_TEST_CASE(invalid_header) {
  using hc::ErrorCode;
  const ErrorCode c = ErrorCode::Corrupt;
  expect_error(edited([](json& j) { j.erase("format"); }), c, "missing \"format\"");
  expect_error(edited([](json& j) { j["format"] = "hodgecover.stats"; }), c,
               "not \"hodgecover.plan\"");
  expect_error(edited([](json& j) { j["format"] = 1; }), c, "format");
  expect_error(edited([](json& j) { j.erase("version"); }), c, "missing \"version\"");
  expect_error(edited([](json& j) { j["version"] = 2; }), c, "newer than this reader");
  expect_error(edited([](json& j) { j["version"] = 0; }), c, "versions start at 1");
  expect_error(edited([](json& j) { j["version"] = -3; }), c, "versions start at 1");
  expect_error(edited([](json& j) { j["version"] = "1"; }), c, "must be an integer");
  expect_error(edited([](json& j) { j["version"] = 1.5; }), c, "must be an integer");
  expect_error(edited([](json& j) { j.erase("method"); }), c, "\"method\"");
  expect_error(edited([](json& j) { j["method"] = ""; }), c, "\"method\"");
  expect_error(edited([](json& j) { j["params"] = json::array(); }), c,
               "\"params\" must be an object");
  expect_error(edited([](json& j) { j.erase("layers"); }), c, "missing \"layers\"");
  expect_error(edited([](json& j) { j["layers"] = json::array(); }), c, "missing \"layers\"");
  expect_error(edited([](json& j) { j["layers"] = json::object(); }), c, "\"layers\" is empty");
}

BOOST_AUTO_TEST_CASE(invalid_layers) {
  using hc::ErrorCode;
  const ErrorCode c = ErrorCode::Corrupt;
  auto with_layer = [](std::string key, json value) {
    return edited([&](json& j) { j["layers"][key] = value; });
  };
  const json ok = {{"keep", {0, 1}}};
  for (const char* key : {"01", "-1", "+1", "x", "", "1.0", "99999999999"})
    expect_error(with_layer(key, ok), c, "is not a decimal layer index");
  expect_error(with_layer("4", json::array({0, 1})), c, "layer 4: must be an object");
  expect_error(with_layer("4", json::object()), c, "layer 4: missing \"keep\"");
  expect_error(with_layer("4", {{"keep", "0,1"}}), c, "must be an array");
  expect_error(with_layer("4", {{"keep", json::array()}}), c, "\"keep\" is empty");
  expect_error(with_layer("4", {{"keep", {0, -1}}}), c, "not a non-negative integer");
  expect_error(with_layer("4", {{"keep", {0, 1.5}}}), c, "not a non-negative integer");
  expect_error(with_layer("4", {{"keep", {0, "2"}}}), c, "not a non-negative integer");
  expect_error(with_layer("4", {{"keep", {3, 1}}}), c, "strictly ascending (1 after 3)");
  expect_error(with_layer("4", {{"keep", {1, 1}}}), c, "strictly ascending (1 after 1)");

  auto with_merge = [&](json merge) {
    return with_layer("4", {{"keep", {0, 2}}, {"merge_into", std::move(merge)}});
  };
  expect_error(with_merge(json::array({1})), c, "\"merge_into\" must be an object");
  expect_error(with_merge({{"a", 0}}), c, "key \"a\" is not an expert id");
  expect_error(with_merge({{"01", 0}}), c, "key \"01\" is not an expert id");
  expect_error(with_merge({{"2", 0}}), c, "lists expert 2 as dropped, but it is kept");
  expect_error(with_merge({{"1", 3}}), c, "merges expert 1 into 3, which is not kept");
  expect_error(with_merge({{"1", "3"}}), c, "merges expert 1 into 3, which is not kept");
  expect_error(with_merge({{"1", -1}}), c, "is not an expert id");
  expect_error(with_merge({{"1", 2.0}}), c, "is not an expert id");
  expect_error(with_merge({{"1", "x"}}), c, "is not an expert id");
  expect_error(with_merge({{"1", nullptr}}), c, "is not an expert id");
  // The message names the layer.
  expect_error(with_merge({{"1", 3}}), c, "layer 4: ");
}

BOOST_AUTO_TEST_SUITE_END()
