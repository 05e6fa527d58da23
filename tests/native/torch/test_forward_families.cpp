// LibTorch forward pass for DeepSeek-V2/V3 and gpt-oss: streamed forward vs the plain-loop
// reference, each routing formula on hand-built logits and routers, and spec/tensor errors.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

#include "hc/native/checkpoint.hpp"
#include "hc/native/checkpoint_writer.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/forward_ops.hpp"
#include "hc/native/model_spec.hpp"
#include "test_support.hpp"
#include "torch/reference_model.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::Reference;
using hc::test::TempDir;

namespace {

template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

std::vector<std::int32_t> some_ids(int n, int vocab) {
  return hc::test::token_ids(n, vocab);
}

using ConfigEdit = std::function<void(nlohmann::json&)>;
using TensorEdit = std::function<void(std::vector<TensorToWrite>&)>;

// Writes a fixture from explicit tensors (so a test can edit them) and returns its spec.
MoeModelSpec write_fixture(const fs::path& dir, Family family, const FixtureSizes& sizes,
                           const ConfigEdit& edit_config = {}, const TensorEdit& edit = {},
                           hc::Dtype dtype = hc::Dtype::F32) {
  nlohmann::json config = fixture_config(family, sizes);
  if (edit_config) edit_config(config);
  auto spec = model_spec_from_config(config);
  BOOST_REQUIRE_MESSAGE(spec.ok(), why(spec));
  auto tensors = random_tensors(*spec, 11, dtype);
  if (edit) edit(tensors);
  const auto err = write_checkpoint(dir, config, tensors);
  BOOST_REQUIRE_MESSAGE(err.ok(), (err.ok() ? "" : err.error().message));
  return *spec;
}

TensorToWrite& find_tensor(std::vector<TensorToWrite>& tensors, const std::string& name) {
  auto it = std::find_if(tensors.begin(), tensors.end(),
                         [&](const TensorToWrite& t) { return t.name == name; });
  BOOST_REQUIRE_MESSAGE(it != tensors.end(), name);
  return *it;
}

struct Variant {
  const char* name;
  Family family;
  FixtureSizes sizes;
  ConfigEdit edit;
  hc::Dtype dtype = hc::Dtype::F32;
};

// The RoPE settings of the released configs (DeepSeek-V3 config_671B, gpt-oss-20b).
void v3_yarn(nlohmann::json& c) {
  c["max_position_embeddings"] = 163840;
  c["rope_scaling"] = {{"type", "yarn"},
                       {"factor", 40},
                       {"mscale", 1.0},
                       {"mscale_all_dim", 1.0},
                       {"beta_fast", 32},
                       {"beta_slow", 1},
                       {"original_max_position_embeddings", 4096}};
}
void oss_yarn(nlohmann::json& c) {
  c["max_position_embeddings"] = 131072;
  c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 32.0},
                       {"beta_fast", 32.0},   {"beta_slow", 1.0},
                       {"truncate", false},   {"original_max_position_embeddings", 4096}};
}

std::vector<Variant> variants() {
  FixtureSizes k3;  // top-3 of 8 in 2 of 4 groups: group masking changes the choice
  k3.top_k = 3;
  FixtureSizes deep = k3;
  deep.layers = 3;
  FixtureSizes q_lora = k3;
  q_lora.q_lora_rank = 12;
  FixtureSizes plain_q = k3;
  plain_q.q_lora_rank = 0;
  return {
      {"deepseek_v2 group_limited_greedy, no q_lora", Family::DeepseekV2, k3, {}},
      {"deepseek_v2 greedy, q_lora", Family::DeepseekV2, q_lora,
       [](nlohmann::json& c) { c["topk_method"] = "greedy"; }},
      {"deepseek_v3 noaux_tc, q_lora, 3 layers", Family::DeepseekV3, deep, {}},
      {"deepseek_v3 rotate-half rope, no q_lora, no renorm, one group", Family::DeepseekV3, plain_q,
       [](nlohmann::json& c) {
         c["rope_interleave"] = false;
         c["norm_topk_prob"] = false;
         c["n_group"] = 1;
         c["topk_group"] = 1;
       }},
      {"deepseek_v3 bf16", Family::DeepseekV3, k3, {}, hc::Dtype::BF16},
      {"deepseek_v3 yarn (mscale_all_dim softmax factor)", Family::DeepseekV3, k3, v3_yarn},
      {"gpt_oss", Family::GptOss, {}, {}},
      {"gpt_oss yarn", Family::GptOss, {}, oss_yarn},
      {"gpt_oss clamped swiglu",
       Family::GptOss,
       {},
       [](nlohmann::json& c) { c["swiglu_limit"] = 0.05; }},
  };
}

