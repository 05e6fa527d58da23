// `hodgecover info FILE [--json]`: what a statistics file holds, without decomposing it; a
// checkpoint directory is summarised by checkpoint_info.cpp.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "checkpoint_info.hpp"
#include "cli_common.hpp"
#include "commands.hpp"

namespace hc::native {
namespace {

struct InfoArgs {
  std::string file;
  bool json = false;
};

struct Range {
  std::size_t min = 0, max = 0;
};

template <typename Count>
Range range_over(const std::vector<hc::LayerStats>& layers, Count count) {
  Range r;
  bool first = true;
  for (const auto& layer : layers) {
    const std::size_t n = count(layer);
    r.min = first ? n : std::min(r.min, n);
    r.max = first ? n : std::max(r.max, n);
    first = false;
  }
  return r;
}

std::string range_text(Range r) {
  return r.min == r.max ? std::to_string(r.min) : strprintf("%zu..%zu", r.min, r.max);
}

// "0-3,8,10-11": layer lists of large models stay on one line.
std::string compact_list(const std::vector<int>& values) {
  std::string text;
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (!text.empty()) text += ',';
    text += std::to_string(values[i]);
    if (j > i) text += '-' + std::to_string(values[j]);
    i = j + 1;
  }
  return text;
}

std::string byte_text(std::uint64_t bytes) {
  if (bytes < 1024) return strprintf("%llu bytes", static_cast<unsigned long long>(bytes));
  if (bytes < 1024 * 1024) return strprintf("%.1f KiB", bytes / 1024.0);
  return strprintf("%.1f MiB", bytes / (1024.0 * 1024.0));
}

std::string meta(const hc::StatsFile& stats, const std::string& key) {
  auto it = stats.metadata.find(key);
  return it == stats.metadata.end() ? std::string() : it->second;
}

std::size_t layers_with(const hc::StatsFile& stats, bool inner) {
  return static_cast<std::size_t>(
      std::count_if(stats.layers.begin(), stats.layers.end(), [&](const hc::LayerStats& l) {
        return inner ? !l.inner_sqnorm.empty() : !l.input_sqnorm.empty();
      }));
}

std::string wanda_text(const hc::StatsFile& stats) {
  const std::size_t n = stats.layers.size();
  const std::size_t input = layers_with(stats, false), inner = layers_with(stats, true);
  if (input == 0 && inner == 0) return "absent (Wanda pruning unavailable)";
  if (input == n && inner == n) return "present in every layer";
  return strprintf("partial: input norms in %zu, inner norms in %zu of %zu layers", input, inner,
                   n);
}

// Layers carrying the format 1.1 tensors: mean router scores, router sample, leave-one-out.
struct GateTensors {
  std::size_t router_prob = 0, router_sample = 0, loo = 0;
};
GateTensors gate_tensors(const hc::StatsFile& stats) {
  GateTensors g;
  for (const hc::LayerStats& l : stats.layers) {
    g.router_prob += !l.router_prob.empty();
    g.router_sample += l.router_sample_rows > 0;
    g.loo += !l.loo.empty();
  }
  return g;
}

int run_info(const InfoArgs& args) {
  if (std::filesystem::is_directory(args.file)) return run_checkpoint_info(args.file, args.json);
  const LoadedStats loaded = load_stats(args.file);
  const hc::StatsFile& stats = loaded.stats;

  std::vector<int> layer_ids;
  for (const auto& layer : stats.layers) layer_ids.push_back(layer.layer);
  const Range edges = range_over(stats.layers, [](const auto& l) { return l.edges.size(); });
  const Range triangles =
      range_over(stats.layers, [](const auto& l) { return l.triangles.size(); });
  std::string version = meta(stats, "format_version");
  if (version.empty()) version = strprintf("%d.%d", stats.version_major, stats.version_minor);
  const std::string checksum = meta(stats, "checksum");
  // read_stats verifies a present checksum, so reaching here means it matched.
  const std::string checksum_text = checksum.empty() ? "none" : "verified (" + checksum + ")";

  if (args.json) {
    nlohmann::json j;
    j["file"] = loaded.path;
    j["bytes"] = loaded.file_bytes;
    j["format"] = meta(stats, "format");
    j["format_version"] = version;
    j["model"] = stats.model;
    j["family"] = stats.family;
    j["barrier"] = stats.barrier;
    j["tokens"] = stats.tokens;
    j["calibration"] = meta(stats, "calibration");
    j["layers"] = layer_ids;
    j["experts"] = stats.num_experts;
    j["top_k"] = stats.top_k;
    j["hidden_size"] = stats.hidden_size;
    j["moe_intermediate_size"] = stats.moe_intermediate_size;
    j["edges_per_layer"] = {{"min", edges.min}, {"max", edges.max}};
    j["triangles_per_layer"] = {{"min", triangles.min}, {"max", triangles.max}};
    const std::size_t n = stats.layers.size();
    j["wanda_norms"] = {{"input", layers_with(stats, false) == n && n > 0},
                        {"inner", layers_with(stats, true) == n && n > 0}};
    const GateTensors g = gate_tensors(stats);
    j["router_prob"] = g.router_prob == n && n > 0;
    j["router_sample"] = g.router_sample == n && n > 0;
    j["leave_one_out"] = g.loo == n && n > 0;
    j["checksum"] = {
        {"present", !checksum.empty()}, {"verified", !checksum.empty()}, {"value", checksum}};
    j["metadata"] = stats.metadata;
    print_json(j);
    return kExitOk;
  }

  auto row = [](const char* key, const std::string& value) {
    std::cout << strprintf("%-16s %s\n", key, value.empty() ? "-" : value.c_str());
  };
  row("file", loaded.path + " (" + byte_text(loaded.file_bytes) + ")");
  row("format", meta(stats, "format") + " " + version);
  row("model", stats.model);
  row("family", stats.family);
  row("barrier", stats.barrier);
  row("tokens", std::to_string(stats.tokens));
  row("calibration", meta(stats, "calibration"));
  row("producer", meta(stats, "producer"));
  row("created", meta(stats, "created"));
  row("layers", strprintf("%zu (%s)", layer_ids.size(), compact_list(layer_ids).c_str()));
  row("experts", strprintf("%d per layer, top-k %d", stats.num_experts, stats.top_k));
  row("hidden / inner", strprintf("%d / %d", stats.hidden_size, stats.moe_intermediate_size));
  row("edges/layer", range_text(edges));
  row("triangles/layer", range_text(triangles) + " candidates");
  row("wanda norms", wanda_text(stats));
  const GateTensors g = gate_tensors(stats);
  row("gate / loo",
      g.router_sample == 0 && g.router_prob == 0 && g.loo == 0
          ? std::string("absent (no gate correction from this file; loo unavailable)")
          : strprintf("router scores in %zu, router sample in %zu, leave-one-out in %zu of %zu "
                      "layers",
                      g.router_prob, g.router_sample, g.loo, stats.layers.size()));
  row("checksum", checksum_text);
  return kExitOk;
}

}  // namespace

Command add_info_command(CLI::App& root) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = root.add_subcommand(
      "info", "Summarise a statistics file (.hcstats) or a checkpoint directory");
  cmd->add_option("FILE", args->file, "Statistics file or checkpoint directory")->required();
  cmd->add_flag("--json", args->json, "Print the summary as JSON");
  cmd->footer(
      "Examples:\n"
      "  hodgecover info model.hcstats\n"
      "  hodgecover info model.hcstats --json\n"
      "  hodgecover info path/to/Qwen3-30B-A3B   (checkpoint directory)");
  return Command{cmd, [args] { return run_info(*args); }};
}

}  // namespace hc::native
