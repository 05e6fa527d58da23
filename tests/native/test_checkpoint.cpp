// Checkpoint reading and writing: number decoding, write->open round trips for the four
// families, FP8 block scales, every malformed-checkpoint error, and `hodgecover info DIR`.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "hc/native/checkpoint.hpp"
#include "hc/native/dtype_convert.hpp"
#include "hc/native/model_spec.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::contains;
using hc::test::TempDir;

namespace {

const Family kFamilies[] = {Family::Mixtral,    Family::Qwen2Moe,   Family::Qwen3Moe, Family::Olmoe,
                            Family::DeepseekV2, Family::DeepseekV3, Family::GptOss};

// The error message of a result, "" when it holds a value (Boost evaluates messages eagerly).
template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

// Writes a fixture and requires success.
void make_fixture(const fs::path& dir, Family family, hc::Dtype dtype = hc::Dtype::F32,
                  std::uint64_t shard_bytes = 0, const FixtureSizes& sizes = {}) {
  const auto err = write_random_checkpoint(dir, family, sizes, 7, dtype, shard_bytes);
  BOOST_REQUIRE_MESSAGE(err.ok(), (err.ok() ? "" : err.error().message));
}

// The error message of opening + validating `dir`, or "" when it is fine.
std::string open_error(const fs::path& dir) {
  auto ckpt = open_checkpoint(dir);
  if (!ckpt.ok()) return ckpt.error().message;
  auto spec = model_spec_for(*ckpt);
  if (!spec.ok()) return spec.error().message;
  auto valid = validate_checkpoint(*spec, *ckpt);
  return valid.ok() ? "" : valid.error().message;
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json config = nlohmann::json::parse(hc::test::slurp(dir / "config.json"));
  edit(config);
  hc::test::spit(dir / "config.json", config.dump());
}

// The shard the index assigns to `tensor`.
std::string shard_of(const fs::path& dir, const std::string& tensor) {
  auto index = nlohmann::json::parse(hc::test::slurp(dir / "model.safetensors.index.json"));
  return index["weight_map"][tensor].get<std::string>();
}

float stored(hc::Dtype dtype, float v) {
  if (dtype == hc::Dtype::BF16) return bf16_to_f32(f32_to_bf16(v));
  if (dtype == hc::Dtype::F16) return f16_to_f32(f32_to_f16(v));
  return v;
}

void add_raw(hc::SafetensorsWriter& w, const std::string& name, hc::Dtype dtype,
             std::vector<std::uint64_t> shape, const std::vector<std::uint8_t>& bytes) {
  BOOST_REQUIRE(w.add_tensor(name, dtype, std::move(shape), bytes).ok());
}

void write_shard(const fs::path& path, const hc::SafetensorsWriter& w) {
  const auto bytes = w.serialize();
  hc::test::spit(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint)

BOOST_AUTO_TEST_CASE(fp8_e4m3_known_values) {
  BOOST_TEST(fp8_e4m3_to_f32(0x7E) == 448.0f);
  BOOST_TEST(fp8_e4m3_to_f32(0xFE) == -448.0f);
  BOOST_TEST(fp8_e4m3_to_f32(0x08) == std::ldexp(1.0f, -6));  // min normal
  BOOST_TEST(fp8_e4m3_to_f32(0x01) == std::ldexp(1.0f, -9));  // min subnormal
  BOOST_TEST(fp8_e4m3_to_f32(0x38) == 1.0f);
  BOOST_TEST(std::isnan(fp8_e4m3_to_f32(0x7F)));
  BOOST_TEST(std::isnan(fp8_e4m3_to_f32(0xFF)));
  BOOST_TEST(!std::isinf(fp8_e4m3_to_f32(0x78)));  // e=15, m=0 is finite (256) in "fn"
  BOOST_TEST(fp8_e4m3_to_f32(0x78) == 256.0f);
  BOOST_TEST(std::signbit(fp8_e4m3_to_f32(0x80)));
}

BOOST_AUTO_TEST_CASE(fp8_e4m3_encoding) {
  for (int code = 0; code < 256; ++code) {
    if ((code & 0x7f) == 0x7f) continue;  // NaN
    BOOST_REQUIRE_EQUAL(int(f32_to_fp8_e4m3(fp8_e4m3_to_f32(std::uint8_t(code)))), code);
  }
  BOOST_TEST(int(f32_to_fp8_e4m3(1.0625f)) == 0x38);     // tie between 1 and 1.125: even code
  BOOST_TEST(int(f32_to_fp8_e4m3(1.1875f)) == 0x3a);     // tie between 1.125 and 1.25: even code
  BOOST_TEST(int(f32_to_fp8_e4m3(1.07f)) == 0x39);       // nearest
  BOOST_TEST(int(f32_to_fp8_e4m3(-1000.0f)) == 0xfe);    // saturates at -448
  BOOST_TEST(int(f32_to_fp8_e4m3(0x1.0p-11f)) == 0x00);  // below half the smallest subnormal
}

BOOST_AUTO_TEST_CASE(deepseek_v3_fp8_fixture) {
  TempDir tmp;
  make_fixture(tmp.root / "m", Family::DeepseekV3, hc::Dtype::F8_E4M3);
  auto ckpt = open_checkpoint(tmp.root / "m");
  BOOST_REQUIRE_MESSAGE(ckpt.ok(), why(ckpt));
  auto spec = model_spec_for(*ckpt);
  BOOST_REQUIRE_MESSAGE(spec.ok(), why(spec));
  const auto valid = validate_checkpoint(*spec, *ckpt);
  BOOST_REQUIRE_MESSAGE(valid.ok(), (valid.ok() ? std::string() : valid.error().message));
  const std::string up = "model.layers.1.mlp.experts.3.up_proj.weight";  // [16, 32]: 2x4 blocks
  BOOST_TEST((ckpt->info(up)->dtype == hc::Dtype::F8_E4M3));
  BOOST_TEST(shape_text(ckpt->info(up + "_scale_inv")->shape) == "[2, 4]");
  BOOST_TEST((ckpt->info("model.layers.1.mlp.gate.weight")->dtype == hc::Dtype::BF16));
  BOOST_TEST(
      (ckpt->info("model.layers.1.self_attn.kv_b_proj.weight")->dtype == hc::Dtype::F8_E4M3));
  BOOST_TEST(!ckpt->has("model.layers.1.self_attn.kv_a_layernorm.weight_scale_inv"));
  // Dequantised values are the original ones within E4M3 precision (3 mantissa bits).
  const auto original = random_tensors(*spec, 7, hc::Dtype::BF16);
  for (const auto& t : original) {
    if (t.name != up) continue;
    auto values = ckpt->read_f32(up);
    BOOST_REQUIRE(values.ok());
    for (std::size_t i = 0; i < t.values.size(); ++i)
      BOOST_REQUIRE_LE(std::abs((*values)[i] - t.values[i]), 0.0625 * std::abs(t.values[i]) + 1e-6);
  }
}

BOOST_AUTO_TEST_CASE(f16_known_values_and_rounding) {
  BOOST_TEST(f16_to_f32(0x7BFF) == 65504.0f);
  BOOST_TEST(f16_to_f32(0x3C00) == 1.0f);
  BOOST_TEST(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  BOOST_TEST(f16_to_f32(0x0400) == std::ldexp(1.0f, -14));
  BOOST_TEST(std::isinf(f16_to_f32(0x7C00)));
  BOOST_TEST(std::isnan(f16_to_f32(0x7E00)));
  BOOST_TEST(f32_to_f16(65504.0f) == 0x7BFF);
  BOOST_TEST(f32_to_f16(65519.0f) == 0x7BFF);
  BOOST_TEST(f32_to_f16(65520.0f) == 0x7C00);  // tie rounds to even = infinity
  BOOST_TEST(f32_to_f16(1e9f) == 0x7C00);
  BOOST_TEST(f32_to_f16(-1.0f) == 0xBC00);
  BOOST_TEST(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);         // tie to even (0)
  BOOST_TEST(f32_to_f16(3 * std::ldexp(1.0f, -25)) == 0x0002);     // tie to even (2)
  BOOST_TEST(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // tie, even mantissa stays
  BOOST_TEST(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);
  BOOST_TEST((f32_to_f16(NAN) & 0x7C00) == 0x7C00);
  BOOST_TEST((f32_to_f16(NAN) & 0x03FF) != 0);
  // Every non-NaN half round-trips exactly.
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;
    BOOST_REQUIRE_EQUAL(f32_to_f16(f16_to_f32(std::uint16_t(h))), h);
  }
}

BOOST_AUTO_TEST_CASE(bf16_known_values_and_rounding) {
  BOOST_TEST(bf16_to_f32(0x3F80) == 1.0f);
  BOOST_TEST(bf16_to_f32(0xC040) == -3.0f);
  auto from_bits = [](std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  BOOST_TEST(f32_to_bf16(from_bits(0x3F808000)) == 0x3F80);  // tie -> even
  BOOST_TEST(f32_to_bf16(from_bits(0x3F818000)) == 0x3F82);  // tie -> even (up)
  BOOST_TEST(f32_to_bf16(from_bits(0x3F808001)) == 0x3F81);
  BOOST_TEST(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7F80) == 0x7F80 && (h & 0x7F)) continue;
    BOOST_REQUIRE_EQUAL(f32_to_bf16(bf16_to_f32(std::uint16_t(h))), h);
  }
}

BOOST_AUTO_TEST_CASE(round_trip_every_family_and_dtype) {
  for (Family family : kFamilies) {
    for (hc::Dtype dtype : {hc::Dtype::F32, hc::Dtype::BF16, hc::Dtype::F16}) {
      for (std::uint64_t shard_bytes : {std::uint64_t(0), std::uint64_t(16'000)}) {
        BOOST_TEST_CONTEXT(family_model_type(family)
                           << " " << hc::dtype_name(dtype) << " shard " << shard_bytes) {
          TempDir tmp;
          const fs::path dir = tmp.root / "model";
          make_fixture(dir, family, dtype, shard_bytes);
          auto ckpt = open_checkpoint(dir);
          BOOST_REQUIRE_MESSAGE(ckpt.ok(), why(ckpt));
          BOOST_TEST(ckpt->indexed() == (shard_bytes > 0));
          if (shard_bytes > 0) {
            BOOST_TEST(ckpt->shards().size() > 2u);
            BOOST_TEST(fs::exists(dir / "model.safetensors.index.json"));
          } else {
            BOOST_TEST(ckpt->shards().size() == 1u);
          }
          auto spec = model_spec_for(*ckpt);
          BOOST_REQUIRE_MESSAGE(spec.ok(), why(spec));
          BOOST_TEST((spec->family == family));
          BOOST_REQUIRE(validate_checkpoint(*spec, *ckpt).ok());
          const auto expected = random_tensors(*spec, 7, dtype);
          BOOST_TEST(ckpt->tensor_names().size() == expected.size());
          for (const auto& t : expected) {
            auto values = ckpt->read_f32(t.name);
            BOOST_REQUIRE_MESSAGE(values.ok(), why(values));
            BOOST_REQUIRE_EQUAL(values->size(), t.values.size());
            for (std::size_t i = 0; i < t.values.size(); ++i) {
              BOOST_REQUIRE_EQUAL((*values)[i], stored(dtype, t.values[i]));
            }
            BOOST_TEST((ckpt->info(t.name)->dtype == dtype));
          }
          for (const auto& file : fs::directory_iterator(tmp.root)) {
            BOOST_TEST(file.path().filename() == "model");  // no temporary left behind
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(family_names_and_shapes) {
  TempDir tmp;
  make_fixture(tmp.root / "mixtral", Family::Mixtral);
  make_fixture(tmp.root / "qwen2", Family::Qwen2Moe);
  FixtureSizes dense_first;
  dense_first.mlp_only_layers = {0};
  make_fixture(tmp.root / "qwen3", Family::Qwen3Moe, hc::Dtype::F32, 0, dense_first);
  make_fixture(tmp.root / "olmoe", Family::Olmoe);
  auto shape_of = [&](const char* model, const std::string& name) {
    auto ckpt = open_checkpoint(tmp.root / model);
    BOOST_REQUIRE(ckpt.ok());
    auto info = ckpt->info(name);
    BOOST_REQUIRE_MESSAGE(info.ok(), why(info));
    return shape_text(info->shape);
  };
  BOOST_TEST(shape_of("mixtral", "model.layers.1.block_sparse_moe.experts.7.w2.weight") ==
             "[32, 16]");
  BOOST_TEST(shape_of("mixtral", "model.layers.0.block_sparse_moe.gate.weight") == "[8, 32]");
  BOOST_TEST(shape_of("qwen2", "model.layers.0.mlp.shared_expert_gate.weight") == "[1, 32]");
  BOOST_TEST(shape_of("qwen2", "model.layers.1.mlp.shared_expert.up_proj.weight") == "[32, 32]");
  BOOST_TEST(shape_of("qwen2", "model.layers.0.self_attn.k_proj.bias") == "[16]");
  BOOST_TEST(shape_of("qwen3", "model.layers.0.mlp.gate_proj.weight") == "[48, 32]");
  BOOST_TEST(shape_of("qwen3", "model.layers.1.mlp.experts.3.up_proj.weight") == "[16, 32]");
  BOOST_TEST(shape_of("qwen3", "model.layers.1.self_attn.q_norm.weight") == "[8]");
  BOOST_TEST(shape_of("olmoe", "model.layers.1.self_attn.q_norm.weight") == "[32]");
  BOOST_TEST(shape_of("olmoe", "model.layers.1.self_attn.k_norm.weight") == "[16]");
  BOOST_TEST(shape_of("olmoe", "lm_head.weight") == "[64, 32]");

  make_fixture(tmp.root / "v2", Family::DeepseekV2);
  make_fixture(tmp.root / "v3", Family::DeepseekV3);
  make_fixture(tmp.root / "oss", Family::GptOss);
  BOOST_TEST(shape_of("v2", "model.layers.0.mlp.gate_proj.weight") == "[48, 32]");  // dense
  BOOST_TEST(shape_of("v2", "model.layers.1.self_attn.q_proj.weight") == "[48, 32]");
  BOOST_TEST(shape_of("v2", "model.layers.1.self_attn.kv_a_proj_with_mqa.weight") == "[20, 32]");
  BOOST_TEST(shape_of("v2", "model.layers.1.self_attn.kv_b_proj.weight") == "[64, 16]");
  BOOST_TEST(shape_of("v2", "model.layers.1.self_attn.o_proj.weight") == "[32, 32]");
  BOOST_TEST(shape_of("v2", "model.layers.1.mlp.shared_experts.down_proj.weight") == "[32, 16]");
  BOOST_TEST(shape_of("v3", "model.layers.1.self_attn.q_a_proj.weight") == "[24, 32]");
  BOOST_TEST(shape_of("v3", "model.layers.1.self_attn.q_b_proj.weight") == "[48, 24]");
  BOOST_TEST(shape_of("v3", "model.layers.1.mlp.gate.e_score_correction_bias") == "[8]");
  BOOST_TEST(shape_of("v3", "model.layers.1.mlp.experts.7.down_proj.weight") == "[32, 16]");
  BOOST_TEST(shape_of("oss", "model.layers.0.mlp.experts.gate_up_proj") == "[8, 32, 32]");
  BOOST_TEST(shape_of("oss", "model.layers.0.mlp.experts.gate_up_proj_bias") == "[8, 32]");
  BOOST_TEST(shape_of("oss", "model.layers.0.mlp.experts.down_proj") == "[8, 16, 32]");
  BOOST_TEST(shape_of("oss", "model.layers.1.mlp.router.bias") == "[8]");
  BOOST_TEST(shape_of("oss", "model.layers.1.self_attn.sinks") == "[4]");
  BOOST_TEST(shape_of("oss", "model.layers.1.self_attn.o_proj.bias") == "[32]");
  for (const char* model : {"v2", "v3"}) {
    auto ckpt = open_checkpoint(tmp.root / model);
    BOOST_REQUIRE(ckpt.ok());
    BOOST_TEST(!ckpt->has("model.layers.0.mlp.gate.weight"));  // first_k_dense_replace = 1
    auto deepseek = model_spec_for(*ckpt);
    BOOST_REQUIRE_MESSAGE(deepseek.ok(), why(deepseek));
    BOOST_TEST(deepseek->moe_layers() == std::vector<int>{1});
    BOOST_TEST((deepseek->attention == AttentionKind::Mla));
  }
  auto oss = model_spec_for(*open_checkpoint(tmp.root / "oss"));
  BOOST_REQUIRE_MESSAGE(oss.ok(), why(oss));
  BOOST_TEST((oss->layout == ExpertLayout::FusedInterleaved));
  BOOST_TEST(oss->layers[0].sliding);
  BOOST_TEST(!oss->layers[1].sliding);

  auto qwen3 = open_checkpoint(tmp.root / "qwen3");
  auto spec = model_spec_for(*qwen3);
  BOOST_REQUIRE(spec.ok());
  BOOST_TEST(spec->moe_layers() == std::vector<int>{1});
  BOOST_TEST(spec->norm_topk_prob);
  BOOST_TEST(spec->head_dim == 8);
  BOOST_TEST(spec->num_kv_heads == 2);
  auto qwen2 = model_spec_from_config(fixture_config(Family::Qwen2Moe, {}));
  BOOST_REQUIRE(qwen2.ok());
  BOOST_TEST(qwen2->shared_expert_intermediate_size == 32);
  BOOST_TEST(qwen2->shared_expert_gate);
  BOOST_TEST(!qwen2->norm_topk_prob);
  auto mixtral = model_spec_from_config(fixture_config(Family::Mixtral, {}));
  BOOST_TEST(mixtral->moe_intermediate_size == 16);
  BOOST_TEST(mixtral->rope_theta == 1e6);
}

BOOST_AUTO_TEST_CASE(fused_expert_layout_is_detected) {
  TempDir tmp;
  auto config = fixture_config(Family::Qwen3Moe, {});
  auto fused = model_spec_from_config(config, ExpertLayout::Fused);
  BOOST_REQUIRE(fused.ok());
  BOOST_TEST(fused->layers[1].fused_gate_up == "model.layers.1.mlp.experts.gate_up_proj");
  BOOST_REQUIRE(
      write_checkpoint(tmp.root / "m", config, random_tensors(*fused, 1, hc::Dtype::F32)).ok());
  auto ckpt = open_checkpoint(tmp.root / "m");
  BOOST_REQUIRE(ckpt.ok());
  auto spec = model_spec_for(*ckpt);
  BOOST_REQUIRE(spec.ok());
  BOOST_TEST((spec->layout == ExpertLayout::Fused));
  BOOST_TEST(shape_text(ckpt->info("model.layers.0.mlp.experts.gate_up_proj")->shape) ==
             "[8, 32, 32]");
  BOOST_TEST(validate_checkpoint(*spec, *ckpt).ok());
}

BOOST_AUTO_TEST_CASE(fp8_block_scales_across_shards) {
  TempDir tmp;
  const fs::path dir = tmp.root / "fp8";
  fs::create_directory(dir);
  auto config = fixture_config(Family::Qwen3Moe, {});
  config["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {2, 4}}};
  hc::test::spit(dir / "config.json", config.dump());
  // W_q [3, 5]: element (i, j) = 1.0 (0x38) except (2, 4) = 448 (0x7E) and (0, 1) = 2^-9.
  std::vector<std::uint8_t> q(15, 0x38);
  q[2 * 5 + 4] = 0x7E;
  q[0 * 5 + 1] = 0x01;
  // BF16 scales [ceil(3/2), ceil(5/4)] = [2, 2]: 2, 4 / 0.5, 8.
  const std::vector<float> s = {2.0f, 4.0f, 0.5f, 8.0f};
  hc::SafetensorsWriter a, b;
  a.set_metadata("format", "pt");
  b.set_metadata("format", "pt");
  add_raw(a, "w.weight", hc::Dtype::F8_E4M3, {3, 5}, q);
  add_raw(b, "w.weight_scale_inv", hc::Dtype::BF16, {2, 2}, encode_f32(hc::Dtype::BF16, s));
  write_shard(dir / "a.safetensors", a);
  write_shard(dir / "b.safetensors", b);
  const nlohmann::json index = {
      {"metadata", nlohmann::json::object()},
      {"weight_map", {{"w.weight", "a.safetensors"}, {"w.weight_scale_inv", "b.safetensors"}}}};
  hc::test::spit(dir / "model.safetensors.index.json", index.dump());

  auto ckpt = open_checkpoint(dir);
  BOOST_REQUIRE_MESSAGE(ckpt.ok(), why(ckpt));
  auto w = ckpt->read_f32("w.weight");
  BOOST_REQUIRE_MESSAGE(w.ok(), why(w));
  const std::vector<float> want = {2,         2 * std::ldexp(1.0f, -9),
                                   2,         2,
                                   4,  //
                                   2,         2,
                                   2,         2,
                                   4,  //
                                   0.5f,      0.5f,
                                   0.5f,      0.5f,
                                   448 * 8.0f};
  BOOST_TEST(*w == want, boost::test_tools::per_element());

  // Default block size 128 and a wrongly shaped scale.
  config.erase("quantization_config");
  hc::test::spit(dir / "config.json", config.dump());
  auto plain = open_checkpoint(dir);
  BOOST_REQUIRE(plain.ok());
  auto bad = plain->read_f32("w.weight");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(
      contains(bad.error().message, "w.weight_scale_inv: expected shape [1, 1], found [2, 2]"));
}

BOOST_AUTO_TEST_CASE(missing_shard) {
  TempDir tmp;
  make_fixture(tmp.root / "m", Family::Qwen2Moe, hc::Dtype::BF16, 8'000);
  const std::string shard = shard_of(tmp.root / "m", "model.layers.1.mlp.gate.weight");
  fs::remove(tmp.root / "m" / shard);
  const std::string err = open_error(tmp.root / "m");
  BOOST_TEST(contains(err, shard), err);
  BOOST_TEST(contains(err, "not found"), err);
}

BOOST_AUTO_TEST_CASE(index_names_tensor_absent_from_shard) {
  TempDir tmp;
  const fs::path dir = tmp.root / "m";
  make_fixture(dir, Family::Olmoe, hc::Dtype::F32, 20'000);
  auto index = nlohmann::json::parse(hc::test::slurp(dir / "model.safetensors.index.json"));
  const std::string moved = "model.layers.1.mlp.experts.3.down_proj.weight";
  const std::string first = index["weight_map"]["model.embed_tokens.weight"];
  const std::string shard = index["weight_map"][moved] == first
                                ? index["weight_map"]["lm_head.weight"].get<std::string>()
                                : first;
  BOOST_REQUIRE(shard != index["weight_map"][moved]);
  index["weight_map"][moved] = shard;
  hc::test::spit(dir / "model.safetensors.index.json", index.dump());
  const std::string err = open_error(dir);
  BOOST_TEST(contains(err, moved), err);
  BOOST_TEST(contains(err, shard), err);
}

BOOST_AUTO_TEST_CASE(stray_shards_outside_the_index_are_ignored) {
  TempDir tmp;
  const fs::path dir = tmp.root / "m";
  make_fixture(dir, Family::Mixtral, hc::Dtype::F32, 20'000);
  hc::test::spit(dir / "consolidated.safetensors", "garbage");
  BOOST_TEST(open_error(dir) == "");
}

BOOST_AUTO_TEST_CASE(shape_mismatch_names_the_tensor) {
  TempDir tmp;
  auto config = fixture_config(Family::Qwen3Moe, {});
  auto spec = model_spec_from_config(config);
  BOOST_REQUIRE(spec.ok());
  auto tensors = random_tensors(*spec, 3, hc::Dtype::F32);
  for (auto& t : tensors) {
    if (t.name == "model.layers.1.mlp.experts.5.up_proj.weight") {
      t.shape = {12, 32};
      t.values.resize(12 * 32);
    }
  }
  BOOST_REQUIRE(write_checkpoint(tmp.root / "m", config, tensors).ok());
  const std::string err = open_error(tmp.root / "m");
  BOOST_TEST(contains(err,
                      "model.layers.1.mlp.experts.5.up_proj.weight: expected shape "
                      "[16, 32], found [12, 32]"),
             err);
}

BOOST_AUTO_TEST_CASE(missing_tensor_names_the_tensor) {
  TempDir tmp;
  auto config = fixture_config(Family::Mixtral, {});
  auto spec = model_spec_from_config(config);
  auto tensors = random_tensors(*spec, 3, hc::Dtype::F32);
  std::erase_if(tensors, [](const TensorToWrite& t) {
    return t.name == "model.layers.0.block_sparse_moe.experts.2.w3.weight";
  });
  BOOST_REQUIRE(write_checkpoint(tmp.root / "m", config, tensors).ok());
  const std::string err = open_error(tmp.root / "m");
  BOOST_TEST(contains(err, "missing tensor model.layers.0.block_sparse_moe.experts.2.w3.weight"),
             err);
}

BOOST_AUTO_TEST_CASE(truncated_shard) {
  TempDir tmp;
  make_fixture(tmp.root / "m", Family::Mixtral);
  const fs::path shard = tmp.root / "m" / "model.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 10);
  const std::string err = open_error(tmp.root / "m");
  BOOST_TEST(contains(err, shard.string()), err);
}

BOOST_AUTO_TEST_CASE(bad_config) {
  TempDir tmp;
  const fs::path dir = tmp.root / "m";
  make_fixture(dir, Family::Qwen3Moe);
  hc::test::spit(dir / "config.json", "{\"model_type\": \"qwen3_moe\",");
  BOOST_TEST(contains(open_error(dir), "config.json: invalid JSON"));
  fs::remove(dir / "config.json");
  BOOST_TEST(contains(open_error(dir), "directory is not a checkpoint (no config.json)"));

  make_fixture(tmp.root / "k", Family::Qwen3Moe);
  edit_config(tmp.root / "k", [](nlohmann::json& c) { c.erase("num_experts"); });
  BOOST_TEST(contains(open_error(tmp.root / "k"), "config.json: missing key num_experts"));
  edit_config(tmp.root / "k", [](nlohmann::json& c) { c["num_experts"] = "eight"; });
  BOOST_TEST(contains(open_error(tmp.root / "k"), "num_experts must be a non-negative integer"));
  edit_config(tmp.root / "k", [](nlohmann::json& c) { c["model_type"] = "llama"; });
  const std::string err = open_error(tmp.root / "k");
  BOOST_TEST(contains(err, "unsupported model_type \"llama\""), err);
  BOOST_TEST(contains(err, "mixtral, qwen2_moe, qwen3_moe, olmoe"), err);
}

BOOST_AUTO_TEST_CASE(writer_refuses_non_empty_target) {
  TempDir tmp;
  make_fixture(tmp.root / "m", Family::Olmoe);
  const auto err = write_random_checkpoint(tmp.root / "m", Family::Olmoe, {}, 1);
  BOOST_REQUIRE(!err.ok());
  BOOST_TEST(contains(err.error().message, "already exists"));
  fs::create_directory(tmp.root / "empty");
  make_fixture(tmp.root / "empty", Family::Olmoe);  // an empty directory is replaced
  BOOST_TEST(open_error(tmp.root / "empty") == "");
  auto index = nlohmann::json::parse(hc::test::slurp(tmp.root / "m" / "config.json"));
  BOOST_TEST(index["model_type"] == "olmoe");
}

BOOST_AUTO_TEST_CASE(writer_tokenizer_and_failed_write_leaves_nothing) {
  TempDir tmp;
  CheckpointWriteOptions options;
  options.tokenizer_json = "{\"model\": {}}";
  const nlohmann::json config = {{"model_type", "olmoe"}};
  std::vector<TensorToWrite> tensors = {{"a", hc::Dtype::BF16, {2}, {1.0f, -2.0f}}};
  BOOST_REQUIRE(write_checkpoint(tmp.root / "t", config, tensors, options).ok());
  BOOST_TEST(hc::test::slurp(tmp.root / "t" / "tokenizer.json") == *options.tokenizer_json);
  tensors.push_back({"b", hc::Dtype::F32, {3}, {1.0f}});  // 1 value for 3 elements
  const auto err = write_checkpoint(tmp.root / "u", config, tensors);
  BOOST_REQUIRE(!err.ok());
  BOOST_TEST(contains(err.error().message, "b: 1 values for a tensor of 3 elements"),
             err.error().message);
  tensors.back() = {"a", hc::Dtype::F32, {1}, {1.0f}};
  BOOST_TEST(
      contains(write_checkpoint(tmp.root / "u", config, tensors).error().message, "duplicate"));
  tensors.back() = {"c", hc::Dtype::F64, {1}, {1.0f}};  // readable, not writable
  BOOST_TEST(contains(write_checkpoint(tmp.root / "u", config, tensors).error().message, "dtype"));
  std::size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(tmp.root)) entries += entry.exists();
  BOOST_TEST(entries == 1u);  // only "t"
}

BOOST_AUTO_TEST_CASE(unindexed_shards_are_all_read) {
  TempDir tmp;
  const fs::path dir = tmp.root / "m";
  make_fixture(dir, Family::Mixtral, hc::Dtype::F32, 20'000);
  const std::string first = shard_of(dir, "model.embed_tokens.weight");
  fs::remove(dir / "model.safetensors.index.json");
  BOOST_TEST(open_error(dir) == "");  // every top-level *.safetensors, sorted
  fs::copy_file(dir / first, dir / "extra.safetensors");
  const std::string err = open_error(dir);
  BOOST_TEST(contains(err, "also appears in"), err);
}

BOOST_AUTO_TEST_CASE(shard_metadata_and_index_total_size) {
  TempDir tmp;
  const fs::path dir = tmp.root / "m";
  make_fixture(dir, Family::Qwen2Moe, hc::Dtype::F16, 10'000);
  auto index = nlohmann::json::parse(hc::test::slurp(dir / "model.safetensors.index.json"));
  auto ckpt = open_checkpoint(dir);
  BOOST_REQUIRE(ckpt.ok());
  std::uint64_t total = 0;
  for (const auto& name : ckpt->tensor_names()) total += ckpt->info(name)->bytes;
  BOOST_TEST(index["metadata"]["total_size"].get<std::uint64_t>() == total);
  for (const auto& [name, bytes] : ckpt->shards()) {
    const std::string file = hc::test::slurp(dir / name);
    auto view =
        hc::parse_safetensors({reinterpret_cast<const std::uint8_t*>(file.data()), file.size()});
    BOOST_REQUIRE(view.ok());
    BOOST_TEST(view->metadata.at("format") == "pt");
  }
}

BOOST_AUTO_TEST_CASE(cli_info_on_checkpoint_directory) {
  hc::test::CliFixture f;
  make_fixture(f.work / "qwen", Family::Qwen2Moe, hc::Dtype::BF16, 16'000);
  const auto text = f.ok("info qwen");
  BOOST_TEST(contains(text.out, "qwen2_moe"), text.out);
  BOOST_TEST(contains(text.out, "8 per layer, top-k 2"), text.out);
  BOOST_TEST(contains(text.out, "BF16"), text.out);
  const auto json = nlohmann::json::parse(f.ok("info qwen --json").out);
  BOOST_TEST(json["family"] == "qwen2_moe");
  BOOST_TEST(json["experts"] == 8);
  BOOST_TEST(json["top_k"] == 2);
  BOOST_TEST(json["moe_layers"] == nlohmann::json({0, 1}));
  BOOST_TEST(json["hidden_size"] == 32);
  BOOST_TEST(json["parameters"]["experts"] == 2 * 8 * 3 * 16 * 32);
  BOOST_TEST(json["shards"].size() > 1u);

  const std::string shard = shard_of(f.work / "qwen", "model.layers.1.mlp.gate.weight");
  fs::remove(f.work / "qwen" / shard);
  const auto broken = f.run("info qwen");
  BOOST_TEST(broken.code == 3);
  BOOST_TEST(contains(broken.err, shard), broken.err);

  make_fixture(f.work / "v3", Family::DeepseekV3, hc::Dtype::BF16);
  const auto v3 = f.ok("info v3");
  BOOST_TEST(contains(v3.out, "deepseek_v3"), v3.out);
  BOOST_TEST(contains(v3.out, "noaux_tc, 2 of 4 groups, scale 2.5"), v3.out);
  BOOST_TEST(contains(v3.out, "MLA, 4 heads, q rank 24, kv rank 16, qk 8+4 (rope), v 8"), v3.out);
  const auto v3_json = nlohmann::json::parse(f.ok("info v3 --json").out);
  BOOST_TEST(v3_json["moe_layers"] == nlohmann::json({1}));
  BOOST_TEST(v3_json["routing"] == "noaux_tc");
  BOOST_TEST(v3_json["n_shared_experts"] == 1);
  BOOST_TEST(v3_json["parameters"]["experts"] == 8 * 3 * 16 * 32);
  make_fixture(f.work / "oss", Family::GptOss);
  const auto oss = f.ok("info oss");
  BOOST_TEST(contains(oss.out, "gpt_oss"), oss.out);
  BOOST_TEST(contains(oss.out, "fused-interleaved"), oss.out);
  BOOST_TEST(contains(oss.out, "4 tokens on layers 0"), oss.out);
  const auto oss_json = nlohmann::json::parse(f.ok("info oss --json").out);
  BOOST_TEST(oss_json["routing"] == "topk_softmax");
  // gate_up [8, 32, 32] + bias [8, 32] + down [8, 16, 32] + bias [8, 32], two layers.
  BOOST_TEST(oss_json["parameters"]["experts"] ==
             2 * (8 * 32 * 32 + 8 * 32 + 8 * 16 * 32 + 8 * 32));

  make_fixture(f.work / "mix", Family::Mixtral);
  edit_config(f.work / "mix", [](nlohmann::json& c) { c["num_local_experts"] = 9; });
  const auto mismatch = f.run("info mix --json");
  BOOST_TEST(mismatch.code == 3);
  BOOST_TEST(contains(mismatch.err, "model.layers.0.block_sparse_moe.gate.weight"), mismatch.err);
}

BOOST_AUTO_TEST_SUITE_END()