// One token's router rows alpha_e * x / |x|^2 make the logits exactly alpha.
void set_router(std::vector<TensorToWrite>& tensors, const MoeModelSpec& spec, int layer,
                const at::Tensor& x, const std::vector<double>& alpha) {
  auto& router = find_tensor(tensors, spec.layers[std::size_t(layer)].router);
  const at::Tensor dir = x / x.dot(x);
  for (int e = 0; e < spec.num_experts; ++e)
    for (int i = 0; i < spec.hidden_size; ++i)
      router.values[std::size_t(e * spec.hidden_size + i)] =
          float(alpha[std::size_t(e)] * dir[i].item<double>());
}

void set_values(std::vector<TensorToWrite>& tensors, const std::string& name,
                const std::vector<double>& values) {
  auto& t = find_tensor(tensors, name);
  BOOST_REQUIRE(t.values.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) t.values[i] = float(values[i]);
}

double sigmoid(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(forward_families)

BOOST_AUTO_TEST_CASE(streamed_forward_matches_reference) {
  for (const Variant& variant : variants()) {
    BOOST_TEST_CONTEXT(variant.name) {
      TempDir tmp;
      write_fixture(tmp.root, variant.family, variant.sizes, variant.edit, {}, variant.dtype);
      auto model = ForwardModel::open(tmp.root);
      BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
      const MoeModelSpec& spec = model->spec();
      const auto ids = some_ids(9, spec.vocab_size);
      std::vector<LayerObservation> seen;
      auto logits = model->logits(ids, [&](const LayerObservation& o) { seen.push_back(o); });
      BOOST_REQUIRE_MESSAGE(logits.ok(), why(logits));
      Reference ref{model->checkpoint(), spec, {}};
      const auto expect = ref.logits(ids);
      double worst = 0;
      for (std::size_t t = 0; t < ids.size(); ++t)
        for (std::size_t v = 0; v < expect[t].size(); ++v)
          worst = std::max(
              worst, std::abs(expect[t][v] - (*logits)[int64_t(t)][int64_t(v)].item<double>()));
      BOOST_TEST(worst < 1e-4);
      BOOST_REQUIRE(seen.size() == spec.layers.size());
      std::size_t r = 0, dense = 0;
      for (const auto& o : seen) {
        if (!o.moe) {
          ++dense;
          continue;
        }
        BOOST_TEST(o.router_probs.size(1) == spec.num_experts);
        for (int64_t t = 0; t < int64_t(ids.size()); ++t, ++r) {
          for (int j = 0; j < spec.top_k; ++j) {
            BOOST_TEST(o.selected[t][j].item<int64_t>() == ref.selected[r][std::size_t(j)]);
            BOOST_TEST(std::abs(o.gates[t][j].item<double>() - ref.gates[r][std::size_t(j)]) <
                       1e-5);
          }
        }
      }
      BOOST_TEST(r == ref.selected.size());
      // Grouped and bias-corrected routing must actually change some choices against a plain
      // top-k of router_probs, or this fixture would not test them.
      int changed = 0;
      for (const auto& o : seen) {
        if (!o.moe) continue;
        const at::Tensor plain =
            std::get<1>(at::sort(o.router_probs, true, -1, true)).narrow(-1, 0, spec.top_k);
        const at::Tensor a = std::get<0>(at::sort(plain, -1)),
                         b = std::get<0>(at::sort(o.selected, -1));
        changed += int((a != b).any(-1).sum().item<int64_t>());
      }
      const bool grouped =
          spec.routing == RoutingKind::NoauxTc ||
          (spec.routing == RoutingKind::GroupLimitedGreedy && spec.topk_group < spec.n_group);
      BOOST_TEST((changed > 0) == grouped,
                 "tokens whose choice the grouping/bias changed: " << changed);
      // DeepSeek fixtures have one dense first layer; gpt-oss none.
      BOOST_TEST(dense == (variant.family == Family::GptOss ? 0u : 1u));
      auto ppl = model->perplexity(ids);
      BOOST_REQUIRE_MESSAGE(ppl.ok(), why(ppl));
      BOOST_TEST(std::isfinite(*ppl));
    }
  }
}

BOOST_AUTO_TEST_CASE(deepseek_v3_block_fp8) {
  // The same random weights written F32 and as block-scaled F8_E4M3 (as DeepSeek-V3 ships):
  // the F8 model matches the reference on its dequantised weights, and stays close to F32.
  TempDir tmp;
  FixtureSizes sizes;
  sizes.top_k = 3;
  BOOST_REQUIRE(write_random_checkpoint(tmp.root / "f32", Family::DeepseekV3, sizes, 5).ok());
  BOOST_REQUIRE(
      write_random_checkpoint(tmp.root / "fp8", Family::DeepseekV3, sizes, 5, hc::Dtype::F8_E4M3)
          .ok());
  auto exact = ForwardModel::open(tmp.root / "f32");
  auto fp8 = ForwardModel::open(tmp.root / "fp8");
  BOOST_REQUIRE_MESSAGE(exact.ok(), why(exact));
  BOOST_REQUIRE_MESSAGE(fp8.ok(), why(fp8));
  BOOST_TEST((fp8->checkpoint().info("model.layers.1.mlp.experts.0.gate_proj.weight")->dtype ==
              hc::Dtype::F8_E4M3));
  const auto ids = some_ids(9, 64);
  auto a = exact->logits(ids), b = fp8->logits(ids);
  BOOST_REQUIRE(a.ok() && b.ok());
  Reference ref{fp8->checkpoint(), fp8->spec(), {}};
  const auto want = ref.logits(ids);
  double worst = 0;
  for (std::size_t t = 0; t < ids.size(); ++t)
    for (std::size_t v = 0; v < want[t].size(); ++v)
      worst = std::max(worst, std::abs(want[t][v] - (*b)[int64_t(t)][int64_t(v)].item<double>()));
  BOOST_TEST(worst < 1e-4);
  const double drift = (*a - *b).abs().max().item<double>();
  BOOST_TEST(drift > 0.0);                                         // really quantised
  BOOST_TEST(drift < 0.1 * a->abs().max().item<double>(), drift);  // and scaled back
}

BOOST_AUTO_TEST_CASE(deepseek_fused_experts_match_per_expert) {
  // A DeepSeek checkpoint re-saved by transformers v5 with save_original_format=False holds
  // experts.gate_up_proj [E, 2I, H] (gate rows first) and experts.down_proj [E, H, I].
  TempDir tmp;
  FixtureSizes sizes;
  sizes.top_k = 3;
  const nlohmann::json config = fixture_config(Family::DeepseekV3, sizes);
  auto spec = model_spec_from_config(config);
  BOOST_REQUIRE(spec.ok());
  const auto tensors = random_tensors(*spec, 3, hc::Dtype::F32);
  BOOST_REQUIRE(write_checkpoint(tmp.root / "per", config, tensors).ok());
  std::map<std::string, const TensorToWrite*> by_name;
  std::vector<TensorToWrite> fused;
  for (const auto& t : tensors) {
    by_name[t.name] = &t;
    if (t.name.find(".experts.") == std::string::npos) fused.push_back(t);
  }
  const std::uint64_t E = 8, I = 16, H = 32;
  for (const LayerSpec& L : spec->layers) {
    if (!L.moe) continue;
    const std::string m = "model.layers." + std::to_string(L.index) + ".mlp.experts.";
    TensorToWrite gate_up{m + "gate_up_proj", hc::Dtype::F32, {E, 2 * I, H}, {}};
    TensorToWrite down{m + "down_proj", hc::Dtype::F32, {E, H, I}, {}};
    for (const MlpNames& n : L.experts) {
      for (const std::string* part : {&n.gate, &n.up}) {
        const auto& v = by_name.at(*part)->values;
        gate_up.values.insert(gate_up.values.end(), v.begin(), v.end());
      }
      const auto& v = by_name.at(n.down)->values;
      down.values.insert(down.values.end(), v.begin(), v.end());
    }
    fused.push_back(std::move(gate_up));
    fused.push_back(std::move(down));
  }
  BOOST_REQUIRE(write_checkpoint(tmp.root / "fused", config, fused).ok());
  auto a = ForwardModel::open(tmp.root / "per"), b = ForwardModel::open(tmp.root / "fused");
  BOOST_REQUIRE_MESSAGE(a.ok(), why(a));
  BOOST_REQUIRE_MESSAGE(b.ok(), why(b));
  BOOST_TEST((b->spec().layout == ExpertLayout::Fused));
  const auto ids = some_ids(9, 64);
  auto la = a->logits(ids), lb = b->logits(ids);
  BOOST_REQUIRE(la.ok() && lb.ok());
  BOOST_TEST(at::allclose(*la, *lb, 0.0, 1e-6));
}

BOOST_AUTO_TEST_CASE(clamped_swiglu) {
  // gpt-oss expert on one feature with unit weights and no biases: gate clamped from above
  // only, up clamped on both sides, out = (u + 1) * g * sigmoid(1.702 g).
  FixtureSizes sizes;
  auto spec = model_spec_from_config(fixture_config(Family::GptOss, sizes));
  BOOST_REQUIRE(spec.ok());
  const at::Tensor one = at::ones({1, 1});
  const hc::native::detail::ExpertWeights w{one, one, one, {}, {}, {}};
  auto out = [&](double x) {
    return hc::native::detail::expert_mlp(*spec, w, at::full({1, 1}, x)).item<double>();
  };
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  BOOST_TEST(std::abs(out(10.0) - 8.0 * 7.0 * sig(1.702 * 7.0)) < 1e-5);
  BOOST_TEST(std::abs(out(-10.0) - (-6.0) * (-10.0) * sig(-17.02)) < 1e-9);
  BOOST_TEST(std::abs(out(0.5) - 1.5 * 0.5 * sig(0.851)) < 1e-6);
  // Biases enter before the clamp; the down bias after.
  const hc::native::detail::ExpertWeights biased{
      one, one, one, at::full({1}, 2.0), at::full({1}, -1.0), at::full({1}, 0.25)};
  const double g = std::min(6.0 + 2.0, 7.0), u = std::max(-7.0, std::min(6.0 - 1.0, 7.0));
  BOOST_TEST(
      std::abs(hc::native::detail::expert_mlp(*spec, biased, at::full({1, 1}, 6.0)).item<double>() -
               ((u + 1) * g * sig(1.702 * g) + 0.25)) < 1e-5);
}

BOOST_AUTO_TEST_CASE(group_limited_greedy_formula) {
  // Groups {0,1} {2,3} {4,5} {6,7}, group max 1, 6, 5.8, 7: keep groups 3 and 1. The global
  // top-3 would be 6, 2, 4; in the kept groups it is 6, 2, then 3 (tied with 7: lower wins).
  const std::vector<float> w = {1, 1, 6, 1, 5.8f, 5.7f, 7, 1};
  at::Tensor logits = at::log(at::tensor(w)).unsqueeze(0);
  const Routing r = route_group_limited_greedy(logits, 3, 4, 2, 1.5);
  const double z = 28.5;
  const int expect[] = {6, 2, 3};
  for (int j = 0; j < 3; ++j) {
    BOOST_TEST(r.selected[0][j].item<int64_t>() == expect[j]);
    BOOST_TEST(std::abs(r.gates[0][j].item<double>() - w[std::size_t(expect[j])] / z * 1.5) < 1e-6);
  }
  BOOST_TEST(std::abs(r.probs[0][4].item<double>() - 5.8 / z) < 1e-6);
  // Two groups tie on their max: the lower group index is kept.
  const Routing tie = route_group_limited_greedy(at::zeros({1, 8}), 2, 4, 1, 1.0);
  BOOST_TEST(tie.selected[0][0].item<int64_t>() == 0);
  BOOST_TEST(tie.selected[0][1].item<int64_t>() == 1);
}

BOOST_AUTO_TEST_CASE(noaux_tc_formula) {
  // s = sigmoid(l); the correction bias b moves the choice to groups 3 and 2 (top-2 sums 2.30
  // and 1.24 against 1.0 and 0.15), yet the weights are the unbiased s, renormalised, x 2.5.
  const std::vector<float> l = {2, -1, 0, 0, 0.5f, 0.5f, -2, -1.5f};
  const std::vector<float> b = {-1, 0, 0, 0, 0, 0, 1, 1};
  const Routing r = route_noaux_tc(at::tensor(l).unsqueeze(0), at::tensor(b), 3, 4, 2, true, 2.5);
  const int expect[] = {7, 6, 4};  // c = 1.18, 1.12, then 4 and 5 tie at 0.62: lower wins
  double sum = 0;
  for (int e : expect) sum += sigmoid(l[std::size_t(e)]);
  for (int j = 0; j < 3; ++j) {
    BOOST_TEST(r.selected[0][j].item<int64_t>() == expect[j]);
    BOOST_TEST(std::abs(r.gates[0][j].item<double>() -
                        sigmoid(l[std::size_t(expect[j])]) / sum * 2.5) < 1e-6);
  }
  BOOST_TEST(std::abs(r.probs[0][0].item<double>() - sigmoid(2.0)) < 1e-6);  // no bias in probs
  // Without renormalisation the weights are s * rsf.
  const Routing raw =
      route_noaux_tc(at::tensor(l).unsqueeze(0), at::tensor(b), 3, 4, 2, false, 2.5);
  BOOST_TEST(std::abs(raw.gates[0][0].item<double>() - sigmoid(-1.5) * 2.5) < 1e-6);
  // transformers masks dropped groups with 0, not -inf: when every kept score is negative the
  // zeros of dropped groups win (here experts 2 and 3 of dropped group 1).
  const std::vector<float> neg = {-1, -1, -1, -1, -0.9f, -0.9f, -1, -1};  // s = 0.5 for all
  const Routing z = route_noaux_tc(at::zeros({1, 8}), at::tensor(neg), 2, 4, 2, true, 2.5);
  BOOST_TEST(z.selected[0][0].item<int64_t>() == 2);
  BOOST_TEST(z.selected[0][1].item<int64_t>() == 3);
  BOOST_TEST(std::abs(z.gates[0][0].item<double>() - 1.25) < 1e-6);
}

BOOST_AUTO_TEST_CASE(topk_softmax_formula) {
  // gpt-oss: top-k of the logits, softmax over the selected logits only.
  const Routing r = route_topk_softmax(at::tensor({1.0f, 3.0f, 2.0f, 3.0f, 0.0f}).unsqueeze(0), 3);
  BOOST_TEST(r.selected[0][0].item<int64_t>() == 1);  // 1 and 3 tie: lower first
  BOOST_TEST(r.selected[0][1].item<int64_t>() == 3);
  BOOST_TEST(r.selected[0][2].item<int64_t>() == 2);
  const double z = 2 * std::exp(3.0) + std::exp(2.0);
  BOOST_TEST(std::abs(r.gates[0][0].item<double>() - std::exp(3.0) / z) < 1e-6);
  BOOST_TEST(std::abs(r.gates[0][2].item<double>() - std::exp(2.0) / z) < 1e-6);
  const double full = 2 * std::exp(3.0) + std::exp(2.0) + std::exp(1.0) + 1.0;
  BOOST_TEST(std::abs(r.probs[0][0].item<double>() - std::exp(1.0) / full) < 1e-6);
}

BOOST_AUTO_TEST_CASE(dispatch_from_spec) {
  const at::Tensor logits = at::randn({5, 8}, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor bias = at::randn({8}, at::TensorOptions().dtype(at::kFloat));
  FixtureSizes k3;
  k3.top_k = 3;
  auto v2 = model_spec_from_config(fixture_config(Family::DeepseekV2, k3));
  auto v3 = model_spec_from_config(fixture_config(Family::DeepseekV3, k3));
  auto oss = model_spec_from_config(fixture_config(Family::GptOss, {}));
  BOOST_REQUIRE(v2.ok() && v3.ok() && oss.ok());
  BOOST_TEST((v2->routing == RoutingKind::GroupLimitedGreedy));
  BOOST_TEST((v3->routing == RoutingKind::NoauxTc));
  BOOST_TEST((oss->routing == RoutingKind::TopkSoftmax));
  auto same = [](const Routing& a, const Routing& b) {
    return at::equal(a.selected, b.selected) && at::allclose(a.gates, b.gates) &&
           at::allclose(a.probs, b.probs);
  };
  BOOST_TEST(same(route(*v2, logits), route_group_limited_greedy(logits, 3, 4, 2, 1.5)));
  BOOST_TEST(same(route(*v3, logits, bias), route_noaux_tc(logits, bias, 3, 4, 2, true, 2.5)));
  BOOST_TEST(same(route(*oss, logits), route_topk_softmax(logits, 2)));
  // DeepSeek-V2 greedy: softmax top-k, never renormalised, times routed_scaling_factor.
  auto config = fixture_config(Family::DeepseekV2, k3);
  config["topk_method"] = "greedy";
  config["norm_topk_prob"] = true;  // ignored by transformers' DeepseekV2, and here
  auto greedy = model_spec_from_config(config);
  BOOST_REQUIRE(greedy.ok());
  const Routing g = route(*greedy, logits);
  const at::Tensor p = at::softmax(logits, -1);
  BOOST_TEST(at::allclose(g.gates, p.gather(1, g.selected) * 1.5));
}

BOOST_AUTO_TEST_CASE(hand_built_router_through_the_model) {
  struct Case {
    Family family;
    int top_k;
    std::vector<double> alpha, bias;  // bias: correction bias (V3) or router bias (gpt-oss)
    std::vector<int> expect;
    std::function<std::vector<double>(const std::vector<double>&)> gates;
  };
  auto softmax_p = [](const std::vector<double>& a, int e) {
    double z = 0;
    for (double v : a) z += std::exp(v);
    return std::exp(a[std::size_t(e)]) / z;
  };
  const std::vector<Case> cases = {
      // V2 group_limited_greedy: group max 1, 2.5, 2.45, 2.6 keeps groups 3 and 1; top-3 there:
      // 7, 2, then 3 (tied with 6 at 0); weights p * 1.5.
      {Family::DeepseekV2,
       3,
       {0, 1, 2.5, 0, 2.45, 2.44, 0, 2.6},
       {},
       {7, 2, 3},
       [&](const std::vector<double>& a) {
         return std::vector<double>{softmax_p(a, 7) * 1.5, softmax_p(a, 2) * 1.5,
                                    softmax_p(a, 3) * 1.5};
       }},
      // V3 noaux_tc: selection on sigmoid + bias in groups 3 and 2; weights sigmoid renormalised
      // x 2.5.
      {Family::DeepseekV3,
       3,
       {2, -1, 0, 0, 0.5, 0.5, -2, -1.5},
       {-1, 0, 0, 0, 0, 0, 1, 1},
       {7, 6, 4},
       [](const std::vector<double>& a) {
         const double z = sigmoid(a[7]) + sigmoid(a[6]) + sigmoid(a[4]);
         return std::vector<double>{sigmoid(a[7]) / z * 2.5, sigmoid(a[6]) / z * 2.5,
                                    sigmoid(a[4]) / z * 2.5};
       }},
      // gpt-oss: the router bias lifts expert 6 to 3.0; 3 and 5 tie at 2.5 (lower wins);
      // softmax over the two selected logits.
      {Family::GptOss,
       2,
       {0, 1, -1, 2.5, 0, 2.5, 0.5, -3},
       {0, 0, 0, 0, 0, 0, 2.5, 0},
       {6, 3},
       [](const std::vector<double>&) {
         const double z = 1.0 + std::exp(-0.5);
         return std::vector<double>{1.0 / z, std::exp(-0.5) / z};
       }},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(family_model_type(c.family)) {
      TempDir tmp;
      FixtureSizes sizes;
      sizes.top_k = c.top_k;
      const fs::path first = tmp.root / "a", second = tmp.root / "b";
      const MoeModelSpec spec = write_fixture(first, c.family, sizes);
      const int layer = spec.moe_layers().front();
      auto model = ForwardModel::open(first);
      BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
      at::Tensor x;  // the MoE input does not depend on this layer's router
      auto run = model->logits({3}, [&](const LayerObservation& o) {
        if (o.layer == layer) x = o.x.to(at::kDouble)[0];
      });
      BOOST_REQUIRE_MESSAGE(run.ok(), why(run));
      write_fixture(second, c.family, sizes, {}, [&](std::vector<TensorToWrite>& tensors) {
        set_router(tensors, spec, layer, x, c.alpha);
        const LayerSpec& L = spec.layers[std::size_t(layer)];
        if (!c.bias.empty()) {
          set_values(tensors, c.family == Family::GptOss ? L.router_bias : L.correction_bias,
                     c.bias);
        }
      });
      auto edited = ForwardModel::open(second);
      BOOST_REQUIRE_MESSAGE(edited.ok(), why(edited));
      LayerObservation seen;
      auto out = edited->logits({3}, [&](const LayerObservation& o) {
        if (o.layer == layer) seen = o;
      });
      BOOST_REQUIRE_MESSAGE(out.ok(), why(out));
      const std::vector<double> gates = c.gates(c.alpha);
      for (std::size_t j = 0; j < c.expect.size(); ++j) {
        BOOST_TEST(seen.selected[0][int64_t(j)].item<int64_t>() == c.expect[j]);
        BOOST_TEST(std::abs(seen.gates[0][int64_t(j)].item<double>() - gates[j]) < 1e-5);
      }
      Reference ref{edited->checkpoint(), edited->spec(), {}};
      const auto want = ref.logits({3});
      for (std::size_t v = 0; v < want[0].size(); ++v)
        BOOST_TEST(std::abs(want[0][v] - (*out)[0][int64_t(v)].item<double>()) < 1e-4);
    }
  }
}

BOOST_AUTO_TEST_CASE(tensor_errors_name_the_tensor) {
  struct Case {
    Family family;
    const char* tensor;
    bool reshape;  // mis-shaped instead of missing
  };
  const Case cases[] = {
      {Family::DeepseekV3, "model.layers.1.mlp.gate.e_score_correction_bias", false},
      {Family::DeepseekV3, "model.layers.0.self_attn.q_a_layernorm.weight", false},
      {Family::DeepseekV2, "model.layers.1.self_attn.kv_b_proj.weight", true},
      {Family::DeepseekV2, "model.layers.1.mlp.shared_experts.down_proj.weight", false},
      {Family::GptOss, "model.layers.0.self_attn.sinks", false},
      {Family::GptOss, "model.layers.1.mlp.router.bias", false},
      {Family::GptOss, "model.layers.1.mlp.experts.gate_up_proj_bias", true},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.tensor) {
      TempDir tmp;
      write_fixture(tmp.root, c.family, {}, {}, [&](std::vector<TensorToWrite>& tensors) {
        if (c.reshape) {
          auto& t = find_tensor(tensors, c.tensor);
          t.shape.back() -= 1;
          t.values.resize(t.values.size() / (t.shape.back() + 1) * t.shape.back());
        } else {
          std::erase_if(tensors, [&](const TensorToWrite& t) { return t.name == c.tensor; });
        }
      });
      auto model = ForwardModel::open(tmp.root);
      BOOST_REQUIRE(!model.ok());
      BOOST_TEST(why(model).find(c.tensor) != std::string::npos, why(model));
      BOOST_TEST(why(model).find(c.reshape ? "expected shape" : "missing") != std::string::npos,
                 why(model));
    }
  }
}

BOOST_AUTO_TEST_CASE(mtp_layers_are_ignored) {
  TempDir tmp;
  write_fixture(tmp.root, Family::DeepseekV3, {}, {}, [](std::vector<TensorToWrite>& tensors) {
    tensors.push_back({"model.layers.2.eh_proj.weight",
                       hc::Dtype::F32,
                       {32, 64},
                       std::vector<float>(32 * 64, 0.5f)});
    tensors.push_back({"model.layers.2.mlp.gate.weight",
                       hc::Dtype::F32,
                       {8, 32},
                       std::vector<float>(8 * 32, 0.5f)});
  });
  auto model = ForwardModel::open(tmp.root);
  BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
  BOOST_TEST(model->spec().layers.size() == 2u);
  BOOST_TEST(model->logits({1, 2, 3}).ok());
}

BOOST_AUTO_TEST_CASE(unsupported_configs_are_refused) {
  struct Case {
    Family family;
    ConfigEdit edit;
    const char* key;  // must appear in the message
  };
  const Case cases[] = {
      {Family::DeepseekV2,
       [](nlohmann::json& c) {
         c["rope_scaling"] = {{"type", "yarn"}, {"factor", 40}, {"mscale_all_dim", 0.707}};
       },
       "rope_scaling.type \"yarn\" is not supported for deepseek_v2"},
      {Family::GptOss,
       [](nlohmann::json& c) {
         c["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 32.0}};
       },
       "rope_scaling.rope_type \"dynamic\""},
      {Family::Qwen3Moe,
       [](nlohmann::json& c) {
         c["rope_parameters"] = {{"rope_type", "linear"}, {"rope_theta", 1e6}, {"factor", 2.0}};
       },
       "rope_parameters.rope_type"},
      {Family::DeepseekV2, [](nlohmann::json& c) { c["topk_method"] = "noaux_tc"; }, "topk_method"},
      {Family::DeepseekV3, [](nlohmann::json& c) { c["attention_bias"] = true; }, "attention_bias"},
      {Family::DeepseekV3, [](nlohmann::json& c) { c["n_group"] = 3; }, "n_group"},
      {Family::GptOss,
       [](nlohmann::json& c) {
         c["layer_types"] = {"sliding_attention", "x"};
       },
       "layer_types"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.key) {
      nlohmann::json config = fixture_config(c.family, {});
      c.edit(config);
      auto spec = model_spec_from_config(config);
      BOOST_REQUIRE(!spec.ok());
      BOOST_TEST(why(spec).find(c.key) != std::string::npos, why(spec));
    }
  }
  // Default RoPE written the transformers v5 way is accepted.
  nlohmann::json config = fixture_config(Family::DeepseekV3, {});
  config["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
  BOOST_TEST(model_spec_from_config(config).ok());
}

BOOST_AUTO_TEST_CASE(yarn_frequencies) {
  // gpt-oss-20b's yarn on a head of 8 at theta 150000, written out independently: the
  // correction range [low, high] in dims (not truncated), a linear ramp r_i over it, and
  // inv_freq_i = theta^(-2i/D) * ((1 - r_i) + r_i / factor); cos/sin scaled by 0.1 ln 32 + 1.
  nlohmann::json config = fixture_config(Family::GptOss, {});
  oss_yarn(config);
  auto oss = model_spec_from_config(config);
  BOOST_REQUIRE_MESSAGE(oss.ok(), why(oss));
  const double pi = 3.14159265358979323846, theta = 150000.0, D = 8;
  const double low = D * std::log(4096 / (32 * 2 * pi)) / (2 * std::log(theta));
  const double high = D * std::log(4096 / (1 * 2 * pi)) / (2 * std::log(theta));
  BOOST_REQUIRE(oss->rope_inv_freq.size() == 4u);
  for (int i = 0; i < 4; ++i) {
    const double r = std::min(1.0, std::max(0.0, (i - low) / (high - low)));
    const double want = std::pow(theta, -2.0 * i / D) * ((1 - r) + r / 32.0);
    BOOST_TEST(std::abs(oss->rope_inv_freq[std::size_t(i)] - want) <= 1e-12 * want, i);
  }
  BOOST_TEST(oss->rope_inv_freq[3] < std::pow(theta, -0.75) / 31.0);  // fully interpolated
  BOOST_TEST(oss->rope_inv_freq[0] == 1.0);                           // untouched
  BOOST_TEST(std::abs(oss->rope_attention_factor - (0.1 * std::log(32.0) + 1)) < 1e-12);
  BOOST_TEST(oss->softmax_scale_factor == 1.0);

  // DeepSeek-V3: truncated range on the 4 rotary dims; mscale == mscale_all_dim gives a cos/sin
  // factor of 1, and the softmax scale gains (0.1 ln 40 + 1)^2.
  config = fixture_config(Family::DeepseekV3, {});
  v3_yarn(config);
  auto v3 = model_spec_from_config(config);
  BOOST_REQUIRE_MESSAGE(v3.ok(), why(v3));
  const double lo =
      std::max(0.0, std::floor(4 * std::log(4096 / (32 * 2 * pi)) / (2 * std::log(1e4))));
  const double hi = std::min(3.0, std::ceil(4 * std::log(4096 / (2 * pi)) / (2 * std::log(1e4))));
  for (int i = 0; i < 2; ++i) {
    const double r = std::min(1.0, std::max(0.0, (i - lo) / (hi - lo)));
    const double want = std::pow(1e4, -2.0 * i / 4) * ((1 - r) + r / 40.0);
    BOOST_TEST(std::abs(v3->rope_inv_freq[std::size_t(i)] - want) <= 1e-12 * want, i);
  }
  BOOST_TEST(std::abs(v3->rope_attention_factor - 1.0) < 1e-12);
  const double m = 0.1 * std::log(40.0) + 1;
  BOOST_TEST(std::abs(v3->softmax_scale_factor - m * m) < 1e-12);
  // No rope scaling: the plain table.
  BOOST_TEST(std::abs(model_spec_from_config(fixture_config(Family::GptOss, {}))->rope_inv_freq[1] -
                      std::pow(150000.0, -0.25)) < 1e-15);
}

BOOST_AUTO_TEST_CASE(mxfp4_experts_are_refused_by_name) {
  TempDir tmp;
  write_fixture(tmp.root, Family::GptOss, {}, {}, [](std::vector<TensorToWrite>& tensors) {
    std::erase_if(tensors, [](const TensorToWrite& t) {
      return t.name.find("experts.gate_up_proj") != std::string::npos &&
             t.name.find("bias") == std::string::npos;
    });
    tensors.push_back({"model.layers.0.mlp.experts.gate_up_proj_blocks",
                       hc::Dtype::F32,
                       {8, 32, 1, 16},
                       std::vector<float>(8 * 32 * 16, 0.0f)});
  });
  auto model = ForwardModel::open(tmp.root);
  BOOST_REQUIRE(!model.ok());
  BOOST_TEST(why(model).find("model.layers.0.mlp.experts.gate_up_proj_blocks") != std::string::npos,
             why(model));
  BOOST_TEST(why(model).find("MXFP4") != std::string::npos, why(model));
}

BOOST_AUTO_TEST_SUITE_END()
