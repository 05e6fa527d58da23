// Statistics file `hodgecover.stats` 1.x (docs/FORMAT.md): validating reader, writer and checksum.
// The reader accepts any tool's output: F64/I64 tensors, any tensor order, extra keys/tensors.
#include "hc/stats_file.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "duplicate_rows.hpp"
#include "hc/safetensors.hpp"

static_assert(std::endian::native == std::endian::little,
              "tensor bytes are little-endian and copied as they are");

namespace hc {
namespace {

constexpr const char* kFrequency = "expert_frequency";
constexpr const char* kGateMass = "expert_gate_mass";
constexpr const char* kReap = "expert_reap";
constexpr const char* kEan = "expert_ean";
constexpr const char* kEdges = "edges";
constexpr const char* kEdgeBarrier = "edge_barrier";
constexpr const char* kTriangles = "triangles";
constexpr const char* kTriangleBarrier = "triangle_barrier";
constexpr const char* kInputSqnorm = "expert_input_sqnorm";
constexpr const char* kInnerSqnorm = "expert_inner_sqnorm";
constexpr const char* kRouterProb = "expert_router_prob";
constexpr const char* kRouterSample = "router_logit_sample";
constexpr const char* kLoo = "expert_loo";
constexpr const char* kSubstitution = "substitution_barrier";
constexpr const char* kLayerSuffixes[] = {kFrequency,   kGateMass,    kReap,       kEan,
                                          kEdges,       kEdgeBarrier, kTriangles,  kTriangleBarrier,
                                          kInputSqnorm, kInnerSqnorm, kRouterProb, kRouterSample,
                                          kLoo,         kSubstitution};

Error corrupt(std::string message) {
  return make_error(ErrorCode::Corrupt, std::move(message));
}

std::string tensor_name(int layer, const char* suffix) {
  return "layers." + std::to_string(layer) + "." + suffix;
}

std::string quoted(const std::string& name) {
  return "tensor '" + name + "'";
}

std::string number_text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

// Decimal digits only: no sign, no spaces, no overflow.
bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

bool parse_int(std::string_view s, int& out) {
  std::uint64_t v = 0;
  if (!parse_u64(s, v) || v > static_cast<std::uint64_t>(INT_MAX)) return false;
  out = static_cast<int>(v);
  return true;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

template <typename Int, std::size_t W>
std::string row_text(const std::array<Int, W>& row) {
  std::string out = "(";
  for (std::size_t c = 0; c < W; ++c) out += (c ? ", " : "") + std::to_string(row[c]);
  return out + ")";
}

// ---- tensor access -------------------------------------------------------------------------

constexpr std::uint64_t kAnyDim = std::numeric_limits<std::uint64_t>::max();

struct Dim {
  std::uint64_t size;  // kAnyDim: any size, printed as `label`
  const char* label;
};

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

Status expect_shape(const TensorInfo& t, std::initializer_list<Dim> want) {
  bool ok = t.shape.size() == want.size();
  std::string text = "[";
  std::size_t i = 0;
  for (const Dim& d : want) {
    text += (i ? ", " : "") + (d.size == kAnyDim ? std::string(d.label) : std::to_string(d.size));
    if (ok && d.size != kAnyDim && t.shape[i] != d.size) ok = false;
    ++i;
  }
  if (ok) return Ok{};
  return corrupt(quoted(t.name) + " has shape " + shape_text(t.shape) + "; expected " + text + "]");
}

Status expect_dtype(const TensorInfo& t, bool floating) {
  const bool ok = floating ? (t.dtype == Dtype::F32 || t.dtype == Dtype::F64)
                           : (t.dtype == Dtype::I32 || t.dtype == Dtype::I64);
  if (ok) return Ok{};
  return corrupt(quoted(t.name) + " has dtype " + dtype_name(t.dtype) + "; expected " +
                 (floating ? "F32 (or F64)" : "I32 (or I64)"));
}

// F64 is narrowed; magnitudes beyond float range become infinities (rejected by validation)
// rather than relying on an out-of-range conversion.
std::vector<float> to_floats(std::span<const std::uint8_t> bytes, Dtype dtype) {
  std::vector<float> out;
  if (dtype == Dtype::F32) {
    out.resize(bytes.size() / sizeof(float));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
  }
  out.resize(bytes.size() / sizeof(double));
  for (std::size_t i = 0; i < out.size(); ++i) {
    double d = 0;
    std::memcpy(&d, bytes.data() + i * sizeof(double), sizeof d);
    constexpr double kMax = std::numeric_limits<float>::max();
    constexpr float kInf = std::numeric_limits<float>::infinity();
    out[i] =
        std::isfinite(d) && std::fabs(d) > kMax ? (d > 0 ? kInf : -kInf) : static_cast<float>(d);
  }
  return out;
}

std::int64_t read_index(std::span<const std::uint8_t> bytes, Dtype dtype, std::size_t i) {
  if (dtype == Dtype::I32) {
    std::int32_t v = 0;
    std::memcpy(&v, bytes.data() + i * sizeof v, sizeof v);
    return v;
  }
  std::int64_t v = 0;
  std::memcpy(&v, bytes.data() + i * sizeof v, sizeof v);
  return v;
}

// Index rows [R, W]; a value outside [0, E) is reported here, before narrowing could wrap it.
template <std::size_t W>
Status to_index_rows(const SafetensorsView& view, const TensorInfo& t, int experts,
                     std::vector<std::array<std::int32_t, W>>& out) {
  const auto bytes = view.bytes(t);
  const std::size_t rows = static_cast<std::size_t>(t.shape[0]);
  out.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    std::array<std::int64_t, W> row{};
    bool in_range = true;
    for (std::size_t c = 0; c < W; ++c) {
      row[c] = read_index(bytes, t.dtype, r * W + c);
      in_range = in_range && row[c] >= 0 && row[c] < experts;
      out[r][c] = static_cast<std::int32_t>(row[c]);
    }
    if (!in_range)
      return corrupt(quoted(t.name) + ": row " + std::to_string(r) + " = " + row_text(row) +
                     " has an index outside [0, " + std::to_string(experts) + ")");
  }
  return Ok{};
}

using TensorIndex = std::unordered_map<std::string, const TensorInfo*>;

const TensorInfo* lookup(const TensorIndex& index, int layer, const char* suffix) {
  const auto it = index.find(tensor_name(layer, suffix));
  return it == index.end() ? nullptr : it->second;
}

Result<const TensorInfo*> require(const TensorIndex& index, int layer, const char* suffix) {
  const TensorInfo* t = lookup(index, layer, suffix);
  if (!t) return corrupt("missing required tensor '" + tensor_name(layer, suffix) + "'");
  return t;
}

Result<LayerStats> read_layer(const SafetensorsView& view, const TensorIndex& index, int layer,
                              int num_experts) {
  LayerStats out;
  out.layer = layer;

  auto frequency = require(index, layer, kFrequency);
  if (!frequency) return frequency.error();
  const TensorInfo& f = **frequency;
  HC_TRY_STATUS(expect_dtype(f, true));
  HC_TRY_STATUS(expect_shape(f, {{kAnyDim, "E"}}));
  if (num_experts > 0 && f.shape[0] != static_cast<std::uint64_t>(num_experts))
    return corrupt(quoted(f.name) + " has shape " + shape_text(f.shape) +
                   " but metadata num_experts is " + std::to_string(num_experts));
  if (f.shape[0] == 0 || f.shape[0] > static_cast<std::uint64_t>(kStatsMaxExperts))
    return corrupt(quoted(f.name) + " has shape " + shape_text(f.shape) +
                   "; a layer needs between 1 and " + std::to_string(kStatsMaxExperts) +
                   " experts");
  const std::uint64_t e = f.shape[0];
  out.experts = static_cast<int>(e);

  const std::pair<const char*, std::vector<float>*> vectors[] = {{kFrequency, &out.frequency},
                                                                 {kGateMass, &out.gate_mass},
                                                                 {kReap, &out.reap},
                                                                 {kEan, &out.ean}};
  for (const auto& [suffix, target] : vectors) {
    auto t = require(index, layer, suffix);
    if (!t) return t.error();
    HC_TRY_STATUS(expect_dtype(**t, true));
    HC_TRY_STATUS(expect_shape(**t, {{e, nullptr}}));
    *target = to_floats(view.bytes(**t), (*t)->dtype);
  }

  auto edges = require(index, layer, kEdges);
  if (!edges) return edges.error();
  HC_TRY_STATUS(expect_dtype(**edges, false));
  HC_TRY_STATUS(expect_shape(**edges, {{kAnyDim, "M"}, {2, nullptr}}));
  const std::uint64_t m = (*edges)->shape[0];
  auto edge_barrier = require(index, layer, kEdgeBarrier);
  if (!edge_barrier) return edge_barrier.error();
  HC_TRY_STATUS(expect_dtype(**edge_barrier, true));
  HC_TRY_STATUS(expect_shape(**edge_barrier, {{m, nullptr}}));
  HC_TRY_STATUS(to_index_rows(view, **edges, out.experts, out.edges));
  out.edge_barrier = to_floats(view.bytes(**edge_barrier), (*edge_barrier)->dtype);

  // No triangles at all (neither tensor) means T = 0: a producer that measured none.
  const TensorInfo* triangles = lookup(index, layer, kTriangles);
  const TensorInfo* triangle_barrier = lookup(index, layer, kTriangleBarrier);
  if (triangles && !triangle_barrier)
    return corrupt("missing required tensor '" + tensor_name(layer, kTriangleBarrier) +
                   "' (the layer has '" + triangles->name + "')");
  if (!triangles && triangle_barrier)
    return corrupt("missing required tensor '" + tensor_name(layer, kTriangles) +
                   "' (the layer has '" + triangle_barrier->name + "')");
  if (triangles) {
    HC_TRY_STATUS(expect_dtype(*triangles, false));
    HC_TRY_STATUS(expect_shape(*triangles, {{kAnyDim, "T"}, {3, nullptr}}));
    HC_TRY_STATUS(expect_dtype(*triangle_barrier, true));
    HC_TRY_STATUS(expect_shape(*triangle_barrier, {{triangles->shape[0], nullptr}}));
    HC_TRY_STATUS(to_index_rows(view, *triangles, out.experts, out.triangles));
    out.triangle_barrier = to_floats(view.bytes(*triangle_barrier), triangle_barrier->dtype);
  }

  const std::tuple<const char*, const char*, std::vector<float>*, std::size_t*> wanda[] = {
      {kInputSqnorm, "H", &out.input_sqnorm, &out.input_sqnorm_cols},
      {kInnerSqnorm, "I", &out.inner_sqnorm, &out.inner_sqnorm_cols}};
  for (const auto& [suffix, label, values, cols] : wanda) {
    const TensorInfo* t = lookup(index, layer, suffix);
    if (!t) continue;
    HC_TRY_STATUS(expect_dtype(*t, true));
    HC_TRY_STATUS(expect_shape(*t, {{e, nullptr}, {kAnyDim, label}}));
    *values = to_floats(view.bytes(*t), t->dtype);
    *cols = values->empty() ? 0 : static_cast<std::size_t>(t->shape[1]);
  }

  // Format 1.1 optional tensors.
  for (const auto& [suffix, values] :
       {std::pair{kRouterProb, &out.router_prob}, std::pair{kLoo, &out.loo}}) {
    const TensorInfo* t = lookup(index, layer, suffix);
    if (!t) continue;
    HC_TRY_STATUS(expect_dtype(*t, true));
    HC_TRY_STATUS(expect_shape(*t, {{e, nullptr}}));
    *values = to_floats(view.bytes(*t), t->dtype);
  }
  if (const TensorInfo* t = lookup(index, layer, kSubstitution)) {  // format 1.3
    HC_TRY_STATUS(expect_dtype(*t, true));
    HC_TRY_STATUS(expect_shape(*t, {{e, nullptr}, {e, nullptr}}));
    out.substitution = to_floats(view.bytes(*t), t->dtype);
  }
  if (const TensorInfo* t = lookup(index, layer, kRouterSample)) {
    HC_TRY_STATUS(expect_dtype(*t, true));
    HC_TRY_STATUS(expect_shape(*t, {{kAnyDim, "N"}, {e, nullptr}}));
    if (t->shape[0] > kStatsMaxRouterSample)
      return corrupt(quoted(t->name) + " has " + std::to_string(t->shape[0]) + " rows; at most " +
                     std::to_string(kStatsMaxRouterSample) + " are read");
    out.router_sample = to_floats(view.bytes(*t), t->dtype);
    out.router_sample_rows = static_cast<std::size_t>(t->shape[0]);
  }

  HC_TRY_STATUS(validate_layer(out));
  return out;
}

// `moe_layers` when present, else every L that has a tensor `layers.L.<known stats name>`.
Result<std::vector<int>> layer_list(const SafetensorsView& view) {
  std::vector<int> layers;
  const auto listed = view.metadata.find("moe_layers");
  if (listed != view.metadata.end()) {
    std::string_view rest = listed->second;
    while (!trim_spaces(rest).empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim_spaces(rest.substr(0, comma));
      int layer = 0;
      if (!parse_int(item, layer))
        return corrupt("metadata 'moe_layers' is not a comma-separated list of layer indices: '" +
                       listed->second + "'");
      layers.push_back(layer);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
      if (trim_spaces(rest).empty())
        return corrupt("metadata 'moe_layers' ends with a comma: '" + listed->second + "'");
    }
    std::sort(layers.begin(), layers.end());
    const auto dup = std::adjacent_find(layers.begin(), layers.end());
    if (dup != layers.end())
      return corrupt("metadata 'moe_layers' lists layer " + std::to_string(*dup) + " twice");
    return layers;
  }
  std::set<int> found;
  for (const TensorInfo& t : view.tensors) {
    std::string_view name = t.name;
    if (name.substr(0, 7) != "layers.") continue;
    name.remove_prefix(7);
    const std::size_t dot = name.find('.');
    const std::string_view digits = name.substr(0, dot);
    int layer = 0;
    if (dot == std::string_view::npos || !parse_int(digits, layer) ||
        (digits.size() > 1 && digits[0] == '0'))
      continue;
    const std::string_view suffix = name.substr(dot + 1);
    for (const char* known : kLayerSuffixes)
      if (suffix == known) found.insert(layer);
  }
  return std::vector<int>(found.begin(), found.end());
}

// Parses an optional decimal metadata entry; absent leaves `out` untouched.
template <typename T>
Status metadata_number(const std::map<std::string, std::string>& metadata, const char* key,
                       T& out) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) return Ok{};
  bool ok = false;
  if constexpr (std::is_same_v<T, int>) {
    ok = parse_int(it->second, out);
  } else {
    ok = parse_u64(it->second, out);
  }
  if (!ok)
    return corrupt("metadata '" + std::string(key) + "' is not a non-negative decimal integer: '" +
                   it->second + "'");
  return Ok{};
}

