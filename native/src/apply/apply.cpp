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

#include "hc/merge.hpp"
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
    return invalid("plan: keeps " + std::to_string(keep_count) +
                   " experts per layer, which n_group " + std::to_string(spec.n_group) +
                   " does not divide (grouped routing splits experts into equal groups); choose "
                   "a multiple of " +
                   std::to_string(spec.n_group));
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
    return invalid("plan: keeps " + std::to_string(keep_count) +
                   " experts per layer, fewer than top-k " + std::to_string(spec.top_k));
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

hc::Status check_options(const ApplyOptions& options) {
  if (options.wanda < 0.0 || options.wanda >= 1.0) {
    return invalid("the Wanda sparsity must lie in [0, 1)");
  }
  if (!(options.output_scale > 0.0 && options.output_scale <= 10.0)) {
    return invalid("the output scale must lie in (0, 10]");
  }
  return hc::Ok{};
}

// Merging and Wanda read the statistics file the plan came from; it must match the model.
hc::Status check_stats(const ApplyOptions& options, const MoeModelSpec& spec,
                       const hc::StatsFile* stats) {
  if (options.mode != ApplyMode::Merge && options.wanda <= 0.0) return hc::Ok{};
  if (stats == nullptr) {
    return invalid("merge mode and Wanda need the statistics file the plan came from");
  }
  for (int layer : spec.moe_layers()) {
    const hc::LayerStats* ls = stats->find_layer(layer);
    if (ls == nullptr || ls->experts != spec.num_experts) {
      return invalid("statistics: layer " + std::to_string(layer) +
                     " is missing or has another expert count than the model");
    }
    if (options.wanda > 0.0 && (ls->input_sqnorm.empty() || ls->inner_sqnorm.empty() ||
                                ls->input_sqnorm_cols != std::size_t(spec.hidden_size) ||
                                ls->inner_sqnorm_cols != std::size_t(spec.moe_intermediate_size))) {
      return invalid("statistics: layer " + std::to_string(layer) +
                     " has no Wanda square norms of the model's sizes");
    }
  }
  return hc::Ok{};
}

// Every routed-expert tensor name with its layer/expert/matrix.
std::map<std::string, ExpertTensor> routed_tensors(const MoeModelSpec& spec) {
  std::map<std::string, ExpertTensor> routed;
  for (int layer : spec.moe_layers()) {
    const LayerSpec& ls = spec.layers[static_cast<std::size_t>(layer)];
    for (int e = 0; e < static_cast<int>(ls.experts.size()); ++e) {
      const MlpNames& n = ls.experts[static_cast<std::size_t>(e)];
      for (auto [name, m] :
           {std::pair{n.gate, 'g'}, std::pair{n.up, 'u'}, std::pair{n.down, 'd'}}) {
        routed[name] = {layer, e, m, {}};
      }
    }
    for (const std::string* sliced :
         {&ls.router, &ls.router_bias, &ls.correction_bias, &ls.fused_gate_up, &ls.fused_down,
          &ls.fused_gate_up_bias, &ls.fused_down_bias}) {
      if (!sliced->empty()) routed[*sliced] = {layer, -1, 0, {}};
    }
  }
  return routed;
}

std::uint64_t count_of(const CheckpointTensor& info) {
  std::uint64_t count = 1;
  for (auto d : info.shape) count *= d;
  return count;
}

using TensorMaker = std::function<hc::Result<std::vector<float>>()>;

// What the writer needs: every output tensor's header, and how to compute its values when the
// writer reaches it (so only one tensor, and the experts merged into it, is in memory).
struct OutputTensors {
  std::vector<TensorHeader> headers;
  std::vector<TensorMaker> makers;
};

// Everything the tensor makers read; they run later, during the write.
struct ApplyContext {
  const ApplyOptions& options;
  const hc::Plan& plan;
  const hc::StatsFile* stats;
  const GateFactors& gate;
  const Checkpoint& checkpoint;
  const MoeModelSpec& spec;
  ApplySummary& summary;
};

// The members of kept expert `survivor` and their merge coefficients (hc/merge.hpp): the
// survivor alone unless merging.
std::pair<std::vector<int>, std::vector<double>> members_of(const hc::LayerPlan& lp,
                                                            const hc::LayerStats* ls, int survivor,
                                                            bool merge) {
  std::vector<int> members = merge ? hc::merge_group(lp, survivor) : std::vector<int>{survivor};
  std::vector<double> frequencies;
  for (int m : members) {
    frequencies.push_back(ls ? double(ls->frequency[static_cast<std::size_t>(m)]) : 1.0);
  }
  return {members, hc::merge_coefficients(frequencies)};
}

