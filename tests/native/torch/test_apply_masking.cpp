// apply ≡ masking: for every family and routing formula, the pruned checkpoint computes the
// same logits as the original with the dropped experts' router logits set to -inf
// (ForwardModel::mask_experts); for grouped routing, with plans that keep the same number of
// experts in every group, so the pruned model's contiguous groups are the original groups.
// With a gate correction, the pruned checkpoint equals masking plus the factors recorded in
// hodgecover_gate_correction.json, and those factors equal the gate-mass ratio computed with
// the forward pass's own routing (route_masked) on the router sample.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <functional>

#include <fstream>
#include <random>

#include "hc/native/apply.hpp"
#include "hc/native/forward.hpp"
#include "hc/plan.hpp"
#include "reference_model.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;

namespace {

struct MaskCase {
  const char* name;
  Family family;
  FixtureSizes sizes;
  std::function<void(nlohmann::json&)> edit;
  // Experts kept in MoE layer number m (0-based among MoE layers).
  std::function<std::vector<int>(int m)> keep;
};

std::vector<int> five_of_eight(int m) {
  return m % 2 == 0 ? std::vector<int>{0, 2, 3, 6, 7} : std::vector<int>{1, 2, 4, 5, 7};
}

// 16 experts in 4 contiguous groups of 4: two kept per group, different ones per layer.
std::vector<int> two_per_group(int m) {
  std::vector<int> keep;
  for (int g = 0; g < 4; ++g) {
    keep.push_back(4 * g + (m + g) % 4);
    keep.push_back(4 * g + (m + g + 2) % 4);
  }
  std::sort(keep.begin(), keep.end());
  return keep;
}

std::vector<MaskCase> cases() {
  FixtureSizes plain;
  FixtureSizes shared = plain;  // qwen2_moe's shared expert and its gate are untouched
  FixtureSizes grouped;
  grouped.experts = 16;
  grouped.top_k = 3;
  grouped.layers = 3;
  FixtureSizes oss;
  oss.top_k = 3;
  return {
      {"mixtral softmax-topk-renormalise", Family::Mixtral, plain, {}, five_of_eight},
      {"qwen2_moe softmax-topk (no renormalisation), shared expert",
       Family::Qwen2Moe,
       shared,
       {},
       five_of_eight},
      {"qwen3_moe softmax-topk-renormalise", Family::Qwen3Moe, plain, {}, five_of_eight},
      {"olmoe softmax-topk", Family::Olmoe, plain, {}, five_of_eight},
      {"deepseek_v2 greedy", Family::DeepseekV2, grouped,
       [](nlohmann::json& c) { c["topk_method"] = "greedy"; }, two_per_group},
      {"deepseek_v2 group_limited_greedy", Family::DeepseekV2, grouped, {}, two_per_group},
      {"deepseek_v3 noaux_tc with correction bias", Family::DeepseekV3, grouped, {}, two_per_group},
      {"gpt_oss top-k then softmax, router bias", Family::GptOss, oss, {}, five_of_eight},
  };
}

template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

// The case's keep sets, MoE layer by MoE layer.
hc::Plan plan_for(const MoeModelSpec& spec, const MaskCase& c) {
  hc::Plan plan;
  plan.method = "test";
  int m = 0;
  for (const auto& layer : spec.layers) {
    if (!layer.moe) continue;
    plan.layers[layer.index].layer = layer.index;
    plan.layers[layer.index].keep = c.keep(m++);
  }
  return plan;
}

std::vector<std::int32_t> ids(int n) {
  std::vector<std::int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back((i * 17 + 3) % 64);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(apply_masking)

BOOST_AUTO_TEST_CASE(pruning_equals_masking_router_logits) {
  for (const MaskCase& c : cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      hc::test::TempDir tmp("hc-test-mask");
      nlohmann::json config = fixture_config(c.family, c.sizes);
      if (c.edit) c.edit(config);
      auto spec = model_spec_from_config(config);
      BOOST_REQUIRE_MESSAGE(spec.ok(), why(spec));
      const auto tensors = random_tensors(*spec, 31, hc::Dtype::F32);
      BOOST_REQUIRE(write_checkpoint(tmp.root / "orig", config, tensors, {}).ok());

      const hc::Plan plan = plan_for(*spec, c);
      BOOST_REQUIRE(!plan.layers.empty());
      ApplyOptions options;
      options.model = tmp.root / "orig";
      options.out = tmp.root / "pruned";
      options.gate_correction = GateCorrection::Off;
      auto applied = apply_plan(options, plan, nullptr);
      BOOST_REQUIRE_MESSAGE(applied.ok(), why(applied));

      auto original = ForwardModel::open(tmp.root / "orig");
      auto pruned = ForwardModel::open(tmp.root / "pruned");
      BOOST_REQUIRE(original.ok() && pruned.ok());
      const auto tokens = ids(24);
      const at::Tensor unmasked = *original->logits(tokens);
      for (const auto& [layer, lp] : plan.layers) {
        const auto status = original->mask_experts(layer, lp.keep);
        BOOST_REQUIRE_MESSAGE(status.ok(), why(status));
      }
      const at::Tensor masked = *original->logits(tokens);
      const at::Tensor small = *pruned->logits(tokens);
      const double diff = (masked - small).abs().max().item<double>();
      const double scale = small.abs().max().item<double>();
      BOOST_CHECK_MESSAGE(diff <= 1e-5 * std::max(1.0, scale),
                          "pruned vs masked max |diff| " << diff);
      // The plan matters: without the mask the logits differ.
      BOOST_CHECK_GT((unmasked - small).abs().max().item<double>(), 1e-4);
    }
  }
}

// A statistics file with a random router sample (and mean router scores) for every MoE layer.
hc::StatsFile sample_stats(const MoeModelSpec& spec, int rows, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  hc::StatsFile stats;
  for (int layer : spec.moe_layers()) {
    hc::LayerStats ls;
    ls.layer = layer;
    ls.experts = spec.num_experts;
    const auto e = static_cast<std::size_t>(spec.num_experts);
    ls.frequency.assign(e, 0.1f);
    ls.gate_mass.assign(e, 0.1f);
    ls.reap.assign(e, 0.1f);
    ls.ean.assign(e, 0.1f);
    ls.router_prob.assign(e, 1.0f / float(e));
    ls.router_sample_rows = static_cast<std::size_t>(rows);
    for (std::size_t i = 0; i < ls.router_sample_rows * e; ++i) {
      ls.router_sample.push_back(normal(rng));
    }
    stats.layers.push_back(ls);
  }
  return stats;
}

// The prune factor of one layer from the forward pass's routing: sampled gate mass of the
// original router over that of the router with the dropped experts masked.
double reference_factor(const MoeModelSpec& spec, const hc::LayerStats& ls,
                        const std::vector<int>& keep, const at::Tensor& correction) {
  const at::Tensor logits =
      at::from_blob(const_cast<float*>(ls.router_sample.data()),
                    {static_cast<int64_t>(ls.router_sample_rows), spec.num_experts}, at::kFloat)
          .clone();
  at::Tensor dropped = at::ones({spec.num_experts}, at::kBool);
  for (int e : keep) dropped[e] = false;
  const double before = route(spec, logits, correction).gates.sum(at::kDouble).item<double>();
  const double after =
      route_masked(spec, logits, correction, dropped).gates.sum(at::kDouble).item<double>();
  return before / after;
}

BOOST_AUTO_TEST_CASE(corrected_pruning_equals_masking_plus_recorded_factors) {
  for (const MaskCase& c : cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      hc::test::TempDir tmp("hc-test-gate");
      nlohmann::json config = fixture_config(c.family, c.sizes);
      if (c.edit) c.edit(config);
      auto spec = model_spec_from_config(config);
      BOOST_REQUIRE_MESSAGE(spec.ok(), why(spec));
      auto tensors = random_tensors(*spec, 37, hc::Dtype::F32);
      BOOST_REQUIRE(write_checkpoint(tmp.root / "orig", config, tensors, {}).ok());
      const hc::Plan plan = plan_for(*spec, c);
      const hc::StatsFile stats = sample_stats(*spec, 64, 5);
      ApplyOptions options;
      options.model = tmp.root / "orig";
      options.out = tmp.root / "pruned";
      options.gate_correction = GateCorrection::Mass;
      auto applied = apply_plan(options, plan, &stats);
      BOOST_REQUIRE_MESSAGE(applied.ok(), why(applied));

      // The recorded factors are the sampled gate-mass ratio of the forward pass's routing.
      std::ifstream sidecar(tmp.root / "pruned" / "hodgecover_gate_correction.json");
      const nlohmann::json recorded = nlohmann::json::parse(sidecar);
      BOOST_CHECK_EQUAL(recorded.at("mode"), "mass");
      std::map<std::string, float> scale;  // down-projection tensor (or fused row) -> factor
      for (const auto& [layer, lp] : plan.layers) {
        const LayerSpec& ls = spec->layers[std::size_t(layer)];
        at::Tensor correction;
        for (const auto& t : tensors) {
          if (!ls.correction_bias.empty() && t.name == ls.correction_bias) {
            correction = at::tensor(t.values);
          }
        }
        const double want = reference_factor(*spec, *stats.find_layer(layer), lp.keep, correction);
        const auto& factors = recorded.at("layers").at(std::to_string(layer)).at("factors");
        BOOST_REQUIRE_EQUAL(factors.size(), lp.keep.size());
        for (std::size_t i = 0; i < lp.keep.size(); ++i) {
          BOOST_CHECK_CLOSE(factors[i].get<double>(), want, 1e-3);
          const int e = lp.keep[i];
          const std::string name = ls.experts.empty() ? ls.fused_down + "#" + std::to_string(e)
                                                      : ls.experts[std::size_t(e)].down;
          scale[name] = factors[i].get<float>();
          if (!ls.fused_down_bias.empty()) {
            scale[ls.fused_down_bias + "#" + std::to_string(e)] = factors[i].get<float>();
          }
        }
      }
      // The original with those factors folded in by hand, then masked, computes the same.
      for (auto& t : tensors) {
        if (auto it = scale.find(t.name); it != scale.end()) {
          for (float& v : t.values) v *= it->second;
          continue;
        }
        const std::size_t row = t.shape.empty() ? 0 : t.values.size() / t.shape[0];
        for (std::uint64_t e = 0; row > 0 && e < t.shape[0]; ++e) {
          auto it = scale.find(t.name + "#" + std::to_string(e));
          if (it == scale.end()) continue;
          for (std::size_t j = 0; j < row; ++j) t.values[e * row + j] *= it->second;
        }
      }
      BOOST_REQUIRE(write_checkpoint(tmp.root / "scaled", config, tensors, {}).ok());
      auto scaled = ForwardModel::open(tmp.root / "scaled");
      auto pruned = ForwardModel::open(tmp.root / "pruned");
      BOOST_REQUIRE(scaled.ok() && pruned.ok());
      for (const auto& [layer, lp] : plan.layers) {
        BOOST_REQUIRE(scaled->mask_experts(layer, lp.keep).ok());
      }
      const auto tokens = ids(24);
      const at::Tensor masked = *scaled->logits(tokens);
      const at::Tensor small = *pruned->logits(tokens);
      const double diff = (masked - small).abs().max().item<double>();
      BOOST_CHECK_MESSAGE(diff <= 1e-5 * std::max(1.0, small.abs().max().item<double>()),
                          "corrected pruned vs masked + factors max |diff| " << diff);
      // The independent reference model reads the corrected checkpoint the same way.
      hc::test::Reference ref{pruned->checkpoint(), pruned->spec(), {}};
      const auto expect = ref.logits(tokens);
      double worst = 0.0;
      for (std::size_t t = 0; t < expect.size(); ++t) {
        for (std::size_t v = 0; v < expect[t].size(); ++v) {
          worst = std::max(worst,
                           std::abs(expect[t][v] - small[int64_t(t)][int64_t(v)].item<double>()));
        }
      }
      BOOST_CHECK_MESSAGE(worst < 1e-4, "corrected checkpoint: reference vs ours " << worst);
    }
  }
}

BOOST_AUTO_TEST_CASE(mask_rejects_bad_layers_and_ids) {
  hc::test::TempDir tmp("hc-test-mask");
  FixtureSizes sizes;
  BOOST_REQUIRE(write_random_checkpoint(tmp.root / "m", Family::DeepseekV2, sizes, 3).ok());
  auto model = ForwardModel::open(tmp.root / "m");
  BOOST_REQUIRE(model.ok());
  BOOST_CHECK(!model->mask_experts(0, {0, 1}).ok());  // dense first layer
  BOOST_CHECK(!model->mask_experts(7, {0, 1}).ok());  // no such layer
  BOOST_CHECK(!model->mask_experts(1, {0, 8}).ok());  // expert out of range
  BOOST_CHECK(model->mask_experts(1, {0, 1, 2}).ok());
  BOOST_CHECK(model->mask_experts(1, {}).ok());  // cleared
}

BOOST_AUTO_TEST_SUITE_END()
