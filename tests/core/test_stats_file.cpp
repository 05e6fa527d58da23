// Statistics file format: round trips, files written by other tools (hand-built bytes, as a
// numpy user would write them), every rejection with its error code, and the committed golden.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "hc/safetensors.hpp"
#include "hc/stats_file.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

template <typename T>
Bytes raw(const std::vector<T>& values) {
  Bytes out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// One tensor of a hand-built file: the dtype is a header string, the bytes are what numpy's
// tobytes() would give.
struct HandTensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  Bytes bytes;
};

// A safetensors file assembled by string concatenation, independent of hc::SafetensorsWriter.
struct HandFile {
  std::vector<std::pair<std::string, std::string>> metadata;  // plain ASCII, no escapes
  std::vector<HandTensor> tensors;
  std::string pad_before, pad_after;

  void set_meta(const std::string& key, const std::string& value) {
    for (auto& [k, v] : metadata)
      if (k == key) {
        v = value;
        return;
      }
    metadata.emplace_back(key, value);
  }
  void erase_meta(const std::string& key) {
    std::erase_if(metadata, [&](const auto& kv) { return kv.first == key; });
  }
  void put(HandTensor tensor) {
    for (HandTensor& t : tensors)
      if (t.name == tensor.name) {
        t = std::move(tensor);
        return;
      }
    tensors.push_back(std::move(tensor));
  }
  void erase(const std::string& name) {
    std::erase_if(tensors, [&](const HandTensor& t) { return t.name == name; });
  }
  Bytes data() const {
    Bytes out;
    for (const HandTensor& t : tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    return out;
  }
  Bytes build() const {
    std::string header = pad_before + "{\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i)
      header += (i ? ",\"" : "\"") + metadata[i].first + "\":\"" + metadata[i].second + "\"";
    header += "}";
    std::size_t offset = 0;
    for (const HandTensor& t : tensors) {
      header += ", \"" + t.name + "\": {\"dtype\": \"" + t.dtype + "\", \"shape\": [";
      for (std::size_t i = 0; i < t.shape.size(); ++i)
        header += (i ? ", " : "") + std::to_string(t.shape[i]);
      header += "], \"data_offsets\": [" + std::to_string(offset) + ", ";
      offset += t.bytes.size();
      header += std::to_string(offset) + "]}";
    }
    header += "}" + pad_after;
    Bytes file;
    const std::uint64_t n = header.size();  // 64-bit even where size_t is 32 (wasm32)
    for (int i = 0; i < 8; ++i) file.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    file.insert(file.end(), header.begin(), header.end());
    const Bytes d = data();
    file.insert(file.end(), d.begin(), d.end());
    return file;
  }
};

HandTensor float_tensor(const std::string& name, const std::vector<float>& v,
                        std::vector<std::uint64_t> shape, bool wide) {
  if (!wide) return {name, "F32", std::move(shape), raw(v)};
  return {name, "F64", std::move(shape), raw(std::vector<double>(v.begin(), v.end()))};
}

HandTensor index_tensor(const std::string& name, const std::vector<std::int64_t>& flat,
                        std::uint64_t width, bool wide) {
  std::vector<std::uint64_t> shape = {flat.size() / width, width};
  if (wide) return {name, "I64", shape, raw(flat)};
  return {name, "I32", shape, raw(std::vector<std::int32_t>(flat.begin(), flat.end()))};
}

template <std::size_t W>
std::vector<std::int64_t> flatten(const std::vector<std::array<std::int32_t, W>>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

std::string name_of(int layer, const char* suffix) {
  return "layers." + std::to_string(layer) + "." + suffix;
}

// A layer of 5 experts with distinct, exactly representable values.
hc::LayerStats sample_layer(int index, bool wanda) {
  const int e = 5;
  hc::LayerStats l = hc::test::complete_layer(
      e, [index](int i, int j) { return 0.5f + float(i) + 0.25f * float(j) + float(index); });
  l.layer = index;
  for (int i = 0; i < e; ++i) {
    l.frequency[i] = float(i + 1) / 8 + float(index) / 16;
    l.gate_mass[i] = float(i + 1) / 32;
    l.reap[i] = 2.0f * float(i) + 0.5f;
    l.ean[i] = 3.0f - 0.5f * float(i);
  }
  l.triangles = {{0, 1, 2}, {1, 2, 4}, {0, 3, 4}};
  l.triangle_barrier = {6.5f + float(index), 0.0f, 9.25f};
  if (wanda) {
    for (int i = 0; i < e * 3; ++i) l.input_sqnorm.push_back(0.75f * float(i));
    l.input_sqnorm_cols = 3;
    for (int i = 0; i < e * 2; ++i) l.inner_sqnorm.push_back(10.0f + float(i));
    l.inner_sqnorm_cols = 2;
  }
  return l;
}

hc::StatsFile sample_stats(bool wanda) {
  hc::StatsFile s;
  s.model = "org/tiny-moe";
  s.family = "qwen3_moe";
  s.num_experts = 5;
  s.top_k = 2;
  s.hidden_size = 3;
  s.moe_intermediate_size = 2;
  s.tokens = 123456789012ull;
  s.barrier = "kl_lens";
  s.metadata["calibration"] = "wikitext, 64 x 512";
  s.metadata["producer"] = "test";
  s.layers = {sample_layer(1, wanda), sample_layer(4, wanda)};
  return s;
}

void check_same_layer(const hc::LayerStats& a, const hc::LayerStats& b) {
  BOOST_CHECK_EQUAL(a.layer, b.layer);
  BOOST_CHECK_EQUAL(a.experts, b.experts);
  BOOST_CHECK(a.frequency == b.frequency);
  BOOST_CHECK(a.gate_mass == b.gate_mass);
  BOOST_CHECK(a.reap == b.reap);
  BOOST_CHECK(a.ean == b.ean);
  BOOST_CHECK(a.edges == b.edges);
  BOOST_CHECK(a.edge_barrier == b.edge_barrier);
  BOOST_CHECK(a.triangles == b.triangles);
  BOOST_CHECK(a.triangle_barrier == b.triangle_barrier);
  BOOST_CHECK(a.input_sqnorm == b.input_sqnorm);
  BOOST_CHECK_EQUAL(a.input_sqnorm_cols, b.input_sqnorm_cols);
  BOOST_CHECK(a.inner_sqnorm == b.inner_sqnorm);
  BOOST_CHECK_EQUAL(a.inner_sqnorm_cols, b.inner_sqnorm_cols);
}

void check_same(const hc::StatsFile& a, const hc::StatsFile& b) {
  BOOST_CHECK_EQUAL(a.model, b.model);
  BOOST_CHECK_EQUAL(a.family, b.family);
  BOOST_CHECK_EQUAL(a.num_experts, b.num_experts);
  BOOST_CHECK_EQUAL(a.top_k, b.top_k);
  BOOST_CHECK_EQUAL(a.hidden_size, b.hidden_size);
  BOOST_CHECK_EQUAL(a.moe_intermediate_size, b.moe_intermediate_size);
  BOOST_CHECK_EQUAL(a.tokens, b.tokens);
  BOOST_CHECK_EQUAL(a.barrier, b.barrier);
  BOOST_REQUIRE_EQUAL(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) check_same_layer(a.layers[i], b.layers[i]);
}

// The sample as another tool would write it: F32/I32 (or F64/I64 when `wide`), no checksum.
HandFile hand_file(const hc::StatsFile& s, bool wide) {
  HandFile f;
  f.set_meta("format", "hodgecover.stats");
  f.set_meta("format_version", "1.0");
  f.set_meta("moe_layers", "1,4");
  f.set_meta("num_experts", std::to_string(s.num_experts));
  f.set_meta("top_k", std::to_string(s.top_k));
  f.set_meta("hidden_size", std::to_string(s.hidden_size));
  f.set_meta("moe_intermediate_size", std::to_string(s.moe_intermediate_size));
  f.set_meta("tokens", std::to_string(s.tokens));
  f.set_meta("model", s.model);
  f.set_meta("family", s.family);
  f.set_meta("barrier", s.barrier);
  for (const hc::LayerStats& l : s.layers) {
    const auto e = static_cast<std::uint64_t>(l.experts);
    const int L = l.layer;
    f.put(float_tensor(name_of(L, "expert_frequency"), l.frequency, {e}, wide));
    f.put(float_tensor(name_of(L, "expert_gate_mass"), l.gate_mass, {e}, wide));
    f.put(float_tensor(name_of(L, "expert_reap"), l.reap, {e}, wide));
    f.put(float_tensor(name_of(L, "expert_ean"), l.ean, {e}, wide));
    f.put(index_tensor(name_of(L, "edges"), flatten(l.edges), 2, wide));
    f.put(float_tensor(name_of(L, "edge_barrier"), l.edge_barrier, {l.edge_barrier.size()}, wide));
    f.put(index_tensor(name_of(L, "triangles"), flatten(l.triangles), 3, wide));
    f.put(float_tensor(name_of(L, "triangle_barrier"), l.triangle_barrier,
                       {l.triangle_barrier.size()}, wide));
    if (l.input_sqnorm_cols)
      f.put(float_tensor(name_of(L, "expert_input_sqnorm"), l.input_sqnorm,
                         {e, l.input_sqnorm_cols}, wide));
    if (l.inner_sqnorm_cols)
      f.put(float_tensor(name_of(L, "expert_inner_sqnorm"), l.inner_sqnorm,
                         {e, l.inner_sqnorm_cols}, wide));
  }
  return f;
}

hc::Result<hc::StatsFile> read(const Bytes& bytes) {
  return hc::read_stats(bytes, "model.hcstats");
}

void expect_error(const Bytes& bytes, hc::ErrorCode code, const std::string& phrase) {
  const auto result = read(bytes);
  BOOST_REQUIRE_MESSAGE(!result.ok(), "expected a failure mentioning '" << phrase << "'");
  BOOST_CHECK_MESSAGE(result.error().code == code,
                      "code " << hc::error_code_name(result.error().code) << " for '"
                              << result.error().message << "'");
  BOOST_CHECK_MESSAGE(result.error().message.rfind("model.hcstats: ", 0) == 0,
                      "message '" << result.error().message << "' does not name the source");
  BOOST_CHECK_MESSAGE(result.error().message.find(phrase) != std::string::npos,
                      "message '" << result.error().message << "' lacks '" << phrase << "'");
}

void expect_corrupt(const HandFile& f, const std::string& phrase) {
  expect_error(f.build(), hc::ErrorCode::Corrupt, phrase);
}

Bytes written(const hc::StatsFile& s, bool checksum = true) {
  auto bytes = hc::write_stats(s, {checksum});
  BOOST_REQUIRE_MESSAGE(bytes.ok(), why(bytes));
  return std::move(bytes).value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stats_file)

BOOST_AUTO_TEST_CASE(round_trip_with_optional_tensors_and_checksum) {
  const hc::StatsFile s = sample_stats(true);
  const Bytes bytes = written(s);
  const auto back = read(bytes);
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  check_same(*back, s);
  BOOST_CHECK_EQUAL(back->version_major, 1);
  BOOST_CHECK_EQUAL(back->version_minor, 0);
  const auto& m = back->metadata;
  BOOST_CHECK_EQUAL(m.at("format"), "hodgecover.stats");
  BOOST_CHECK_EQUAL(m.at("format_version"), "1.0");
  BOOST_CHECK_EQUAL(m.at("moe_layers"), "1,4");
  BOOST_CHECK_EQUAL(m.at("num_experts"), "5");
  BOOST_CHECK_EQUAL(m.at("tokens"), "123456789012");
  BOOST_CHECK_EQUAL(m.at("calibration"), "wikitext, 64 x 512");  // other entries kept
  BOOST_CHECK_EQUAL(m.at("producer"), "test");
  const auto view = hc::parse_safetensors(bytes);
  BOOST_REQUIRE(view.ok());
  BOOST_CHECK_EQUAL(m.at("checksum"), hc::xxh64_tag(view->data));
  BOOST_REQUIRE(back->find_layer(4));
  BOOST_CHECK_EQUAL(back->find_layer(4)->frequency[0], s.layers[1].frequency[0]);
  BOOST_CHECK(back->find_layer(2) == nullptr);
  // Reading and writing again reproduces the same bytes.
  BOOST_CHECK(written(*back) == bytes);
}

BOOST_AUTO_TEST_CASE(round_trip_without_optional_tensors_or_checksum) {
  hc::StatsFile s = sample_stats(false);
  s.layers[0].triangles.clear();
  s.layers[0].triangle_barrier.clear();
  s.hidden_size = 0;
  s.tokens = 0;
  s.model.clear();
  const Bytes bytes = written(s, false);
  const auto back = read(bytes);
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  check_same(*back, s);
  BOOST_CHECK(back->layers[0].triangles.empty());
  BOOST_CHECK_EQUAL(back->metadata.count("checksum"), 0u);
  BOOST_CHECK_EQUAL(back->metadata.count("hidden_size"), 0u);  // zero means absent
  BOOST_CHECK_EQUAL(back->metadata.count("tokens"), 0u);
  BOOST_CHECK_EQUAL(back->metadata.count("model"), 0u);
  // Empty triangle tensors are still written, so every layer has the same tensor set.
  const auto view = hc::parse_safetensors(bytes);
  BOOST_REQUIRE(view.ok());
  const hc::TensorInfo* t = view->find("layers.1.triangles");
  BOOST_REQUIRE(t);
  BOOST_CHECK((t->shape == std::vector<std::uint64_t>{0, 3}));
  BOOST_CHECK(!view->find("layers.1.expert_input_sqnorm"));
}

BOOST_AUTO_TEST_CASE(lens_support_metadata_sets_minor_2_and_survives_a_rewrite) {
  hc::StatsFile s = sample_stats(true);
  s.metadata["lens_support"] = "top-m";
  s.metadata["lens_tail_mass"] = "0.001";
  const Bytes bytes = written(s);
  const auto back = read(bytes);
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  BOOST_CHECK_EQUAL(back->metadata.at("format_version"), "1.2");
  BOOST_CHECK_EQUAL(back->version_minor, 2);
  BOOST_CHECK_EQUAL(back->metadata.at("lens_tail_mass"), "0.001");
  BOOST_CHECK(written(*back) == bytes);
  s.metadata.erase("lens_support");  // without it the file is what 1.0 wrote
  BOOST_CHECK_EQUAL(read(written(s))->metadata.at("format_version"), "1.0");
}

BOOST_AUTO_TEST_CASE(version_1_1_tensors_round_trip_and_set_the_minor) {
  hc::StatsFile s = sample_stats(true);
  hc::LayerStats& l = s.layers[0];
  const auto e = static_cast<std::size_t>(l.experts);
  l.router_prob.assign(e, 1.0f / float(e));
  l.loo.assign(e, 0.25f);
  l.loo[1] = 0.0f;
  l.router_sample_rows = 3;
  for (std::size_t i = 0; i < 3 * e; ++i) l.router_sample.push_back(float(i) - 4.5f);
  const Bytes bytes = written(s);
  const auto back = read(bytes);
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  BOOST_CHECK_EQUAL(back->metadata.at("format_version"), "1.1");
  BOOST_CHECK_EQUAL(back->version_minor, 1);
  const hc::LayerStats& b = back->layers[0];
  BOOST_CHECK(b.router_prob == l.router_prob);
  BOOST_CHECK(b.loo == l.loo);
  BOOST_CHECK(b.router_sample == l.router_sample);
  BOOST_CHECK_EQUAL(b.router_sample_rows, 3u);
  BOOST_CHECK(back->layers[1].router_prob.empty() && back->layers[1].router_sample_rows == 0);
  BOOST_CHECK(written(*back) == bytes);
  const auto view = hc::parse_safetensors(bytes);
  BOOST_REQUIRE(view.ok());
  const hc::TensorInfo* t = view->find("layers.1.router_logit_sample");
  BOOST_REQUIRE(t);
  BOOST_CHECK((t->shape == std::vector<std::uint64_t>{3, e}));
  // Bad values are refused with the tensor named.
  hc::LayerStats bad = l;
  bad.loo[2] = -0.5f;
  BOOST_CHECK(hc::validate_layer(bad).error().message.find("layers.1.expert_loo") !=
              std::string::npos);
  bad = l;
  bad.router_sample[4] = std::nanf("");
  BOOST_CHECK(hc::validate_layer(bad).error().message.find("router_logit_sample") !=
              std::string::npos);
  bad = l;
  bad.router_sample.pop_back();
  BOOST_CHECK(!hc::validate_layer(bad).ok());
  bad = l;
  bad.router_prob.pop_back();
  BOOST_CHECK(hc::validate_layer(bad).error().message.find("expert_router_prob") !=
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(version_1_3_substitution_barriers_round_trip) {
  hc::StatsFile s = sample_stats(true);
  hc::LayerStats& l = s.layers[1];
  const auto e = static_cast<std::size_t>(l.experts);
  l.substitution.assign(e * e, 0.0f);
  for (std::size_t i = 0; i < e; ++i)
    for (std::size_t j = 0; j < e; ++j)
      if (i != j) l.substitution[i * e + j] = float(i * 10 + j) / 16.0f;  // not symmetric
  const Bytes bytes = written(s);
  const auto back = read(bytes);
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  BOOST_CHECK_EQUAL(back->metadata.at("format_version"), "1.3");
  BOOST_CHECK_EQUAL(back->version_minor, 3);
  BOOST_CHECK(back->layers[1].substitution == l.substitution);
  BOOST_CHECK(back->layers[0].substitution.empty());
  BOOST_CHECK_EQUAL(back->layers[1].substitution_barrier(2, 0), 20.0f / 16.0f);
  BOOST_CHECK(written(*back) == bytes);
  const auto view = hc::parse_safetensors(bytes);
  BOOST_REQUIRE(view.ok());
  const hc::TensorInfo* t =
      view->find("layers." + std::to_string(l.layer) + ".substitution_barrier");
  BOOST_REQUIRE(t);
  BOOST_CHECK((t->shape == std::vector<std::uint64_t>{e, e}));
  // A non-zero diagonal, a negative or NaN value and a wrong size are refused, naming it.
  for (int kind = 0; kind < 4; ++kind) {
    hc::LayerStats bad = l;
    if (kind == 0) bad.substitution[e + 1] = 0.5f;
    if (kind == 1) bad.substitution[1] = -0.5f;
    if (kind == 2) bad.substitution[2] = std::nanf("");
    if (kind == 3) bad.substitution.pop_back();
    const auto status = hc::validate_layer(bad);
    BOOST_REQUIRE(!status.ok());
    BOOST_CHECK(status.error().message.find("substitution_barrier") != std::string::npos);
  }
  // A file whose tensor has the wrong shape is refused on reading.
  HandFile f = hand_file(s, true);
  f.put({"layers." + std::to_string(l.layer) + ".substitution_barrier",
         "F32",
         {e, e - 1},
         raw(std::vector<float>(e * (e - 1), 0.5f))});
  expect_error(f.build(), hc::ErrorCode::Corrupt, "substitution_barrier");
}

BOOST_AUTO_TEST_CASE(struct_fields_win_over_stale_metadata) {
  hc::StatsFile s = sample_stats(false);
  s.metadata["top_k"] = "4";
  s.metadata["num_experts"] = "99";
  s.metadata["moe_layers"] = "7";
  s.metadata["format_version"] = "0.1";
  s.metadata["format"] = "other";
  s.metadata["checksum"] = "xxh64:0000000000000000";
  s.metadata["barrier"] = "stale";
  s.barrier.clear();
  s.num_experts = 0;  // derived from the layers
  const auto back = read(written(s, false));
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  BOOST_CHECK_EQUAL(back->top_k, 2);
  BOOST_CHECK_EQUAL(back->num_experts, 5);
  BOOST_CHECK_EQUAL(back->metadata.at("moe_layers"), "1,4");
  BOOST_CHECK_EQUAL(back->metadata.at("format_version"), "1.0");
  BOOST_CHECK_EQUAL(back->metadata.count("checksum"), 0u);  // a stale checksum is dropped
  BOOST_CHECK_EQUAL(back->metadata.count("barrier"), 0u);
  BOOST_CHECK(back->barrier.empty());
}

BOOST_AUTO_TEST_CASE(writer_rejects_inconsistent_structs) {
  auto expect_invalid = [](const hc::StatsFile& s, const std::string& phrase) {
    const auto result = hc::write_stats(s);
    BOOST_REQUIRE_MESSAGE(!result.ok(), "expected failure mentioning '" << phrase << "'");
    BOOST_CHECK(result.error().code == hc::ErrorCode::InvalidArgument);
    BOOST_CHECK_MESSAGE(result.error().message.find(phrase) != std::string::npos,
                        result.error().message);
  };
  hc::StatsFile s = sample_stats(true);
  s.layers[1].edge_barrier.pop_back();
  expect_invalid(s, "layers.4.edge_barrier");
  s = sample_stats(false);
  s.layers[1].layer = 1;
  expect_invalid(s, "layer 1 appears twice");
  s = sample_stats(false);
  s.num_experts = 6;
  expect_invalid(s, "num_experts is 6");
  s = sample_stats(false);
  s.layers[0].triangle_barrier[1] = std::nanf("");
  expect_invalid(s, "layers.1.triangle_barrier");
  s = sample_stats(true);
  s.hidden_size = 8;
  expect_invalid(s, "hidden_size is 8");
  s = sample_stats(false);
  s.top_k = 6;
  expect_invalid(s, "top_k (6) exceeds");
}

BOOST_AUTO_TEST_CASE(tensor_order_does_not_matter) {
  const hc::StatsFile s = sample_stats(true);
  HandFile forward = hand_file(s, false);
  HandFile reversed = forward;
  std::reverse(reversed.tensors.begin(), reversed.tensors.end());
  HandFile rotated = forward;
  std::rotate(rotated.tensors.begin(), rotated.tensors.begin() + 7, rotated.tensors.end());
  std::reverse(rotated.metadata.begin(), rotated.metadata.end());
  const auto a = read(forward.build());
  const auto b = read(reversed.build());
  const auto c = read(rotated.build());
  BOOST_REQUIRE_MESSAGE(a.ok(), why(a));
  BOOST_REQUIRE_MESSAGE(b.ok(), why(b));
  BOOST_REQUIRE_MESSAGE(c.ok(), why(c));
  check_same(*a, s);
  check_same(*b, s);
  check_same(*c, s);
  BOOST_CHECK(a->metadata == b->metadata);
  // The canonical re-serialisation is identical whatever order the input had.
  BOOST_CHECK(written(*a) == written(*b));
  BOOST_CHECK(written(*a) == written(*c));
}

BOOST_AUTO_TEST_CASE(loads_file_from_an_independent_writer) {
  // As numpy would write it: float64 and int64 arrays, a newer minor version, keys and tensors
  // this build does not know, no moe_layers (derived from names), header padded with whitespace.
  const hc::StatsFile s = sample_stats(true);
  HandFile f = hand_file(s, true);
  f.set_meta("format_version", "1.9");
  f.erase_meta("moe_layers");
  f.set_meta("future_key", "future value");
  f.put({"layers.1.expert_future_stat", "F32", {5}, raw(std::vector<float>(5, 1.0f))});
  f.put({"router_temperature", "F64", {}, raw(std::vector<double>{0.7})});
  f.put({"layers.9.unrelated", "U8", {3}, {1, 2, 3}});
  f.pad_before = " \n";
  f.pad_after = "      \n";
  const auto back = read(f.build());
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  check_same(*back, s);
  BOOST_CHECK_EQUAL(back->version_major, 1);
  BOOST_CHECK_EQUAL(back->version_minor, 9);
  BOOST_CHECK_EQUAL(back->metadata.at("future_key"), "future value");
  BOOST_CHECK_EQUAL(back->tokens, 123456789012ull);

  // Without num_experts, E comes from the frequency tensor.
  f.erase_meta("num_experts");
  f.erase_meta("top_k");
  const auto no_e = read(f.build());
  BOOST_REQUIRE_MESSAGE(no_e.ok(), why(no_e));
  BOOST_CHECK_EQUAL(no_e->num_experts, 0);
  BOOST_CHECK_EQUAL(no_e->layers[0].experts, 5);
}

BOOST_AUTO_TEST_CASE(wide_values_are_narrowed_and_checked) {
  const hc::StatsFile s = sample_stats(false);
  HandFile f = hand_file(s, true);
  // A float64 barrier beyond float range is infinite after narrowing, hence rejected.
  std::vector<double> barrier(10, 1.0);
  barrier[2] = 1e300;
  f.put({"layers.1.edge_barrier", "F64", {10}, raw(barrier)});
  expect_corrupt(f, "tensor 'layers.1.edge_barrier': value 2 is infinite");
  // An int64 index that would wrap to a valid int32 is out of range, not wrapped.
  f = hand_file(s, true);
  std::vector<std::int64_t> edges = flatten(s.layers[0].edges);
  edges[1] = (std::int64_t{1} << 32) + 1;
  f.put({"layers.1.edges", "I64", {10, 2}, raw(edges)});
  expect_corrupt(f, "row 0 = (0, 4294967297) has an index outside [0, 5)");
}

BOOST_AUTO_TEST_CASE(moe_layers_lists_the_layers) {
  const hc::StatsFile s = sample_stats(false);
  HandFile f = hand_file(s, false);
  f.set_meta("moe_layers", "4");
  auto only4 = read(f.build());
  BOOST_REQUIRE_MESSAGE(only4.ok(), why(only4));
  BOOST_REQUIRE_EQUAL(only4->layers.size(), 1u);
  BOOST_CHECK_EQUAL(only4->layers[0].layer, 4);

  f.set_meta("moe_layers", " 4 , 1 ");  // spaces tolerated; result ascending
  auto both = read(f.build());
  BOOST_REQUIRE_MESSAGE(both.ok(), why(both));
  BOOST_REQUIRE_EQUAL(both->layers.size(), 2u);
  BOOST_CHECK_EQUAL(both->layers[0].layer, 1);

  f.set_meta("moe_layers", "");
  auto none = read(f.build());
  BOOST_REQUIRE_MESSAGE(none.ok(), why(none));
  BOOST_CHECK(none->layers.empty());

  for (const std::string bad : {"1,x", "1,,4", "1,4,", "-1", "1;4", "01x"}) {
    f.set_meta("moe_layers", bad);
    expect_corrupt(f, "metadata 'moe_layers'");
  }
  f.set_meta("moe_layers", "1,4,1");
  expect_corrupt(f, "lists layer 1 twice");
  f.set_meta("moe_layers", "1,4,7");
  expect_corrupt(f, "missing required tensor 'layers.7.expert_frequency'");
}

BOOST_AUTO_TEST_CASE(triangles_may_be_absent_together) {
  const hc::StatsFile s = sample_stats(false);
  HandFile f = hand_file(s, false);
  f.erase("layers.1.triangles");
  f.erase("layers.1.triangle_barrier");
  const auto back = read(f.build());
  BOOST_REQUIRE_MESSAGE(back.ok(), why(back));
  BOOST_CHECK(back->layers[0].triangles.empty());
  BOOST_CHECK(back->layers[0].triangle_barrier.empty());
  BOOST_CHECK_EQUAL(back->layers[1].triangles.size(), 3u);

  f = hand_file(s, false);
  f.erase("layers.4.triangle_barrier");
  expect_corrupt(f, "missing required tensor 'layers.4.triangle_barrier'");
  f = hand_file(s, false);
  f.erase("layers.4.triangles");
  expect_corrupt(f, "missing required tensor 'layers.4.triangles'");
}

BOOST_AUTO_TEST_CASE(rejects_container_errors_as_malformed) {
  Bytes bytes = written(sample_stats(false));
  expect_error(Bytes(bytes.begin(), bytes.begin() + 5), hc::ErrorCode::Malformed, "too short");
  bytes.push_back(0);
  expect_error(bytes, hc::ErrorCode::Malformed, "trailing bytes after the last tensor");
  bytes.resize(bytes.size() - 9);
  expect_error(bytes, hc::ErrorCode::Malformed, "past the end of the file");
}

BOOST_AUTO_TEST_CASE(rejects_other_formats) {
  HandFile f = hand_file(sample_stats(false), false);
  f.set_meta("format", "pt");
  expect_error(f.build(), hc::ErrorCode::NotStatsFile, "format is 'pt'");
  f.erase_meta("format");
  expect_error(f.build(), hc::ErrorCode::NotStatsFile, "no 'format'");
  hc::SafetensorsWriter plain;
  BOOST_REQUIRE(plain.add_tensor("w", hc::Dtype::U8, {1}, Bytes{1}).ok());
  expect_error(plain.serialize(), hc::ErrorCode::NotStatsFile, "not a HodgeCover statistics file");
}

BOOST_AUTO_TEST_CASE(rejects_unsupported_versions) {
  HandFile f = hand_file(sample_stats(false), false);
  f.set_meta("format_version", "2.0");
  expect_error(f.build(), hc::ErrorCode::UnsupportedVersion,
               "written by a newer HodgeCover (format 2.0); this build reads 1.x");
  f.set_meta("format_version", "0.9");
  expect_error(f.build(), hc::ErrorCode::UnsupportedVersion, "format 0.9 is too old");
  for (const std::string bad : {"1", "1.x", "v1.0", "1.0.1", "", " 1.0", "-1.0"}) {
    f.set_meta("format_version", bad);
    expect_error(f.build(), hc::ErrorCode::UnsupportedVersion, "not of the form MAJOR.MINOR");
  }
  f.erase_meta("format_version");
  expect_error(f.build(), hc::ErrorCode::UnsupportedVersion, "no 'format_version'");
  f.set_meta("format_version", "1.99");
  const auto newer_minor = read(f.build());
  BOOST_REQUIRE_MESSAGE(newer_minor.ok(), why(newer_minor));
  BOOST_CHECK_EQUAL(newer_minor->version_minor, 99);
}

BOOST_AUTO_TEST_CASE(checksum_is_verified) {
  Bytes bytes = written(sample_stats(true));
  bytes.back() ^= 0x01;  // the last byte belongs to the data section
  expect_error(bytes, hc::ErrorCode::Corrupt, "checksum mismatch");

  HandFile f = hand_file(sample_stats(false), false);
  std::string tag = hc::xxh64_tag(f.data());
  std::transform(tag.begin() + 6, tag.end(), tag.begin() + 6,
                 [](char c) { return static_cast<char>(std::toupper(c)); });
  f.set_meta("checksum", tag);  // hex case does not matter
  BOOST_CHECK_MESSAGE(read(f.build()).ok(), why(read(f.build())));
  for (const std::string bad : {"xxh64:123", "md5:0123456789abcdef", "xxh64:0123456789abcdeg",
                                "xxh64:0123456789abcdef0", ""}) {
    f.set_meta("checksum", bad);
    expect_error(f.build(), hc::ErrorCode::Malformed, "is not of the form xxh64:<16 hex digits>");
  }
}

BOOST_AUTO_TEST_CASE(xxh64_tag_known_values) {
  BOOST_CHECK_EQUAL(hc::xxh64_tag({}), "xxh64:ef46db3751d8e999");
  const std::string text = "hodgecover";
  const Bytes bytes(text.begin(), text.end());
  BOOST_CHECK_EQUAL(hc::xxh64_tag(bytes), "xxh64:a6eb2318325fd4de");
}

BOOST_AUTO_TEST_CASE(rejects_missing_or_misshapen_tensors) {
  const hc::StatsFile s = sample_stats(true);
  HandFile f = hand_file(s, false);
  f.erase("layers.1.edge_barrier");
  expect_corrupt(f, "missing required tensor 'layers.1.edge_barrier'");
  f = hand_file(s, false);
  f.erase("layers.4.expert_ean");
  expect_corrupt(f, "missing required tensor 'layers.4.expert_ean'");

  f = hand_file(s, false);
  f.put(float_tensor("layers.1.expert_gate_mass", {1, 2, 3, 4}, {4}, false));
  expect_corrupt(f, "tensor 'layers.1.expert_gate_mass' has shape [4]; expected [5]");
  f = hand_file(s, false);
  f.put(float_tensor("layers.1.expert_frequency", std::vector<float>(6, 0.1f), {6}, false));
  expect_corrupt(f, "has shape [6] but metadata num_experts is 5");
  f = hand_file(s, false);
  f.put(float_tensor("layers.1.expert_frequency", std::vector<float>(5, 0.1f), {5, 1}, false));
  expect_corrupt(f, "has shape [5, 1]; expected [E]");
  f = hand_file(s, false);
  f.put(index_tensor("layers.1.edges", std::vector<std::int64_t>(30, 0), 3, false));
  expect_corrupt(f, "tensor 'layers.1.edges' has shape [10, 3]; expected [M, 2]");
  f = hand_file(s, false);
  f.put(float_tensor("layers.1.edge_barrier", std::vector<float>(9, 1.0f), {9}, false));
  expect_corrupt(f, "tensor 'layers.1.edge_barrier' has shape [9]; expected [10]");
  f = hand_file(s, false);
  f.put(float_tensor("layers.4.expert_input_sqnorm", std::vector<float>(15, 1.0f), {15}, false));
  expect_corrupt(f, "has shape [15]; expected [5, H]");
  f = hand_file(s, false);
  f.put(float_tensor("layers.4.expert_input_sqnorm", std::vector<float>(20, 1.0f), {5, 4}, false));
  expect_corrupt(f, "'layers.4.expert_input_sqnorm' has 4 columns but hidden_size is 3");

  f = hand_file(s, false);
  f.put({"layers.1.edges", "F32", {10, 2}, raw(std::vector<float>(20, 0.0f))});
  expect_corrupt(f, "tensor 'layers.1.edges' has dtype F32; expected I32 (or I64)");
  f = hand_file(s, false);
  f.put({"layers.1.expert_reap", "F16", {5}, Bytes(10, 0)});
  expect_corrupt(f, "has dtype F16; expected F32 (or F64)");
  f = hand_file(s, false);
  f.put({"layers.1.expert_frequency", "U8", {0}, {}});
  expect_corrupt(f, "has dtype U8");
}

BOOST_AUTO_TEST_CASE(rejects_bad_values) {
  const hc::StatsFile s = sample_stats(true);
  auto with_edges = [&](std::vector<std::int64_t> flat) {
    HandFile f = hand_file(s, false);
    f.put(index_tensor("layers.1.edges", flat, 2, false));
    return f;
  };
  std::vector<std::int64_t> edges = flatten(s.layers[0].edges);
  auto e = edges;
  e[1] = 5;
  expect_corrupt(with_edges(e),
                 "tensor 'layers.1.edges': row 0 = (0, 5) has an index outside [0, 5)");
  e = edges;
  e[0] = -1;
  expect_corrupt(with_edges(e), "has an index outside [0, 5)");
  e = edges;
  std::swap(e[2], e[3]);
  expect_corrupt(with_edges(e), "row 1 = (2, 0) is not strictly ascending");
  e = edges;
  e[2] = 1;  // a self-loop
  e[3] = 1;
  expect_corrupt(with_edges(e), "row 1 = (1, 1) is not strictly ascending");
  e = edges;
  e[2] = 0;
  e[3] = 1;  // row 1 repeats row 0
  expect_corrupt(with_edges(e), "tensor 'layers.1.edges': edge (0, 1) appears twice");

  auto with_barrier = [&](const char* suffix, std::size_t i, float value, std::size_t count) {
    HandFile f = hand_file(s, false);
    std::vector<float> v(count, 1.0f);
    v[i] = value;
    f.put(float_tensor(name_of(4, suffix), v, {count}, false));
    return f;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  expect_corrupt(with_barrier("edge_barrier", 3, nan, 10),
                 "tensor 'layers.4.edge_barrier': value 3 is NaN");
  expect_corrupt(with_barrier("edge_barrier", 0, inf, 10), "value 0 is infinite");
  expect_corrupt(with_barrier("edge_barrier", 9, -0.5f, 10), "value 9 is negative (-0.5)");
  expect_corrupt(with_barrier("triangle_barrier", 1, -1.0f, 3),
                 "tensor 'layers.4.triangle_barrier': value 1 is negative");
  expect_corrupt(with_barrier("triangle_barrier", 2, nan, 3), "value 2 is NaN");
  expect_corrupt(with_barrier("expert_reap", 0, nan, 5),
                 "tensor 'layers.4.expert_reap': value 0 is NaN");
  expect_corrupt(with_barrier("expert_frequency", 4, inf, 5), "value 4 is infinite");
  // Zero barriers and negative expert statistics are legal.
  BOOST_CHECK(read(with_barrier("edge_barrier", 3, 0.0f, 10).build()).ok());
  BOOST_CHECK(read(with_barrier("expert_ean", 3, -2.0f, 5).build()).ok());

  HandFile f = hand_file(s, false);
  std::vector<float> sq(15, 1.0f);
  sq[7] = -1.0f;
  f.put(float_tensor("layers.1.expert_input_sqnorm", sq, {5, 3}, false));
  expect_corrupt(f, "tensor 'layers.1.expert_input_sqnorm': value 7 is negative");

  auto with_triangles = [&](std::vector<std::int64_t> flat) {
    HandFile g = hand_file(s, false);
    g.put(index_tensor("layers.1.triangles", flat, 3, false));
    return g;
  };
  expect_corrupt(with_triangles({0, 1, 2, 2, 1, 4, 0, 3, 4}),
                 "tensor 'layers.1.triangles': row 1 = (2, 1, 4) is not strictly ascending");
  expect_corrupt(with_triangles({0, 1, 2, 1, 2, 2, 0, 3, 4}), "row 1 = (1, 2, 2) is not strictly");
  expect_corrupt(with_triangles({0, 1, 2, 1, 2, 4, 0, 3, 5}),
                 "row 2 = (0, 3, 5) has an index outside");
  expect_corrupt(with_triangles({0, 3, 4, 1, 2, 4, 0, 3, 4}), "triangle (0, 3, 4) appears twice");
}

BOOST_AUTO_TEST_CASE(rejects_bad_metadata_numbers) {
  HandFile f = hand_file(sample_stats(false), false);
  const std::pair<const char*, const char*> bad[] = {{"num_experts", "five"},
                                                     {"top_k", "-1"},
                                                     {"tokens", "1e6"},
                                                     {"hidden_size", "99999999999"},
                                                     {"moe_intermediate_size", " 8"},
                                                     {"tokens", "18446744073709551616"}};
  for (const auto& [key, value] : bad) {
    HandFile g = f;
    g.set_meta(key, value);
    expect_corrupt(g, "metadata '" + std::string(key) + "' is not a non-negative decimal integer");
  }
  HandFile g = f;
  g.set_meta("tokens", "18446744073709551615");
  const auto max_tokens = read(g.build());
  BOOST_REQUIRE_MESSAGE(max_tokens.ok(), why(max_tokens));
  BOOST_CHECK_EQUAL(max_tokens->tokens, std::numeric_limits<std::uint64_t>::max());
  g = f;
  g.set_meta("top_k", "6");
  expect_corrupt(g, "top_k (6) exceeds num_experts (5)");
  g = f;
  g.set_meta("num_experts", "0");
  expect_corrupt(g, "metadata 'num_experts' is 0");
}

BOOST_AUTO_TEST_CASE(validate_layer_names_the_tensor) {
  hc::LayerStats layer = hc::test::complete_layer(4, [](int i, int j) { return float(i + j); });
  layer.layer = 6;
  BOOST_CHECK(hc::validate_layer(layer).ok());
  auto expect = [](const hc::LayerStats& l, const std::string& phrase) {
    const auto status = hc::validate_layer(l);
    BOOST_REQUIRE_MESSAGE(!status.ok(), "expected failure mentioning '" << phrase << "'");
    BOOST_CHECK(status.error().code == hc::ErrorCode::Corrupt);
    BOOST_CHECK_MESSAGE(status.error().message.find(phrase) != std::string::npos,
                        status.error().message);
  };
  hc::LayerStats l = layer;
  l.frequency.pop_back();
  expect(l, "tensor 'layers.6.expert_frequency' has 3 values; expected 4");
  l = layer;
  l.experts = 0;
  expect(l, "at least 1");
  l = layer;
  l.layer = -1;
  expect(l, "negative");
  l = layer;
  l.input_sqnorm.assign(7, 1.0f);
  l.input_sqnorm_cols = 2;
  expect(l, "layers.6.expert_input_sqnorm");
  l = layer;
  l.triangles = {{0, 1, 2}};
  expect(l, "layers.6.triangle_barrier");
  l = layer;
  l.edges[2] = {3, 0};
  expect(l, "tensor 'layers.6.edges': row 2 = (3, 0) is not strictly ascending");
}

BOOST_AUTO_TEST_CASE(golden_file_is_stable) {
  const std::string path = std::string(HC_GOLDEN_DIR) + "/tiny_v1_0.hcstats";
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  const Bytes golden((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto stats = hc::read_stats(golden, path);
  BOOST_REQUIRE_MESSAGE(stats.ok(), why(stats));

  BOOST_CHECK_EQUAL(stats->model, "golden-tiny");
  BOOST_CHECK_EQUAL(stats->family, "synthetic");
  BOOST_CHECK_EQUAL(stats->barrier, "kl_lens");
  BOOST_CHECK_EQUAL(stats->num_experts, 4);
  BOOST_CHECK_EQUAL(stats->top_k, 2);
  BOOST_CHECK_EQUAL(stats->hidden_size, 3);
  BOOST_CHECK_EQUAL(stats->moe_intermediate_size, 0);
  BOOST_CHECK_EQUAL(stats->tokens, 4096u);
  BOOST_CHECK_EQUAL(stats->metadata.at("calibration"), "hand-picked golden values");
  BOOST_CHECK_EQUAL(stats->metadata.at("checksum"), "xxh64:4562d26c59f3cf58");
  BOOST_CHECK_EQUAL(stats->metadata.count("created"), 0u);
  BOOST_REQUIRE_EQUAL(stats->layers.size(), 1u);
  const hc::LayerStats& l = stats->layers[0];
  BOOST_CHECK_EQUAL(l.layer, 2);
  BOOST_CHECK_EQUAL(l.experts, 4);
  BOOST_CHECK((l.frequency == std::vector<float>{0.5f, 0.25f, 0.75f, 0.5f}));
  BOOST_CHECK((l.gate_mass == std::vector<float>{0.125f, 0.0625f, 0.25f, 0.1875f}));
  BOOST_CHECK((l.reap == std::vector<float>{1.5f, 0.5f, 2.0f, 1.0f}));
  BOOST_CHECK((l.ean == std::vector<float>{3.0f, 1.25f, 4.5f, 2.0f}));
  const std::vector<std::array<std::int32_t, 2>> edges = {{0, 1}, {0, 2}, {0, 3},
                                                          {1, 2}, {1, 3}, {2, 3}};
  BOOST_CHECK(l.edges == edges);
  BOOST_CHECK((l.edge_barrier == std::vector<float>{0.25f, 1.5f, 0.75f, 2.0f, 0.5f, 1.25f}));
  const std::vector<std::array<std::int32_t, 3>> triangles = {{0, 1, 2}, {0, 2, 3}, {1, 2, 3}};
  BOOST_CHECK(l.triangles == triangles);
  BOOST_CHECK((l.triangle_barrier == std::vector<float>{4.0f, 2.5f, 6.0f}));
  BOOST_CHECK_EQUAL(l.input_sqnorm_cols, 3u);
  BOOST_REQUIRE_EQUAL(l.input_sqnorm.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i) BOOST_CHECK_EQUAL(l.input_sqnorm[i], 1.0f + 0.5f * float(i));
  BOOST_CHECK(l.inner_sqnorm.empty());

  // Today's writer must reproduce the committed bytes exactly: any drift in the header layout,
  // key order, padding, tensor order or checksum shows up here.
  const Bytes again = written(*stats);
  BOOST_CHECK_EQUAL(again.size(), golden.size());
  BOOST_CHECK(again == golden);
}

BOOST_AUTO_TEST_CASE(expert_count_above_the_cap_is_refused) {
  hc::StatsFile stats;
  stats.family = "synthetic";
  hc::LayerStats layer;
  layer.experts = hc::kStatsMaxExperts + 1;
  const auto e = static_cast<std::size_t>(layer.experts);
  layer.frequency.assign(e, 0.001f);
  layer.gate_mass.assign(e, 0.001f);
  layer.reap.assign(e, 1.0f);
  layer.ean.assign(e, 1.0f);
  layer.edges.push_back({0, 1});
  layer.edge_barrier.push_back(0.5f);
  stats.layers.push_back(layer);
  auto bytes = hc::write_stats(stats);
  BOOST_REQUIRE(bytes.ok());
  auto back = hc::read_stats(*bytes, "big.hcstats");
  BOOST_REQUIRE(!back.ok());
  BOOST_TEST((back.error().code == hc::ErrorCode::Corrupt));
  BOOST_TEST(back.error().message.find("big.hcstats") != std::string::npos);
  BOOST_TEST(back.error().message.find("4096") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