// The reader and the writer agree on what makes metadata and tensors consistent.
Status check_metadata(const StatsFile& stats, int num_experts) {
  if (num_experts > 0 && stats.top_k > num_experts)
    return corrupt("top_k (" + std::to_string(stats.top_k) + ") exceeds num_experts (" +
                   std::to_string(num_experts) + ")");
  return Ok{};
}

Status check_against_metadata(const LayerStats& l, const StatsFile& stats) {
  if (stats.num_experts > 0 && l.experts != stats.num_experts)
    return corrupt("layer " + std::to_string(l.layer) + " has " + std::to_string(l.experts) +
                   " experts but num_experts is " + std::to_string(stats.num_experts));
  const std::tuple<const char*, std::size_t, int, const char*> widths[] = {
      {kInputSqnorm, l.input_sqnorm_cols, stats.hidden_size, "hidden_size"},
      {kInnerSqnorm, l.inner_sqnorm_cols, stats.moe_intermediate_size, "moe_intermediate_size"}};
  for (const auto& [suffix, cols, want, key] : widths)
    if (want > 0 && cols > 0 && cols != static_cast<std::size_t>(want))
      return corrupt(quoted(tensor_name(l.layer, suffix)) + " has " + std::to_string(cols) +
                     " columns but " + key + " is " + std::to_string(want));
  return Ok{};
}

