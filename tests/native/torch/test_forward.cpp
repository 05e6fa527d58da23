// LibTorch forward pass: streamed forward vs an independent plain-loop reference for the four
// families, routing rules on hand-built routers, causality, and missing-tensor errors.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "hc/native/checkpoint.hpp"
#include "hc/native/checkpoint_writer.hpp"
#include "hc/native/forward.hpp"
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

const Family kFamilies[] = {Family::Mixtral, Family::Qwen2Moe, Family::Qwen3Moe, Family::Olmoe};

std::vector<std::int32_t> some_ids(int n, int vocab, int salt = 0) {
  return hc::test::token_ids(n, vocab, 17, 5 + salt * 31);
}

// Writes a fixture from explicit tensors (so a test can edit them) and returns its spec.
MoeModelSpec write_fixture(const fs::path& dir, Family family, const FixtureSizes& sizes,
                           const std::function<void(nlohmann::json&)>& edit_config = {},
                           const std::function<void(std::vector<TensorToWrite>&)>& edit = {}) {
  nlohmann::json config = fixture_config(family, sizes);
  if (edit_config) edit_config(config);
  auto spec = model_spec_from_config(config);
  BOOST_REQUIRE_MESSAGE(spec.ok(), why(spec));
  auto tensors = random_tensors(*spec, 11, hc::Dtype::F32);
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

}  // namespace

BOOST_AUTO_TEST_SUITE(forward)

