// Parity with Hugging Face transformers on CPU: tiny random checkpoints written by
// transformers' save_pretrained (tests/golden/hf, made by make_hf_fixtures.py on the GPU
// machine with transformers 5.17 / torch 2.11) and the logits transformers computed for them.
// DeepSeek-V2 uses group_limited_greedy routing (transformers 5.17 runs it; no fallback needed).
// Applied cases: `apply` runs here on a fixture with a committed plan (and statistics file for
// merge + Wanda); transformers loaded the same output with from_pretrained and recorded its
// logits (tests/golden/hf/applied, make_applied_fixtures.py). For pruned checkpoints the
// logits must also equal transformers' logits of the ORIGINAL model with the dropped experts'
// router logits masked to -inf.
#include <ATen/ATen.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hc/native/apply.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/tokenizer.hpp"
#include "hc/plan.hpp"
#include "hc/stats_file.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kGolden = fs::path(HC_GOLDEN_DIR) / "hf";

// Reads a little-endian float32 .npy of shape [T, V] in C order.
at::Tensor load_logits(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_REQUIRE_MESSAGE(bytes.size() > 10 && bytes.compare(0, 6, "\x93NUMPY") == 0,
                        path << " is not a .npy file");
  const std::size_t header_len =
      static_cast<unsigned char>(bytes[8]) |
      (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  const std::string header = bytes.substr(10, header_len);
  BOOST_REQUIRE(header.find("'<f4'") != std::string::npos);
  BOOST_REQUIRE(header.find("'fortran_order': False") != std::string::npos);
  const auto open = header.find("'shape': (");
  BOOST_REQUIRE(open != std::string::npos);
  long rows = 0, cols = 0;
  BOOST_REQUIRE(std::sscanf(header.c_str() + open, "'shape': (%ld, %ld)", &rows, &cols) == 2);
  const std::size_t data = 10 + header_len;
  BOOST_REQUIRE(bytes.size() == data + static_cast<std::size_t>(rows * cols) * 4);
  at::Tensor out = at::empty({rows, cols}, at::kFloat);
  std::memcpy(out.data_ptr<float>(), bytes.data() + data,
              static_cast<std::size_t>(rows * cols) * 4);
  return out;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Our logits against transformers' (.npy), within the parity tolerance.
void compare_logits(const std::string& label, const at::Tensor& ours,
                    const fs::path& reference_path) {
  const at::Tensor reference = load_logits(reference_path);
  BOOST_REQUIRE(ours.sizes() == reference.sizes());
  const double max_diff = (ours.cpu() - reference).abs().max().item<double>();
  const double scale = reference.abs().max().item<double>();
  BOOST_TEST_MESSAGE(label << ": max |logit difference| vs transformers " << max_diff
                           << " (max |logit| " << scale << ")");
  BOOST_TEST(max_diff <= 1e-4 * std::max(1.0, scale), label << ": max |diff| " << max_diff);
}

at::Tensor our_logits(const std::string& label, const fs::path& model_dir,
                      const fs::path& ids_path) {
  auto ids = hc::native::load_token_ids(ids_path);
  BOOST_REQUIRE_MESSAGE(ids.ok(), (ids.ok() ? "" : ids.error().message));
  auto model = hc::native::ForwardModel::open(model_dir);
  BOOST_REQUIRE_MESSAGE(model.ok(), label << ": " << (model.ok() ? "" : model.error().message));
  auto logits = model->logits(*ids);
  BOOST_REQUIRE_MESSAGE(logits.ok(), label << ": " << (logits.ok() ? "" : logits.error().message));
  return *logits;
}

void check_family(const std::string& family) {
  const fs::path dir = kGolden / family;
  compare_logits(family, our_logits(family, dir, dir / "ids.npy"), dir / "logits.npy");
}

// Applies tests/golden/hf/applied/<family>_<variant>/plan.json to the family's fixture (merge
// mode and Wanda use stats.hcstats there) and compares the result's logits with transformers'.
void check_applied(const std::string& family, const std::string& variant,
                   hc::native::ApplyMode mode, double wanda) {
  const std::string label = family + "_" + variant;
  const fs::path golden = kGolden / "applied" / label;
  auto plan = hc::parse_plan(slurp(golden / "plan.json"), (golden / "plan.json").string());
  BOOST_REQUIRE_MESSAGE(plan.ok(), label << ": " << (plan.ok() ? "" : plan.error().message));
  std::optional<hc::StatsFile> stats;
  if (fs::exists(golden / "stats.hcstats")) {
    const std::string bytes = slurp(golden / "stats.hcstats");
    auto read =
        hc::read_stats(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                       (golden / "stats.hcstats").string());
    BOOST_REQUIRE_MESSAGE(read.ok(), label << ": " << (read.ok() ? "" : read.error().message));
    stats = std::move(read).value();
  }
  hc::test::TempDir tmp("hc-hf-applied");
  hc::native::ApplyOptions options;
  options.model = kGolden / family;
  options.out = tmp.root / label;
  options.mode = mode;
  options.wanda = wanda;
  options.gate_correction = hc::native::GateCorrection::Off;  // the goldens are plain pruning
  auto applied = hc::native::apply_plan(options, *plan, stats ? &*stats : nullptr);
  BOOST_REQUIRE_MESSAGE(applied.ok(),
                        label << ": " << (applied.ok() ? "" : applied.error().message));
  BOOST_REQUIRE_LT(applied->experts_after, applied->experts_before);
  if (wanda > 0) BOOST_REQUIRE_GT(applied->wanda_zeros, 0u);

  const at::Tensor ours = our_logits(label, options.out, kGolden / family / "ids.npy");
  compare_logits(label, ours, golden / "logits.npy");
  if (fs::exists(golden / "masked_logits.npy")) {
    compare_logits(label + " vs the original with dropped experts masked", ours,
                   golden / "masked_logits.npy");
  }
  // The reduction changed the model (the comparison above is not the original's logits again).
  const at::Tensor original = load_logits(kGolden / family / "logits.npy");
  BOOST_TEST((ours - original).abs().max().item<double>() > 1e-3,
             label << ": logits unchanged by apply");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hf_parity)

BOOST_AUTO_TEST_CASE(mixtral) {
  check_family("mixtral");
}
BOOST_AUTO_TEST_CASE(qwen2_moe) {
  check_family("qwen2_moe");
}
BOOST_AUTO_TEST_CASE(qwen3_moe) {
  check_family("qwen3_moe");
}
BOOST_AUTO_TEST_CASE(olmoe) {
  check_family("olmoe");
}
BOOST_AUTO_TEST_CASE(deepseek_v2) {
  check_family("deepseek_v2");
}
BOOST_AUTO_TEST_CASE(deepseek_v3) {
  check_family("deepseek_v3");
}
BOOST_AUTO_TEST_CASE(deepseek_v3_yarn) {
  check_family("deepseek_v3_yarn");
}
BOOST_AUTO_TEST_CASE(gpt_oss) {
  check_family("gpt_oss");
}
BOOST_AUTO_TEST_CASE(gpt_oss_yarn) {
  check_family("gpt_oss_yarn");
}

// `apply` output loaded by transformers' from_pretrained: prune (6 of 8 kept, by frequency)
// and merge + Wanda 0.5 (4 of 8 kept, HodgeCover plan, frequency-weighted merge).
using hc::native::ApplyMode;
BOOST_AUTO_TEST_CASE(applied_mixtral_prune) {
  check_applied("mixtral", "prune", ApplyMode::Prune, 0.0);
}
BOOST_AUTO_TEST_CASE(applied_mixtral_merge_wanda) {
  check_applied("mixtral", "merge_wanda", ApplyMode::Merge, 0.5);
}
BOOST_AUTO_TEST_CASE(applied_qwen2_moe_prune) {
  check_applied("qwen2_moe", "prune", ApplyMode::Prune, 0.0);
}
BOOST_AUTO_TEST_CASE(applied_qwen2_moe_merge_wanda) {
  check_applied("qwen2_moe", "merge_wanda", ApplyMode::Merge, 0.5);
}
BOOST_AUTO_TEST_CASE(applied_qwen3_moe_prune) {
  check_applied("qwen3_moe", "prune", ApplyMode::Prune, 0.0);
}
BOOST_AUTO_TEST_CASE(applied_qwen3_moe_merge_wanda) {
  check_applied("qwen3_moe", "merge_wanda", ApplyMode::Merge, 0.5);
}
BOOST_AUTO_TEST_CASE(applied_olmoe_prune) {
  check_applied("olmoe", "prune", ApplyMode::Prune, 0.0);
}
BOOST_AUTO_TEST_CASE(applied_olmoe_merge_wanda) {
  check_applied("olmoe", "merge_wanda", ApplyMode::Merge, 0.5);
}
// gpt-oss: fused experts with router bias; Wanda is per-expert only, so plain merge.
BOOST_AUTO_TEST_CASE(applied_gpt_oss_prune) {
  check_applied("gpt_oss", "prune", ApplyMode::Prune, 0.0);
}
BOOST_AUTO_TEST_CASE(applied_gpt_oss_merge) {
  check_applied("gpt_oss", "merge", ApplyMode::Merge, 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