Result<StatsFile> read_stats_unprefixed(std::span<const std::uint8_t> bytes) {
  auto container = parse_safetensors(bytes);
  if (!container) return container.error();
  const SafetensorsView& view = *container;
  const auto& metadata = view.metadata;

  const auto format = metadata.find("format");
  if (format == metadata.end())
    return make_error(ErrorCode::NotStatsFile,
                      "not a HodgeCover statistics file (no 'format' in __metadata__)");
  if (format->second != kStatsFormat)
    return make_error(ErrorCode::NotStatsFile, "not a HodgeCover statistics file (format is '" +
                                                   format->second + "', expected '" + kStatsFormat +
                                                   "')");

  // The file says it is ours, so a version we cannot establish is a version we do not read.
  StatsFile stats;
  const auto version = metadata.find("format_version");
  if (version == metadata.end())
    return make_error(ErrorCode::UnsupportedVersion,
                      "statistics file has no 'format_version' in __metadata__");
  const std::string& v = version->second;
  const std::size_t dot = v.find('.');
  if (dot == std::string::npos ||
      !parse_int(std::string_view(v).substr(0, dot), stats.version_major) ||
      !parse_int(std::string_view(v).substr(dot + 1), stats.version_minor))
    return make_error(ErrorCode::UnsupportedVersion,
                      "format_version '" + v + "' is not of the form MAJOR.MINOR");
  if (stats.version_major > kStatsMajor)
    return make_error(ErrorCode::UnsupportedVersion, "written by a newer HodgeCover (format " + v +
                                                         "); this build reads " +
                                                         std::to_string(kStatsMajor) + ".x");
  if (stats.version_major < kStatsMajor)
    return make_error(
        ErrorCode::UnsupportedVersion,
        "format " + v + " is too old; this build reads " + std::to_string(kStatsMajor) + ".x");

  if (const auto checksum = metadata.find("checksum"); checksum != metadata.end()) {
    const std::string& c = checksum->second;
    if (c.size() != 22 || c.compare(0, 6, "xxh64:") != 0 ||
        !std::all_of(c.begin() + 6, c.end(), is_hex_digit))
      return make_error(ErrorCode::Malformed,
                        "checksum '" + c + "' is not of the form xxh64:<16 hex digits>");
    std::string expected = c;
    std::transform(expected.begin(), expected.end(), expected.begin(),
                   [](char ch) { return ch >= 'A' && ch <= 'F' ? char(ch - 'A' + 'a') : ch; });
    const std::string actual = xxh64_tag(view.data);
    if (expected != actual)
      return corrupt("checksum mismatch: the file says " + c + " but its data section hashes to " +
                     actual);
  }

  stats.metadata = metadata;
  HC_TRY_STATUS(metadata_number(metadata, "num_experts", stats.num_experts));
  HC_TRY_STATUS(metadata_number(metadata, "top_k", stats.top_k));
  HC_TRY_STATUS(metadata_number(metadata, "hidden_size", stats.hidden_size));
  HC_TRY_STATUS(metadata_number(metadata, "moe_intermediate_size", stats.moe_intermediate_size));
  HC_TRY_STATUS(metadata_number(metadata, "tokens", stats.tokens));
  if (metadata.count("num_experts") && stats.num_experts == 0)
    return corrupt("metadata 'num_experts' is 0");
  HC_TRY_STATUS(check_metadata(stats, stats.num_experts));
  for (const auto& [key, field] :
       {std::pair{"model", &stats.model}, std::pair{"family", &stats.family},
        std::pair{"barrier", &stats.barrier}})
    if (const auto it = metadata.find(key); it != metadata.end()) *field = it->second;

  auto layers = layer_list(view);
  if (!layers) return layers.error();
  TensorIndex index;
  for (const TensorInfo& t : view.tensors) index.emplace(t.name, &t);
  for (const int layer : *layers) {
    auto parsed = read_layer(view, index, layer, stats.num_experts);
    if (!parsed) return parsed.error();
    HC_TRY_STATUS(check_against_metadata(*parsed, stats));
    stats.layers.push_back(std::move(parsed).value());
  }
  return stats;
}

