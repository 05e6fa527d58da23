// apply_plan: slices, renumbers, merges and Wanda-prunes the routed experts of every MoE layer
// and writes the checkpoint with the project's writer; every other tensor is copied unchanged.
#include "hc/native/apply.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <system_error>

#include "hc/native/checkpoint.hpp"
#include "hc/native/checkpoint_writer.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native {
namespace {

namespace fs = std::filesystem;

hc::Error invalid(const std::string& message) {
  return hc::make_error(hc::ErrorCode::InvalidArgument, message);
}

// One routed-expert tensor of a layer: which expert (or -1 for a [E, ...] tensor sliced on
// dim 0), and which matrix it is (for Wanda: 'g'ate, 'u'p, 'd'own, or 0).
struct ExpertTensor {
  int layer = 0;
  int expert = -1;
  char matrix = 0;
  std::string suffix;  // name after "experts.N." for per-expert tensors
};

// Checks the plan against the checkpoint: every MoE layer present, same keep count, valid ids.
hc::Status check_plan(const hc::Plan& plan, const MoeModelSpec& spec) {
  const auto moe = spec.moe_layers();
  const std::set<int> moe_set(moe.begin(), moe.end());
  for (const auto& [layer, lp] : plan.layers) {
    if (!moe_set.count(layer)) {
      return invalid("plan: layer " + std::to_string(layer) + " is not an MoE layer of the model");
    }
  }
  std::size_t keep_count = 0;
  for (int layer : moe) {
    const auto it = plan.layers.find(layer);
    if (it == plan.layers.end()) {
      return invalid("plan: MoE layer " + std::to_string(layer) +
                     " is missing (a checkpoint has one expert count for every layer)");
    }
    const auto& keep = it->second.keep;
    if (keep.empty()) return invalid("plan: layer " + std::to_string(layer) + " keeps no expert");
    std::set<int> unique(keep.begin(), keep.end());
    if (unique.size() != keep.size()) {
      return invalid("plan: layer " + std::to_string(layer) + " lists an expert twice");
    }
    if (*unique.begin() < 0 || *unique.rbegin() >= spec.num_experts) {
      return invalid("plan: layer " + std::to_string(layer) + " has an expert id outside [0, " +
                     std::to_string(spec.num_experts) + ")");
    }
    for (const auto& [dropped, survivor] : it->second.merge_into) {
      if (unique.count(dropped) || !unique.count(survivor) || dropped < 0 ||
          dropped >= spec.num_experts) {
        return invalid("plan: layer " + std::to_string(layer) + ": merge_into " +
                       std::to_string(dropped) + " -> " + std::to_string(survivor) +
                       " must map a dropped expert to a kept one");
      }
    }
    if (keep_count != 0 && keep.size() != keep_count) {
      return invalid("plan: every MoE layer must keep the same number of experts (layer " +
                     std::to_string(layer) + " keeps " + std::to_string(keep.size()) + ", others " +
                     std::to_string(keep_count) + ")");
    }
    keep_count = keep.size();
  }
  if (spec.n_group > 1 && keep_count % static_cast<std::size_t>(spec.n_group) != 0) {
    return invalid("plan: keeps " + std::to_string(keep_count) + " experts per layer, which n_group " +
                   std::to_string(spec.n_group) +
                   " does not divide (grouped routing splits experts into equal groups); choose "
                   "a multiple of " + std::to_string(spec.n_group));
  }
  if (spec.n_group > 1) {
    // The written config must still load (family_deepseek.cpp's checks, which mirror what
    // transformers' grouped routers need): noaux_tc ranks groups by their top-2 scores, and the
    // topk_group chosen groups must hold at least top-k experts.
    const int per_group = static_cast<int>(keep_count) / spec.n_group;
    if (spec.routing == RoutingKind::NoauxTc && per_group < 2) {
      return invalid("plan: keeps " + std::to_string(keep_count) + " experts per layer, " +
                     std::to_string(per_group) + " per group of n_group " +
                     std::to_string(spec.n_group) +
                     "; noaux_tc routing needs at least 2 experts per group");
    }
    if (spec.topk_group * per_group < spec.top_k) {
      return invalid("plan: keeps " + std::to_string(keep_count) + " experts per layer, " +
                     std::to_string(per_group) + " per group: the topk_group " +
                     std::to_string(spec.topk_group) +
                     " groups routing picks from hold fewer than top-k " +
                     std::to_string(spec.top_k));
    }
  }
  if (static_cast<int>(keep_count) < spec.top_k) {
    return invalid("plan: keeps " + std::to_string(keep_count) + " experts per layer, fewer than top-k " +
                   std::to_string(spec.top_k));
  }
  return hc::Ok{};
}

// Wanda on one matrix of `rows` outputs × `cols` inputs, element (r, c) at
// w[r * row_stride + c * col_stride]: in every output row, zero the floor(s*cols) entries with
// the lowest |w_rc| * sqrt(norm_c); ties broken towards the lower column. Returns the zeros.
std::uint64_t wanda(float* w, std::size_t rows, std::size_t cols, std::size_t row_stride,
                    std::size_t col_stride, const float* sqnorm, double s) {
  const auto k = static_cast<std::size_t>(std::floor(s * double(cols)));
  if (k == 0) return 0;
  std::vector<double> scale(cols);
  for (std::size_t j = 0; j < cols; ++j) scale[j] = std::sqrt(std::max(0.0f, sqnorm[j]));
  std::vector<std::size_t> order(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = w + r * row_stride;
    auto score = [&](std::size_t c) { return std::abs(double(row[c * col_stride])) * scale[c]; };
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return score(a) < score(b); });
    for (std::size_t i = 0; i < k; ++i) row[order[i] * col_stride] = 0.0f;
  }
  return rows * k;
}

