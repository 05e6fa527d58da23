// `hodgecover synth ...`: writes a synthetic statistics file with planted structure (clusters
// of mergeable experts, irreducible triples) for tests, samples and trying the tool.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/synth.hpp"

namespace hc::native {
namespace {

struct SynthArgs {
  hc::SynthOptions options;
  std::string out;
};

int run_synth(const SynthArgs& args) {
  hc::SynthResult result = take(hc::synthesize(args.options));
  hc::StatsFile& stats = result.stats;
  // No `created` time: the same options give byte-identical files, which samples and tests
  // rely on.
  if (!stats.metadata.count("producer")) {
    stats.metadata["producer"] = std::string("hodgecover ") + kVersion + " synth";
  }
  const std::vector<std::uint8_t> bytes = take(hc::write_stats(stats));
  write_output(args.out, bytes);

  std::size_t edges = 0, triangles = 0;
  for (const auto& layer : stats.layers) {
    edges = std::max(edges, layer.edges.size());
    triangles = std::max(triangles, layer.triangles.size());
  }
  std::cout << strprintf(
      "wrote %s: %zu layers x %d experts, %zu edges and up to %zu candidate triangles per "
      "layer, %zu planted triples, seed %llu, %zu bytes\n",
      args.out.c_str(), stats.layers.size(), stats.num_experts, edges, triangles,
      result.planted.size(), static_cast<unsigned long long>(args.options.seed), bytes.size());
  return kExitOk;
}

}  // namespace

Command add_synth_command(CLI::App& root) {
  auto args = std::make_shared<SynthArgs>();
  hc::SynthOptions& o = args->options;
  CLI::App* cmd = root.add_subcommand(
      "synth", "Write a synthetic statistics file with planted clusters and irreducible triples");
  cmd->add_option("--layers", o.layers, "MoE layers")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--experts", o.experts, "Experts per layer")
      ->check(CLI::Range(2, 4096))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed (same seed, same bytes)")->capture_default_str();
  cmd->add_option("--out", args->out, "Output .hcstats file (written atomically)")->required();
  cmd->add_option("--top-k", o.top_k, "Experts routed per token")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-triangles", o.max_triangles, "Cap on candidate triangles per layer")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--cluster-size", o.cluster_size, "Mean size of a cluster of mergeable experts")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--planted", o.planted_triples,
                  "Irreducible triples planted per layer (default: max(1, experts/16))");
  cmd->add_option("--hidden", o.hidden_size, "Also write Wanda input norms of this width")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--inner", o.inner_size, "Also write Wanda inner norms of this width")
      ->check(CLI::NonNegativeNumber);
  cmd->footer(
      "Examples:\n"
      "  hodgecover synth --layers 4 --experts 16 --seed 0 --out toy.hcstats\n"
      "  hodgecover synth --layers 48 --experts 128 --seed 1 --hidden 64 --inner 32 --out "
      "big.hcstats");
  return Command{cmd, [args] { return run_synth(*args); }};
}

}  // namespace hc::native
