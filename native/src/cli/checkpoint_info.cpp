// Checkpoint summary for `hodgecover info DIR`: open, detect the family, validate every
// required tensor, then report sizes, dtypes, parameter counts and shards.
#include "checkpoint_info.hpp"

#include <iostream>
#include <map>

#include "cli_common.hpp"
#include "hc/native/checkpoint.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native {
namespace {

std::string layer_list(const std::vector<int>& values) {
  std::string text;
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    text += (text.empty() ? "" : ",") + std::to_string(values[i]);
    if (j > i) text += '-' + std::to_string(values[j]);
    i = j + 1;
  }
  return text;
}

std::uint64_t elements(const std::vector<std::uint64_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

int run_checkpoint_info(const std::string& dir, bool json) {
  const Checkpoint ckpt = take(open_checkpoint(dir));
  const MoeModelSpec spec = take(model_spec_for(ckpt));
  if (auto valid = validate_checkpoint(spec, ckpt); !valid.ok()) fail(valid.error());

  std::map<std::string, std::size_t> dtypes;
  std::uint64_t total = 0, expert_params = 0;
  for (const auto& name : ckpt.tensor_names()) {
    const auto t = ckpt.info(name);
    ++dtypes[hc::dtype_name(t->dtype)];
    if (ends_with(name, "_scale_inv")) continue;  // quantisation scales are not parameters
    total += elements(t->shape);
  }
  for (const auto& layer : spec.layers) {
    for (const auto& e : layer.experts) {
      for (const auto* n : {&e.gate, &e.up, &e.down})
        expert_params += elements(ckpt.info(*n)->shape);
    }
    for (const auto* n : {&layer.fused_gate_up, &layer.fused_down, &layer.fused_gate_up_bias,
                          &layer.fused_down_bias}) {
      if (!n->empty()) expert_params += elements(ckpt.info(*n)->shape);
    }
  }
  std::uint64_t shard_bytes = 0;
  nlohmann::json shard_list = nlohmann::json::array();
  for (const auto& [name, bytes] : ckpt.shards()) {
    shard_bytes += bytes;
    shard_list.push_back({{"file", name}, {"bytes", bytes}});
  }
  const std::vector<int> moe = spec.moe_layers();
  const char* layout = spec.layout == ExpertLayout::Fused              ? "fused"
                       : spec.layout == ExpertLayout::FusedInterleaved ? "fused-interleaved"
                                                                       : "per-expert";
  const bool mla = spec.attention == AttentionKind::Mla;
  std::vector<int> sliding;
  for (const auto& layer : spec.layers) {
    if (layer.sliding) sliding.push_back(layer.index);
  }

  if (json) {
    nlohmann::json j;
    j["dir"] = dir;
    j["family"] = family_model_type(spec.family);
    j["layers"] = spec.num_layers;
    j["moe_layers"] = moe;
    j["experts"] = spec.num_experts;
    j["top_k"] = spec.top_k;
    j["norm_topk_prob"] = spec.norm_topk_prob;
    j["hidden_size"] = spec.hidden_size;
    j["moe_intermediate_size"] = spec.moe_intermediate_size;
    j["intermediate_size"] = spec.intermediate_size;
    j["attention_heads"] = spec.num_heads;
    j["kv_heads"] = spec.num_kv_heads;
    j["head_dim"] = spec.head_dim;
    j["vocab_size"] = spec.vocab_size;
    j["shared_expert_intermediate_size"] = spec.shared_expert_intermediate_size;
    j["expert_layout"] = layout;
    j["routing"] = routing_kind_name(spec.routing);
    j["routed_scaling_factor"] = spec.routed_scaling_factor;
    j["n_group"] = spec.n_group;
    j["topk_group"] = spec.topk_group;
    j["n_shared_experts"] = spec.n_shared_experts;
    j["attention"] = mla ? "mla" : "standard";
    if (mla) {
      j["mla"] = {{"q_lora_rank", spec.q_lora_rank},
                  {"kv_lora_rank", spec.kv_lora_rank},
                  {"qk_nope_head_dim", spec.qk_nope_head_dim},
                  {"qk_rope_head_dim", spec.qk_rope_head_dim},
                  {"v_head_dim", spec.v_head_dim}};
    }
    j["attention_sinks"] = spec.attention_sinks;
    j["sliding_window"] = spec.sliding_window;
    j["sliding_layers"] = sliding;
    j["dtypes"] = dtypes;
    j["parameters"] = {{"total", total}, {"experts", expert_params}};
    j["shards"] = shard_list;
    j["indexed"] = ckpt.indexed();
    print_json(j);
    return kExitOk;
  }
  auto row = [](const char* key, const std::string& value) {
    std::cout << strprintf("%-16s %s\n", key, value.c_str());
  };
  std::string dtype_text;
  for (const auto& [name, count] : dtypes) {
    dtype_text += (dtype_text.empty() ? "" : ", ") + name + " (" + std::to_string(count) + ")";
  }
  row("checkpoint", dir);
  row("family", family_model_type(spec.family));
  row("layers",
      strprintf("%d, MoE: %zu (%s)", spec.num_layers, moe.size(), layer_list(moe).c_str()));
  row("experts", strprintf("%d per layer, top-k %d%s, %s", spec.num_experts, spec.top_k,
                           spec.norm_topk_prob ? " (renormalised)" : "", layout));
  std::string routing = routing_kind_name(spec.routing);
  if (spec.n_group > 1) {
    routing += strprintf(", %d of %d groups", spec.topk_group, spec.n_group);
  }
  if (spec.routed_scaling_factor != 1.0) {
    routing += strprintf(", scale %g", spec.routed_scaling_factor);
  }
  row("routing", routing);
  if (spec.shared_expert_intermediate_size > 0) {
    row("shared expert", strprintf("inner %d%s", spec.shared_expert_intermediate_size,
                                   spec.shared_expert_gate ? ", sigmoid gate" : ""));
  }
  row("hidden / inner", strprintf("%d / %d (dense %d)", spec.hidden_size,
                                  spec.moe_intermediate_size, spec.intermediate_size));
  if (mla) {
    row("attention", strprintf("MLA, %d heads, q rank %d, kv rank %d, qk %d+%d (rope), v %d",
                               spec.num_heads, spec.q_lora_rank, spec.kv_lora_rank,
                               spec.qk_nope_head_dim, spec.qk_rope_head_dim, spec.v_head_dim));
  } else {
    row("attention",
        strprintf("%d heads, %d kv heads, head dim %d%s", spec.num_heads, spec.num_kv_heads,
                  spec.head_dim, spec.attention_sinks ? ", sinks" : ""));
  }
  if (!sliding.empty()) {
    row("sliding window",
        strprintf("%d tokens on layers %s", spec.sliding_window, layer_list(sliding).c_str()));
  }
  row("vocab", std::to_string(spec.vocab_size));
  row("dtypes", dtype_text);
  row("parameters",
      strprintf("%llu total, %llu in routed experts", static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(expert_params)));
  row("shards",
      strprintf("%zu%s, %llu bytes", shard_list.size(), ckpt.indexed() ? " (indexed)" : "",
                static_cast<unsigned long long>(shard_bytes)));
  return kExitOk;
}

}  // namespace hc::native