// A [E, ...] tensor (router rows, fused expert weights and biases): the kept rows in plan order;
// in merge mode fused weights and biases are the merged ones; Wanda prunes fused weights.
void add_sliced_tensor(const ApplyContext& c, const std::string& name, const CheckpointTensor& info,
                       const ExpertTensor& where, OutputTensors& out) {
  const hc::LayerPlan& lp = c.plan.layers.at(where.layer);
  const hc::LayerStats* ls = c.stats ? c.stats->find_layer(where.layer) : nullptr;
  const LayerSpec& layer_spec = c.spec.layers[std::size_t(where.layer)];
  const bool weight = name == layer_spec.fused_gate_up || name == layer_spec.fused_down;
  const bool mergeable =
      c.options.mode == ApplyMode::Merge &&
      (weight || name == layer_spec.fused_gate_up_bias || name == layer_spec.fused_down_bias);
  const bool down = name == layer_spec.fused_down;
  const bool scaled = down || name == layer_spec.fused_down_bias;
  const std::uint64_t count = count_of(info);
  auto shape = info.shape;
  shape[0] = lp.keep.size();
  out.headers.push_back({name, info.dtype, shape});
  c.summary.parameters_after += count / info.shape[0] * lp.keep.size();
  out.makers.push_back([c, &lp, ls, name, info, weight, mergeable, down, scaled,
                        layer = where.layer]() -> hc::Result<std::vector<float>> {
    auto values = c.checkpoint.read_f32(name);
    if (!values.ok()) return values.error();
    const std::size_t row = values->size() / info.shape[0];
    std::vector<float> kept;
    kept.reserve(row * lp.keep.size());
    for (int e : lp.keep) {
      const auto [members, pi] = members_of(lp, ls, e, mergeable);
      std::vector<std::span<const float>> rows;
      for (int m : members) rows.emplace_back(values->data() + std::size_t(m) * row, row);
      std::vector<double> merged = hc::merge_rows(rows, pi);
      if (scaled) {
        const double factor = c.options.output_scale * c.gate.factor(layer, e);
        for (double& x : merged) x *= factor;
      }
      const std::size_t at = kept.size();
      kept.insert(kept.end(), merged.begin(), merged.end());
      if (c.options.wanda > 0.0 && weight) {
        c.summary.wanda_zeros +=
            wanda_fused(kept.data() + at, info.shape, down, c.spec.layout, *ls, e, c.options.wanda);
      }
    }
    return kept;
  });
}

// One matrix of a kept per-expert MLP, renamed to its new index; merged and pruned as asked.
void add_expert_tensor(const ApplyContext& c, const CheckpointTensor& info,
                       const ExpertTensor& where, OutputTensors& out) {
  const hc::LayerPlan& lp = c.plan.layers.at(where.layer);
  const auto pos = std::find(lp.keep.begin(), lp.keep.end(), where.expert);
  if (pos == lp.keep.end()) return;  // dropped (merged ones are folded into their survivor)
  const hc::LayerStats* ls = c.stats ? c.stats->find_layer(where.layer) : nullptr;
  const LayerSpec& layer_spec = c.spec.layers[std::size_t(where.layer)];
  auto matrix_of = [&layer_spec, matrix = where.matrix](int expert) -> const std::string& {
    const MlpNames& n = layer_spec.experts[std::size_t(expert)];
    return matrix == 'g' ? n.gate : matrix == 'u' ? n.up : n.down;
  };
  const std::uint64_t count = count_of(info);
  out.headers.push_back(
      {matrix_of(static_cast<int>(pos - lp.keep.begin())), info.dtype, info.shape});
  c.summary.parameters_after += count;
  out.makers.push_back([c, &lp, ls, info, where, matrix_of]() -> hc::Result<std::vector<float>> {
    const auto [members, pi] = members_of(lp, ls, where.expert, c.options.mode == ApplyMode::Merge);
    // One member in memory at a time, accumulated into the merged weights.
    std::vector<double> acc(count_of(info), 0.0);
    for (std::size_t k = 0; k < members.size(); ++k) {
      auto read = c.checkpoint.read_f32(matrix_of(members[k]));
      if (!read.ok()) return read.error();
      hc::merge_accumulate(acc, *read, pi[k]);
    }
    if (where.matrix == 'd') {
      const double factor = c.options.output_scale * c.gate.factor(where.layer, where.expert);
      for (double& x : acc) x *= factor;
    }
    std::vector<float> merged(acc.begin(), acc.end());
    if (c.options.wanda > 0.0) {
      const std::size_t out_rows = info.shape[0], cols = info.shape[1];
      const float* norm = where.matrix == 'd'
                              ? ls->inner_sqnorm.data() + std::size_t(where.expert) * cols
                              : ls->input_sqnorm.data() + std::size_t(where.expert) * cols;
      c.summary.wanda_zeros += wanda(merged.data(), out_rows, cols, cols, 1, norm, c.options.wanda);
    }
    return merged;
  });
}