// ---- validation helpers ----------------------------------------------------------------------

Status check_values(const std::string& name, const std::vector<float>& values, bool non_negative) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (std::isnan(v)) return corrupt(quoted(name) + ": value " + std::to_string(i) + " is NaN");
    if (std::isinf(v))
      return corrupt(quoted(name) + ": value " + std::to_string(i) + " is infinite");
    if (non_negative && v < 0)
      return corrupt(quoted(name) + ": value " + std::to_string(i) + " is negative (" +
                     number_text(v) + ")");
  }
  return Ok{};
}

template <std::size_t W>
Status check_rows(const std::string& name, const std::vector<std::array<std::int32_t, W>>& rows,
                  int experts, const char* what) {
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (const std::int32_t v : rows[r])
      if (v < 0 || v >= experts)
        return corrupt(quoted(name) + ": row " + std::to_string(r) + " = " + row_text(rows[r]) +
                       " has an index outside [0, " + std::to_string(experts) + ")");
    for (std::size_t c = 1; c < W; ++c)
      if (rows[r][c - 1] >= rows[r][c])
        return corrupt(quoted(name) + ": row " + std::to_string(r) + " = " + row_text(rows[r]) +
                       " is not strictly ascending");
  }
  if (const auto dup = detail::find_duplicate_row(rows, experts))
    return corrupt(quoted(name) + ": " + what + " " + row_text(rows[*dup]) + " appears twice");
  return Ok{};
}