// Wanda on expert `e`'s slice of a fused [E, ...] weight (`slice` points at it; `shape` is the
// full tensor's). Fused: gate_up [2I, H] and down [H, I] are [out, in]; FusedInterleaved
// (gpt-oss, x @ W): gate_up [H, 2I] and down [I, H] are [in, out].
std::uint64_t wanda_fused(float* slice, const std::vector<std::uint64_t>& shape, bool down,
                          ExpertLayout layout, const hc::LayerStats& ls, int e, double s) {
  const std::size_t a = shape[1], b = shape[2];
  const bool out_first = layout == ExpertLayout::Fused;
  const std::size_t rows = out_first ? a : b, cols = out_first ? b : a;
  const float* norm = down ? ls.inner_sqnorm.data() + std::size_t(e) * cols
                           : ls.input_sqnorm.data() + std::size_t(e) * cols;
  return out_first ? wanda(slice, rows, cols, cols, 1, norm, s)
                   : wanda(slice, rows, cols, 1, rows, norm, s);
}

const char* expert_count_key(const nlohmann::json& config, Family family) {
  switch (family) {
    case Family::DeepseekV2:
    case Family::DeepseekV3:
      return "n_routed_experts";
    case Family::Mixtral:
    case Family::GptOss:
      return "num_local_experts";
    default:
      return config.contains("num_experts") ? "num_experts" : "num_local_experts";
  }
}

}  // namespace

nlohmann::json keep_list_json(const hc::Plan& plan) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [layer, lp] : plan.layers) out[std::to_string(layer)] = lp.keep;
  return out;
}