// Headers and makers of every output tensor; untouched tensors are re-encoded in their own
// dtype (lossless).
hc::Result<OutputTensors> plan_output(const ApplyContext& c) {
  const std::map<std::string, ExpertTensor> routed = routed_tensors(c.spec);
  OutputTensors out;
  for (const std::string& name : c.checkpoint.tensor_names()) {
    const CheckpointTensor info = *c.checkpoint.info(name);
    const std::uint64_t count = count_of(info);
    c.summary.parameters_before += count;
    const bool scale = name.size() > 10 && name.compare(name.size() - 10, 10, "_scale_inv") == 0;
    if (info.dtype == hc::Dtype::F8_E4M3 || scale) {
      return invalid(c.options.model.string() + ": " + name +
                     ": apply cannot write F8 block-scaled checkpoints yet (decode to BF16 first)");
    }
    const auto it = routed.find(name);
    if (it == routed.end()) {
      out.headers.push_back({name, info.dtype, info.shape});
      out.makers.push_back([&ck = c.checkpoint, name]() { return ck.read_f32(name); });
      c.summary.parameters_after += count;
    } else if (it->second.expert < 0) {
      add_sliced_tensor(c, name, info, it->second, out);
    } else {
      add_expert_tensor(c, info, it->second, out);
    }
  }
  return out;
}

// Writes the checkpoint into a staging directory beside the output, adds the tokenizer and
// other files, the plan and the keep list, then renames it into place. Nothing is left behind
// on failure.
hc::Status write_output(const ApplyOptions& options, const hc::Plan& plan,
                        const nlohmann::json& config, const OutputTensors& tensors,
                        const GateFactors& gate) {
  std::error_code ec;
  fs::path target = options.out;
  if (target.filename().empty()) target = target.parent_path();
  const fs::path staging = target.string() + ".staging." + std::to_string(::getpid());
  remove_dead_temporaries(target);
  remove_tree(staging, ec);
  CheckpointWriteOptions write_options;
  write_options.shard_bytes = options.shard_bytes;
  HC_TRY_STATUS(write_checkpoint_streamed(
      staging, config, tensors.headers, [&](std::size_t i) { return tensors.makers[i](); },
      write_options));
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
  if (hc::Status e =
          write_text_atomic(staging / "hodgecover_plan.json", hc::plan_to_json(plan).dump(2));
      !e.ok()) {
    return fail(e.error().message);
  }
  if (hc::Status e =
          write_text_atomic(staging / "hodgecover_keep.json", keep_list_json(plan).dump(2));
      !e.ok()) {
    return fail(e.error().message);
  }
  if (hc::Status e = write_text_atomic(staging / "hodgecover_gate_correction.json",
                                       gate_factors_json(gate, plan).dump(2));
      !e.ok()) {
    return fail(e.error().message);
  }
  fs::rename(staging, target, ec);
  if (ec) return fail(target.string() + ": cannot rename into place: " + ec.message());
  return hc::Ok{};
}

}  // namespace

nlohmann::json keep_list_json(const hc::Plan& plan) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [layer, lp] : plan.layers) out[std::to_string(layer)] = lp.keep;
  return out;
}

hc::Result<ApplySummary> apply_plan(const ApplyOptions& options, const hc::Plan& plan,
                                    const hc::StatsFile* stats) {
  HC_TRY_STATUS(check_options(options));
  auto checkpoint = open_checkpoint(options.model);
  if (!checkpoint.ok()) return checkpoint.error();
  auto spec_result = model_spec_for(*checkpoint);
  if (!spec_result.ok()) return spec_result.error();
  const MoeModelSpec& spec = *spec_result;
  HC_TRY_STATUS(validate_checkpoint(spec, *checkpoint));
  HC_TRY_STATUS(check_plan(plan, spec));
  HC_TRY_STATUS(check_stats(options, spec, stats));
  std::error_code ec;
  if (fs::exists(options.out, ec)) {
    return hc::make_error(hc::ErrorCode::WriteFailed,
                          options.out.string() + ": already exists; choose a new output directory");
  }

  ApplySummary summary;
  summary.layers = static_cast<int>(spec.moe_layers().size());
  summary.experts_before = spec.num_experts;
  summary.experts_after = static_cast<int>(plan.layers.begin()->second.keep.size());
  auto gate = gate_correction_factors(options.gate_correction, spec, *checkpoint, plan,
                                      options.mode == ApplyMode::Merge, stats, options.wanda);
  if (!gate.ok()) return gate.error();
  summary.gate = std::move(gate).value();
  const ApplyContext context{options, plan, stats, summary.gate, *checkpoint, spec, summary};
  auto tensors = plan_output(context);
  if (!tensors.ok()) return tensors.error();
  nlohmann::json config = checkpoint->config();
  config[expert_count_key(config, spec.family)] = summary.experts_after;
  HC_TRY_STATUS(write_output(options, plan, config, *tensors, summary.gate));
  return summary;
}

}  // namespace hc::native
