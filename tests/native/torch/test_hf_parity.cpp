// Parity with Hugging Face transformers on CPU: tiny random checkpoints written by
// transformers' save_pretrained (tests/golden/hf, made by make_hf_fixtures.py on the GPU
// machine with transformers 5.17 / torch 2.11) and the logits transformers computed for them.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "hc/native/forward.hpp"
#include "hc/native/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kGolden = fs::path(HC_GOLDEN_DIR) / "hf";

// Reads a little-endian float32 .npy of shape [T, V] in C order.
at::Tensor load_logits(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_REQUIRE_MESSAGE(bytes.size() > 10 && bytes.compare(0, 6, "\x93NUMPY") == 0,
                        path << " is not a .npy file");
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) |
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
  std::memcpy(out.data_ptr<float>(), bytes.data() + data, static_cast<std::size_t>(rows * cols) * 4);
  return out;
}

void check_family(const std::string& family) {
  const fs::path dir = kGolden / family;
  auto ids = hc::native::load_token_ids(dir / "ids.npy");
  BOOST_REQUIRE_MESSAGE(ids.ok(), (ids.ok() ? "" : ids.error().message));
  auto model = hc::native::ForwardModel::open(dir);
  BOOST_REQUIRE_MESSAGE(model.ok(), family << ": " << (model.ok() ? "" : model.error().message));
  auto logits = model->logits(*ids);
  BOOST_REQUIRE_MESSAGE(logits.ok(), family << ": " << (logits.ok() ? "" : logits.error().message));
  const at::Tensor reference = load_logits(dir / "logits.npy");
  BOOST_REQUIRE(logits->sizes() == reference.sizes());
  const double max_diff = (logits->cpu() - reference).abs().max().item<double>();
  const double scale = reference.abs().max().item<double>();
  BOOST_TEST_MESSAGE(family << ": max |logit difference| vs transformers " << max_diff
                            << " (max |logit| " << scale << ")");
  BOOST_TEST(max_diff <= 1e-4 * std::max(1.0, scale), family << ": max |diff| " << max_diff);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hf_parity)

BOOST_AUTO_TEST_CASE(mixtral) { check_family("mixtral"); }
BOOST_AUTO_TEST_CASE(qwen2_moe) { check_family("qwen2_moe"); }
BOOST_AUTO_TEST_CASE(qwen3_moe) { check_family("qwen3_moe"); }
BOOST_AUTO_TEST_CASE(olmoe) { check_family("olmoe"); }

BOOST_AUTO_TEST_SUITE_END()
