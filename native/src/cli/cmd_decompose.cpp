// `hodgecover decompose FILE [--layer L] [complex switches] [--json]`: per-layer complexes,
// Betti numbers and Hodge energies (docs/METHOD.md; JSON in docs/CLI.md).
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"

namespace hc::native {
namespace {

struct DecomposeArgs {
  std::string file;
  int layer = 0;
  CLI::Option* layer_option = nullptr;
  ComplexSwitches complex;
  bool json = false;
};

int run_decompose(const DecomposeArgs& args) {
  const hc::ComplexOptions options = complex_options(args.complex);
  const LoadedStats loaded = load_stats(args.file);
  std::optional<int> only_layer;
  if (args.layer_option->count() > 0) only_layer = args.layer;
  const auto analyses = analyze_stats(loaded.stats, options, only_layer, loaded.path);

  if (args.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& analysis : analyses) layers.push_back(hc::decomposition_json(analysis));
    print_json(nlohmann::json{{"layers", std::move(layers)}});
    return kExitOk;
  }
  std::cout << strprintf("%s: %zu layer%s, %s\n", loaded.path.c_str(), analyses.size(),
                         analyses.size() == 1 ? "" : "s", describe_complex(options).c_str());
  print_decomposition_table(std::cout, analyses);
  return kExitOk;
}

}  // namespace

void print_decomposition_table(std::ostream& out, const std::vector<hc::LayerAnalysis>& analyses) {
  out << strprintf("%5s %7s %10s %6s %6s %6s %4s %5s %4s %7s %7s %7s %9s\n", "layer", "experts",
                   "tau", "edges", "filled", "holes", "b0", "b1", "b2", "grad", "curl", "harm",
                   "residual");
  double grad = 0, curl = 0, harm = 0;
  for (const auto& a : analyses) {
    const auto& e = a.hodge.energy;
    const double residual = std::max(a.hodge.residual_b1, a.hodge.residual_b2t);
    out << strprintf("%5d %7d %10.4g %6d %6d %6zu %4d %5d %4d %7.3f %7.3f %7.3f %9.1e\n", a.layer,
                     a.complex.vertex_count, a.complex.tau, a.complex.edge_count(),
                     a.complex.triangle_count(), a.complex.holes.size(), a.hodge.betti[0],
                     a.hodge.betti[1], a.hodge.betti[2], e.fraction(e.gradient), e.fraction(e.curl),
                     e.fraction(e.harmonic), residual);
    grad += e.fraction(e.gradient);
    curl += e.fraction(e.curl);
    harm += e.fraction(e.harmonic);
  }
  if (analyses.size() > 1) {
    const double n = static_cast<double>(analyses.size());
    out << strprintf("%5s %7s %10s %6s %6s %6s %4s %5s %4s %7.3f %7.3f %7.3f\n", "mean", "", "", "",
                     "", "", "", "", "", grad / n, curl / n, harm / n);
  }
  out << "grad/curl/harm: share of the edge-barrier energy |f|^2 in each Hodge component; "
         "residual: max(|B1 h|, |B2^T h|) / |f|\n";
}

Command add_decompose_command(CLI::App& root) {
  auto args = std::make_shared<DecomposeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "decompose", "Build each layer's complex and Hodge-decompose its edge barriers");
  cmd->add_option("FILE", args->file, "Statistics file")->required();
  args->layer_option = cmd->add_option("--layer", args->layer, "Only this transformer layer index");
  add_complex_options(*cmd, args->complex);
  cmd->add_flag("--json", args->json,
                "Print {\"layers\":[...]} with per-edge signal and Hodge components");
  cmd->footer(
      "Examples:\n"
      "  hodgecover decompose model.hcstats\n"
      "  hodgecover decompose model.hcstats --layer 3 --tau-quantile 0.5 --json\n"
      "  hodgecover decompose model.hcstats --edges threshold --fill sum");
  return Command{cmd, [args] { return run_decompose(*args); }};
}

}  // namespace hc::native