BOOST_AUTO_TEST_CASE(streamed_forward_matches_reference) {
  for (Family family : kFamilies) {
    for (bool dense_layer : {false, true}) {
      if (dense_layer && (family == Family::Mixtral || family == Family::Olmoe)) continue;
      BOOST_TEST_CONTEXT(family_model_type(family) << (dense_layer ? " +dense" : "")) {
        TempDir tmp;
        FixtureSizes sizes;
        if (dense_layer) sizes.mlp_only_layers = {0};
        BOOST_REQUIRE(write_random_checkpoint(tmp.root, family, sizes, 7).ok());
        auto model = ForwardModel::open(tmp.root);
        BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
        const auto ids = some_ids(9, model->spec().vocab_size);
        std::vector<LayerObservation> seen;
        auto logits = model->logits(ids, [&](const LayerObservation& o) { seen.push_back(o); });
        BOOST_REQUIRE_MESSAGE(logits.ok(), why(logits));
        BOOST_TEST(logits->size(0) == 9);
        BOOST_TEST(logits->size(1) == model->spec().vocab_size);
        Reference ref{model->checkpoint(), model->spec(), {}};
        const auto expect = ref.logits(ids);
        double worst = 0;
        for (std::size_t t = 0; t < ids.size(); ++t)
          for (std::size_t v = 0; v < expect[t].size(); ++v)
            worst = std::max(
                worst, std::abs(expect[t][v] - (*logits)[int64_t(t)][int64_t(v)].item<double>()));
        BOOST_TEST(worst < 1e-4);
        // Routing seen by the callback matches the reference's per token.
        BOOST_REQUIRE(seen.size() == model->spec().layers.size());
        std::size_t r = 0;
        for (const auto& o : seen) {
          BOOST_TEST(o.moe == model->spec().layers[std::size_t(o.layer)].moe);
          if (!o.moe) continue;
          BOOST_TEST(o.router_probs.size(1) == model->spec().num_experts);
          for (int64_t t = 0; t < int64_t(ids.size()); ++t, ++r) {
            for (int j = 0; j < model->spec().top_k; ++j) {
              BOOST_TEST(o.selected[t][j].item<int64_t>() == ref.selected[r][std::size_t(j)]);
              BOOST_TEST(std::abs(o.gates[t][j].item<double>() - ref.gates[r][std::size_t(j)]) <
                         1e-5);
            }
          }
        }
        BOOST_TEST(r == ref.selected.size());
        auto ppl = model->perplexity(ids);
        BOOST_REQUIRE_MESSAGE(ppl.ok(), why(ppl));
        BOOST_TEST(std::isfinite(*ppl));
        BOOST_TEST(*ppl > 1.0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(routing_rule_on_hand_built_logits) {
  // p ∝ (1, 4, 2, 4, 1): experts 1 and 3 tie; the lower index comes first.
  const at::Tensor logits =
      at::log(at::tensor({1.0f, 4.0f, 2.0f, 4.0f, 1.0f})).unsqueeze(0);  // [1, 5]
  for (bool renorm : {false, true}) {
    const Routing r = route_softmax_topk(logits, 3, renorm);
    BOOST_TEST(r.selected[0][0].item<int64_t>() == 1);
    BOOST_TEST(r.selected[0][1].item<int64_t>() == 3);
    BOOST_TEST(r.selected[0][2].item<int64_t>() == 2);
    const double scale = renorm ? 10.0 : 12.0;
    BOOST_TEST(std::abs(r.gates[0][0].item<double>() - 4.0 / scale) < 1e-6);
    BOOST_TEST(std::abs(r.gates[0][2].item<double>() - 2.0 / scale) < 1e-6);
  }
  // All equal: the first k experts.
  const Routing flat = route_softmax_topk(at::zeros({2, 8}), 2, false);
  BOOST_TEST(flat.selected[1][0].item<int64_t>() == 0);
  BOOST_TEST(flat.selected[1][1].item<int64_t>() == 1);
  BOOST_TEST(std::abs(flat.gates[1][1].item<double>() - 0.125) < 1e-7);
}

BOOST_AUTO_TEST_CASE(routing_rule_on_hand_built_router) {
  // One token: x at layer 0 does not depend on the router, so a router with rows
  // alpha_e * x / |x|^2 gives logits exactly alpha.
  const std::vector<double> alpha = {0.0, 1.0, -1.0, 2.5, 0.0, 2.5, 0.5, -3.0};  // tie 3/5
  for (Family family : kFamilies) {
    BOOST_TEST_CONTEXT(family_model_type(family)) {
      TempDir tmp;
      const fs::path first = tmp.root / "a", second = tmp.root / "b";
      MoeModelSpec spec = write_fixture(first, family, {});
      auto model = ForwardModel::open(first);
      BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
      at::Tensor x;
      auto run = model->logits({3}, [&](const LayerObservation& o) {
        if (o.layer == 0) x = o.x.to(at::kDouble)[0];
      });
      BOOST_REQUIRE_MESSAGE(run.ok(), why(run));
      const at::Tensor dir = x / x.dot(x);
      double gate_logit = 0.7;  // qwen2_moe shared expert gate: sigmoid(0.7)
      write_fixture(second, family, {}, {}, [&](std::vector<TensorToWrite>& tensors) {
        auto& router = find_tensor(tensors, spec.layers[0].router);
        for (int e = 0; e < spec.num_experts; ++e)
          for (int i = 0; i < spec.hidden_size; ++i)
            router.values[std::size_t(e * spec.hidden_size + i)] =
                float(alpha[std::size_t(e)] * dir[i].item<double>());
        if (!spec.layers[0].shared_expert_gate.empty()) {
          auto& sg = find_tensor(tensors, spec.layers[0].shared_expert_gate);
          for (int i = 0; i < spec.hidden_size; ++i)
            sg.values[std::size_t(i)] = float(gate_logit * dir[i].item<double>());
        }
      });
      auto edited = ForwardModel::open(second);
      BOOST_REQUIRE_MESSAGE(edited.ok(), why(edited));
      LayerObservation zero;
      auto out = edited->logits({3}, [&](const LayerObservation& o) {
        if (o.layer == 0) zero = o;
      });
      BOOST_REQUIRE_MESSAGE(out.ok(), why(out));
      BOOST_TEST(zero.selected[0][0].item<int64_t>() == 3);  // tie with 5: lower index first
      BOOST_TEST(zero.selected[0][1].item<int64_t>() == 5);
      double z = 0;
      for (double a : alpha) z += std::exp(a);
      const double p = std::exp(2.5) / z;
      const double expect = spec.norm_topk_prob ? 0.5 : p;
      BOOST_TEST(spec.norm_topk_prob == (family == Family::Mixtral || family == Family::Qwen3Moe));
      BOOST_TEST(std::abs(zero.gates[0][0].item<double>() - expect) < 1e-5);
      BOOST_TEST(std::abs(zero.gates[0][1].item<double>() - expect) < 1e-5);
      // The whole model (including sigmoid(shared_expert_gate . x)) against the reference.
      Reference ref{edited->checkpoint(), edited->spec(), {}};
      const auto want = ref.logits({3});
      for (std::size_t v = 0; v < want[0].size(); ++v)
        BOOST_TEST(std::abs(want[0][v] - (*out)[0][int64_t(v)].item<double>()) < 1e-4);
    }
  }
}

BOOST_AUTO_TEST_CASE(causal) {
  for (Family family : kFamilies) {
    BOOST_TEST_CONTEXT(family_model_type(family)) {
      TempDir tmp;
      BOOST_REQUIRE(write_random_checkpoint(tmp.root, family, {}, 5).ok());
      auto model = ForwardModel::open(tmp.root);
      BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
      auto a_ids = some_ids(8, model->spec().vocab_size), b_ids = a_ids;
      for (std::size_t t = 4; t < b_ids.size(); ++t) b_ids[t] = (b_ids[t] + 13) % 64;
      auto a = model->logits(a_ids), b = model->logits(b_ids);
      BOOST_REQUIRE(a.ok());
      BOOST_REQUIRE(b.ok());
      BOOST_TEST(at::allclose(a->narrow(0, 0, 4), b->narrow(0, 0, 4), 0.0, 1e-6));
      BOOST_TEST(!at::allclose(a->narrow(0, 4, 4), b->narrow(0, 4, 4), 0.0, 1e-6));
    }
  }
}

BOOST_AUTO_TEST_CASE(errors) {
  TempDir tmp;
  MoeModelSpec spec =
      write_fixture(tmp.root, Family::Qwen2Moe, {}, {}, [&](std::vector<TensorToWrite>& tensors) {
        std::erase_if(tensors, [](const TensorToWrite& t) {
          return t.name == "model.layers.1.self_attn.k_proj.bias";
        });
      });
  auto model = ForwardModel::open(tmp.root);
  BOOST_REQUIRE(!model.ok());
  BOOST_TEST(why(model).find("model.layers.1.self_attn.k_proj.bias") != std::string::npos,
             why(model));

  TempDir good;
  BOOST_REQUIRE(write_random_checkpoint(good.root, Family::Olmoe, {}, 3).ok());
  auto ok = ForwardModel::open(good.root);
  BOOST_REQUIRE(ok.ok());
  auto bad_id = ok->logits({1, 64});
  BOOST_REQUIRE(!bad_id.ok());
  BOOST_TEST((bad_id.error().code == hc::ErrorCode::InvalidArgument));
  BOOST_TEST(!ok->perplexity({1}).ok());
  BOOST_TEST(!ok->run_layer(99, at::zeros({1, 32})).ok());
}

BOOST_AUTO_TEST_SUITE_END()