Status check_count(const std::string& name, std::size_t have, std::size_t want,
                   const std::string& why) {
  if (have == want) return Ok{};
  return corrupt(quoted(name) + " has " + std::to_string(have) + " values; expected " +
                 std::to_string(want) + " (" + why + ")");
}

Error as_invalid_argument(const Error& e) {
  return make_error(ErrorCode::InvalidArgument, e.message);
}

}  // namespace

const LayerStats* StatsFile::find_layer(int layer) const {
  for (const LayerStats& l : layers)
    if (l.layer == layer) return &l;
  return nullptr;
}

std::string xxh64_tag(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t h = XXH64(bytes.data(), bytes.size(), 0);
  std::string out = "xxh64:0000000000000000";
  for (std::size_t i = out.size(); i-- > 6; h >>= 4) out[i] = kHex[h & 0xF];
  return out;
}

Status validate_layer(const LayerStats& layer) {
  const int l = layer.layer;
  auto name = [l](const char* suffix) { return tensor_name(l, suffix); };
  if (l < 0) return corrupt("layer index " + std::to_string(l) + " is negative");
  if (layer.experts < 1)
    return corrupt("layer " + std::to_string(l) + " has " + std::to_string(layer.experts) +
                   " experts; at least 1 is needed");
  const auto e = static_cast<std::size_t>(layer.experts);
  for (const auto& [suffix, values] :
       {std::pair{kFrequency, &layer.frequency}, std::pair{kGateMass, &layer.gate_mass},
        std::pair{kReap, &layer.reap}, std::pair{kEan, &layer.ean}}) {
    HC_TRY_STATUS(check_count(name(suffix), values->size(), e, "one per expert"));
    HC_TRY_STATUS(check_values(name(suffix), *values, false));
  }
  HC_TRY_STATUS(check_count(name(kEdgeBarrier), layer.edge_barrier.size(), layer.edges.size(),
                            "one per row of '" + name(kEdges) + "'"));
  HC_TRY_STATUS(check_count(name(kTriangleBarrier), layer.triangle_barrier.size(),
                            layer.triangles.size(), "one per row of '" + name(kTriangles) + "'"));
  for (const auto& [suffix, values, cols] :
       {std::tuple{kInputSqnorm, &layer.input_sqnorm, layer.input_sqnorm_cols},
        std::tuple{kInnerSqnorm, &layer.inner_sqnorm, layer.inner_sqnorm_cols}}) {
    if (values->empty() && cols == 0) continue;  // optional tensor absent
    if (cols == 0 || values->size() != e * cols)
      return corrupt(quoted(name(suffix)) + " has " + std::to_string(values->size()) +
                     " values for " + std::to_string(cols) + " columns; expected experts (" +
                     std::to_string(e) + ") x columns, with at least one column");
    HC_TRY_STATUS(check_values(name(suffix), *values, true));
  }
  for (const auto& [suffix, values] :
       {std::pair{kRouterProb, &layer.router_prob}, std::pair{kLoo, &layer.loo}}) {
    if (values->empty()) continue;  // optional tensor absent
    HC_TRY_STATUS(check_count(name(suffix), values->size(), e, "one per expert"));
    HC_TRY_STATUS(check_values(name(suffix), *values, true));
  }
  if (layer.router_sample_rows > 0 || !layer.router_sample.empty()) {
    if (layer.router_sample_rows == 0 || layer.router_sample.size() != layer.router_sample_rows * e)
      return corrupt(quoted(name(kRouterSample)) + " has " +
                     std::to_string(layer.router_sample.size()) + " values for " +
                     std::to_string(layer.router_sample_rows) + " rows; expected rows x experts (" +
                     std::to_string(e) + "), with at least one row");
    HC_TRY_STATUS(check_values(name(kRouterSample), layer.router_sample, false));
  }
  if (!layer.substitution.empty()) {
    HC_TRY_STATUS(
        check_count(name(kSubstitution), layer.substitution.size(), e * e, "experts x experts"));
    HC_TRY_STATUS(check_values(name(kSubstitution), layer.substitution, true));
    for (std::size_t i = 0; i < e; ++i)
      if (layer.substitution[i * e + i] != 0.0f)
        return corrupt(quoted(name(kSubstitution)) + ": diagonal entry " + std::to_string(i) +
                       " is " + number_text(layer.substitution[i * e + i]) +
                       "; an expert replaced by itself changes nothing (0)");
  }
  HC_TRY_STATUS(check_rows(name(kEdges), layer.edges, layer.experts, "edge"));
  HC_TRY_STATUS(check_values(name(kEdgeBarrier), layer.edge_barrier, true));
  HC_TRY_STATUS(check_rows(name(kTriangles), layer.triangles, layer.experts, "triangle"));
  HC_TRY_STATUS(check_values(name(kTriangleBarrier), layer.triangle_barrier, true));
  return Ok{};
}