hc::Result<ApplySummary> apply_plan(const ApplyOptions& options, const hc::Plan& plan,
                                    const hc::StatsFile* stats) {
  if (options.wanda < 0.0 || options.wanda >= 1.0) {
    return invalid("--wanda must lie in [0, 1)");
  }
  if (!(options.output_scale > 0.0 && options.output_scale <= 10.0)) {
    return invalid("the output scale must lie in (0, 10]");
  }
  auto checkpoint = open_checkpoint(options.model);
  if (!checkpoint.ok()) return checkpoint.error();
  auto spec_result = model_spec_for(*checkpoint);
  if (!spec_result.ok()) return spec_result.error();
  const MoeModelSpec& spec = *spec_result;
  HC_TRY_STATUS(validate_checkpoint(spec, *checkpoint));
  HC_TRY_STATUS(check_plan(plan, spec));
  const bool need_stats = options.mode == ApplyMode::Merge || options.wanda > 0.0;
  if (need_stats) {
    if (stats == nullptr) {
      return invalid("merge mode and --wanda need the statistics file the plan came from (--stats)");
    }
    for (int layer : spec.moe_layers()) {
      const hc::LayerStats* ls = stats->find_layer(layer);
      if (ls == nullptr || ls->experts != spec.num_experts) {
        return invalid("--stats: layer " + std::to_string(layer) +
                       " is missing or has another expert count than the model");
      }
      if (options.wanda > 0.0 && (ls->input_sqnorm.empty() || ls->inner_sqnorm.empty() ||
                                  ls->input_sqnorm_cols != std::size_t(spec.hidden_size) ||
                                  ls->inner_sqnorm_cols != std::size_t(spec.moe_intermediate_size))) {
        return invalid("--stats: layer " + std::to_string(layer) +
                       " has no Wanda square norms of the model's sizes");
      }
    }
  }

  // Map every routed-expert tensor name to its layer/expert/matrix.
  std::map<std::string, ExpertTensor> routed;
  for (int layer : spec.moe_layers()) {
    const LayerSpec& ls = spec.layers[static_cast<std::size_t>(layer)];
    for (int e = 0; e < static_cast<int>(ls.experts.size()); ++e) {
      const MlpNames& n = ls.experts[static_cast<std::size_t>(e)];
      for (auto [name, m] : {std::pair{n.gate, 'g'}, std::pair{n.up, 'u'}, std::pair{n.down, 'd'}}) {
        routed[name] = {layer, e, m, {}};
      }
    }
    for (const std::string* sliced : {&ls.router, &ls.router_bias, &ls.correction_bias,
                                      &ls.fused_gate_up, &ls.fused_down, &ls.fused_gate_up_bias,
                                      &ls.fused_down_bias}) {
      if (!sliced->empty()) routed[*sliced] = {layer, -1, 0, {}};
    }
  }

  ApplySummary summary;
  summary.layers = static_cast<int>(spec.moe_layers().size());
  summary.experts_before = spec.num_experts;
  summary.experts_after = static_cast<int>(plan.layers.begin()->second.keep.size());
  // Headers first; each tensor's values are computed when the writer reaches it, so only one
  // tensor (and the experts merged into it) is held in memory at a time.
  std::vector<TensorHeader> headers;
  std::vector<std::function<hc::Result<std::vector<float>>()>> makers;
  const Checkpoint& ck = *checkpoint;
  for (const std::string& name : ck.tensor_names()) {
    const CheckpointTensor info = *ck.info(name);
    std::uint64_t count = 1;
    for (auto d : info.shape) count *= d;
    summary.parameters_before += count;
    const bool scale = name.size() > 10 && name.compare(name.size() - 10, 10, "_scale_inv") == 0;
    if (info.dtype == hc::Dtype::F8_E4M3 || scale) {
      return invalid(options.model.string() + ": " + name +
                     ": apply cannot write F8 block-scaled checkpoints yet (decode to BF16 first)");
    }
    const auto it = routed.find(name);
    if (it == routed.end()) {  // untouched: decoded and re-encoded in its own dtype (lossless)
      headers.push_back({name, info.dtype, info.shape});
      makers.push_back([&ck, name]() { return ck.read_f32(name); });
      summary.parameters_after += count;
      continue;
    }
    const ExpertTensor where = it->second;
    const hc::LayerPlan& lp = plan.layers.at(where.layer);
    const hc::LayerStats* ls = stats ? stats->find_layer(where.layer) : nullptr;
    const LayerSpec& layer_spec = spec.layers[std::size_t(where.layer)];
    auto weight_of = [ls](int e) {  // frequency-weighted merge: survivor and what merges into it
      return ls ? double(ls->frequency[static_cast<std::size_t>(e)]) : 1.0;
    };
    if (where.expert < 0) {
      // [E, ...] tensor: keep rows in plan order (merged rows for fused weights in merge mode).
      const bool weight = name == layer_spec.fused_gate_up || name == layer_spec.fused_down;
      const bool mergeable = options.mode == ApplyMode::Merge &&
                             (weight || name == layer_spec.fused_gate_up_bias ||
                              name == layer_spec.fused_down_bias);
      auto shape = info.shape;
      shape[0] = lp.keep.size();
      headers.push_back({name, info.dtype, shape});
      summary.parameters_after += count / info.shape[0] * lp.keep.size();
      makers.push_back([&, &lp = lp, name, info, weight, mergeable, ls, weight_of,
                        down = name == layer_spec.fused_down,
                        down_or_bias = name == layer_spec.fused_down ||
                                       name == layer_spec.fused_down_bias]() -> hc::Result<std::vector<float>> {
        auto values = ck.read_f32(name);
        if (!values.ok()) return values.error();
        const std::size_t row = values->size() / info.shape[0];
        std::vector<float> kept;
        kept.reserve(row * lp.keep.size());
        for (int e : lp.keep) {
          std::vector<int> members = {e};
          if (mergeable) {
            for (const auto& [d, s] : lp.merge_into) if (s == e) members.push_back(d);
          }
          double total = 0;
          for (int m : members) total += weight_of(m);
          std::vector<double> acc(row, 0.0);
          for (int m : members) {
            const double pi = total > 0 ? weight_of(m) / total : 1.0 / double(members.size());
            for (std::size_t j = 0; j < row; ++j) acc[j] += pi * (*values)[std::size_t(m) * row + j];
          }
          if (down_or_bias) {
            for (double& x : acc) x *= options.output_scale;
          }
          const std::size_t at = kept.size();
          kept.insert(kept.end(), acc.begin(), acc.end());
          if (options.wanda > 0.0 && weight) {
            summary.wanda_zeros +=
                wanda_fused(kept.data() + at, info.shape, down, spec.layout, *ls, e, options.wanda);
          }
        }
        return kept;
      });
      continue;
    }
    const auto pos = std::find(lp.keep.begin(), lp.keep.end(), where.expert);
    if (pos == lp.keep.end()) continue;  // dropped (merged ones are folded into their survivor)
    const int new_index = static_cast<int>(pos - lp.keep.begin());
    const MlpNames& target = layer_spec.experts[std::size_t(new_index)];
    const std::string& new_name =
        where.matrix == 'g' ? target.gate : where.matrix == 'u' ? target.up : target.down;
    headers.push_back({new_name, info.dtype, info.shape});
    summary.parameters_after += count;
    makers.push_back([&, &lp = lp, &layer_spec = layer_spec, info, where, count, ls, weight_of]() -> hc::Result<std::vector<float>> {
      std::vector<int> members = {where.expert};
      if (options.mode == ApplyMode::Merge) {
        for (const auto& [d, s] : lp.merge_into) if (s == where.expert) members.push_back(d);
      }
      double total = 0;
      for (int m : members) total += weight_of(m);
      std::vector<double> acc(count, 0.0);
      for (int m : members) {
        const MlpNames& n = layer_spec.experts[std::size_t(m)];
        const std::string& member_name =
            where.matrix == 'g' ? n.gate : where.matrix == 'u' ? n.up : n.down;
        auto values = ck.read_f32(member_name);
        if (!values.ok()) return values.error();
        const double pi = total > 0 ? weight_of(m) / total : 1.0 / double(members.size());
        for (std::size_t j = 0; j < count; ++j) acc[j] += pi * (*values)[j];
      }
      if (where.matrix == 'd') {
        for (double& x : acc) x *= options.output_scale;
      }
      std::vector<float> merged(acc.begin(), acc.end());
      if (options.wanda > 0.0) {
        const std::size_t rows = info.shape[0], cols = info.shape[1];
        const float* norm = where.matrix == 'd'
                                ? ls->inner_sqnorm.data() + std::size_t(where.expert) * cols
                                : ls->input_sqnorm.data() + std::size_t(where.expert) * cols;
        summary.wanda_zeros += wanda(merged.data(), rows, cols, cols, 1, norm, options.wanda);
      }
      return merged;
    });
  }

  nlohmann::json config = checkpoint->config();
  config[expert_count_key(config, spec.family)] = summary.experts_after;

  // Stage in a temporary directory beside the output, then rename it into place.
  std::error_code ec;
  if (fs::exists(options.out, ec)) {
    return hc::make_error(hc::ErrorCode::WriteFailed,
                          options.out.string() + ": already exists; choose a new output directory");
  }
  fs::path target = options.out;
  if (target.filename().empty()) target = target.parent_path();
  const fs::path staging = target.string() + ".staging." + std::to_string(::getpid());
  remove_tree(staging, ec);
  CheckpointWriteOptions write_options;
  write_options.shard_bytes = options.shard_bytes;
  if (auto e = write_checkpoint_streamed(
          staging, config, headers, [&](std::size_t i) { return makers[i](); }, write_options)) {
    return *e;
  }
  auto fail = [&](const std::string& message) {
    remove_tree(staging, ec);
    return hc::make_error(hc::ErrorCode::WriteFailed, message);
  };
  // Tokenizer and every other non-weight file, copied as they are.
  for (const auto& entry : fs::directory_iterator(options.model, ec)) {
    const std::string file = entry.path().filename().string();
    if (!entry.is_regular_file() || file == "config.json" ||
        file == "model.safetensors.index.json" ||
        (file.size() > 12 && file.compare(file.size() - 12, 12, ".safetensors") == 0)) {
      continue;
    }
    fs::copy_file(entry.path(), staging / file, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail((staging / file).string() + ": cannot copy: " + ec.message());
  }
  if (auto e = write_text_atomic(staging / "hodgecover_plan.json", hc::plan_to_json(plan).dump(2))) {
    return fail(e->message);
  }
  if (auto e = write_text_atomic(staging / "hodgecover_keep.json", keep_list_json(plan).dump(2))) {
    return fail(e->message);
  }
  fs::rename(staging, target, ec);
  if (ec) return fail(target.string() + ": cannot rename into place: " + ec.message());
  return summary;
}

}  // namespace hc::native