Result<StatsFile> read_stats(std::span<const std::uint8_t> bytes, const std::string& source) {
  auto result = read_stats_unprefixed(bytes);
  if (result) return result;
  return make_error(result.error().code, source + ": " + result.error().message);
}

Result<std::vector<std::uint8_t>> write_stats(const StatsFile& stats,
                                              const StatsWriteOptions& options) {
  std::vector<const LayerStats*> layers;
  for (const LayerStats& l : stats.layers) layers.push_back(&l);
  std::sort(layers.begin(), layers.end(),
            [](const LayerStats* a, const LayerStats* b) { return a->layer < b->layer; });
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (i > 0 && layers[i]->layer == layers[i - 1]->layer)
      return make_error(ErrorCode::InvalidArgument,
                        "layer " + std::to_string(layers[i]->layer) + " appears twice");
    if (auto valid = validate_layer(*layers[i]); !valid) return as_invalid_argument(valid.error());
  }
  if (stats.num_experts < 0 || stats.top_k < 0 || stats.hidden_size < 0 ||
      stats.moe_intermediate_size < 0)
    return make_error(ErrorCode::InvalidArgument,
                      "num_experts, top_k, hidden_size and moe_intermediate_size must be >= 0");

  // Every field the reader re-derives must come out the same, so the reader's checks are
  // repeated here and the struct (not a possibly stale metadata entry) is the truth.
  int num_experts = stats.num_experts;
  if (num_experts == 0 && !layers.empty() &&
      std::all_of(layers.begin(), layers.end(),
                  [&](const LayerStats* l) { return l->experts == layers[0]->experts; }))
    num_experts = layers[0]->experts;
  for (const LayerStats* l : layers)
    if (auto consistent = check_against_metadata(*l, stats); !consistent)
      return as_invalid_argument(consistent.error());
  if (auto consistent = check_metadata(stats, num_experts); !consistent)
    return as_invalid_argument(consistent.error());

  std::map<std::string, std::string> metadata = stats.metadata;
  metadata.erase("checksum");  // recomputed below, or dropped: a stale one would not verify
  auto set_or_erase = [&metadata](const char* key, const std::string& value, bool present) {
    if (present)
      metadata[key] = value;
    else
      metadata.erase(key);
  };
  set_or_erase("format", kStatsFormat, true);
  const bool v1_1 = std::any_of(layers.begin(), layers.end(),
                                [](const LayerStats* l) { return l->has_v1_1_tensors(); });
  const bool v1_3 = std::any_of(layers.begin(), layers.end(),
                                [](const LayerStats* l) { return !l->substitution.empty(); });
  // 1.3 added substitution_barrier, 1.2 the `lens_support` metadata keys, 1.1 the optional
  // tensors of the gate correction (docs/FORMAT.md §6).
  const char* minor = v1_3 ? "3" : metadata.count("lens_support") > 0 ? "2" : v1_1 ? "1" : "0";
  set_or_erase("format_version", std::to_string(kStatsMajor) + "." + minor, true);
  std::string moe_layers;
  for (const LayerStats* l : layers)
    moe_layers += (moe_layers.empty() ? "" : ",") + std::to_string(l->layer);
  set_or_erase("moe_layers", moe_layers, true);
  set_or_erase("num_experts", std::to_string(num_experts), num_experts > 0);
  set_or_erase("top_k", std::to_string(stats.top_k), stats.top_k > 0);
  set_or_erase("hidden_size", std::to_string(stats.hidden_size), stats.hidden_size > 0);
  set_or_erase("moe_intermediate_size", std::to_string(stats.moe_intermediate_size),
               stats.moe_intermediate_size > 0);
  set_or_erase("tokens", std::to_string(stats.tokens), stats.tokens > 0);
  set_or_erase("model", stats.model, !stats.model.empty());
  set_or_erase("family", stats.family, !stats.family.empty());
  set_or_erase("barrier", stats.barrier, !stats.barrier.empty());

  SafetensorsWriter writer;
  for (const auto& [key, value] : metadata) writer.set_metadata(key, value);
  auto as_bytes = [](const auto& v) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(v.data()),
                                         v.size() * sizeof(v[0]));
  };
  for (const LayerStats* l : layers) {
    const int L = l->layer;
    const std::uint64_t e = static_cast<std::uint64_t>(l->experts);
    std::vector<std::int32_t> edges, triangles;
    for (const auto& row : l->edges) edges.insert(edges.end(), row.begin(), row.end());
    for (const auto& row : l->triangles) triangles.insert(triangles.end(), row.begin(), row.end());
    struct Item {
      const char* suffix;
      Dtype dtype;
      std::vector<std::uint64_t> shape;
      std::span<const std::uint8_t> bytes;
    };
    std::vector<Item> items = {
        {kFrequency, Dtype::F32, {e}, as_bytes(l->frequency)},
        {kGateMass, Dtype::F32, {e}, as_bytes(l->gate_mass)},
        {kReap, Dtype::F32, {e}, as_bytes(l->reap)},
        {kEan, Dtype::F32, {e}, as_bytes(l->ean)},
        {kEdges, Dtype::I32, {l->edges.size(), 2}, as_bytes(edges)},
        {kEdgeBarrier, Dtype::F32, {l->edge_barrier.size()}, as_bytes(l->edge_barrier)},
        {kTriangles, Dtype::I32, {l->triangles.size(), 3}, as_bytes(triangles)},
        {kTriangleBarrier, Dtype::F32, {l->triangle_barrier.size()}, as_bytes(l->triangle_barrier)},
    };
    if (l->input_sqnorm_cols > 0)
      items.push_back(
          {kInputSqnorm, Dtype::F32, {e, l->input_sqnorm_cols}, as_bytes(l->input_sqnorm)});
    if (l->inner_sqnorm_cols > 0)
      items.push_back(
          {kInnerSqnorm, Dtype::F32, {e, l->inner_sqnorm_cols}, as_bytes(l->inner_sqnorm)});
    if (!l->router_prob.empty())
      items.push_back({kRouterProb, Dtype::F32, {e}, as_bytes(l->router_prob)});
    if (l->router_sample_rows > 0)
      items.push_back(
          {kRouterSample, Dtype::F32, {l->router_sample_rows, e}, as_bytes(l->router_sample)});
    if (!l->loo.empty()) items.push_back({kLoo, Dtype::F32, {e}, as_bytes(l->loo)});
    if (!l->substitution.empty())
      items.push_back({kSubstitution, Dtype::F32, {e, e}, as_bytes(l->substitution)});
    for (Item& item : items)
      HC_TRY_STATUS(writer.add_tensor(tensor_name(L, item.suffix), item.dtype,
                                      std::move(item.shape), item.bytes));
  }
  if (options.checksum) writer.set_metadata("checksum", xxh64_tag(writer.data_section()));
  return writer.serialize();
}

}  // namespace hc
