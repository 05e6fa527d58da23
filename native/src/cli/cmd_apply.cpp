// `hodgecover apply --model DIR --plan plan.json [--mode prune|merge] [--wanda S] [--stats F]
// --out DIR`: the compressed checkpoint of a plan (docs/METHOD.md).
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/native/apply.hpp"

namespace hc::native {
namespace {

struct ApplyArgs {
  std::string model, plan, stats, out, mode = "prune", gate_correction = "auto";
  double wanda = 0.0;
  bool json = false;
};

int run_apply(const ApplyArgs& args) {
  ApplyOptions options;
  options.model = args.model;
  options.out = args.out;
  options.wanda = args.wanda;
  options.gate_correction =
      take_option("--gate-correction", parse_gate_correction(args.gate_correction));
  if (args.mode == "prune") {
    options.mode = ApplyMode::Prune;
  } else if (args.mode == "merge") {
    options.mode = ApplyMode::Merge;
  } else {
    fail(hc::ErrorCode::InvalidArgument, "--mode " + args.mode + ": expected prune or merge");
  }
  std::vector<std::uint8_t> bytes;
  if (hc::Status error = read_file(args.plan, bytes); !error.ok()) fail(error.error());
  const hc::Plan plan = take(hc::parse_plan(std::string(bytes.begin(), bytes.end()), args.plan));
  std::optional<LoadedStats> stats;
  if (!args.stats.empty()) stats = load_stats(args.stats);
  auto result = apply_plan(options, plan, stats ? &stats->stats : nullptr);
  if (!result.ok()) {
    // A plan that does not fit the model is bad input (exit 3), naming the plan file.
    if (result.error().code == hc::ErrorCode::InvalidArgument &&
        result.error().message.rfind("plan:", 0) == 0) {
      fail(hc::ErrorCode::Malformed, args.plan + ": " + result.error().message.substr(6));
    }
    fail(result.error());
  }
  const ApplySummary& s = *result;
  if (args.json) {
    print_json({{"out", args.out},
                {"mode", args.mode},
                {"wanda", args.wanda},
                {"layers", s.layers},
                {"experts_before", s.experts_before},
                {"experts_after", s.experts_after},
                {"parameters_before", s.parameters_before},
                {"parameters_after", s.parameters_after},
                {"wanda_zeros", s.wanda_zeros},
                {"gate_correction", gate_factors_json(s.gate, plan)}});
    return kExitOk;
  }
  std::cout << strprintf(
      "wrote %s: %d MoE layers, %d -> %d experts (%s), parameters %.2fM -> %.2fM", args.out.c_str(),
      s.layers, s.experts_before, s.experts_after, args.mode.c_str(),
      double(s.parameters_before) / 1e6, double(s.parameters_after) / 1e6);
  if (s.wanda_zeros > 0)
    std::cout << strprintf(", Wanda %.0f%% of surviving expert weights", 100 * args.wanda);
  std::cout << "\ngate correction: " << gate_correction_name(s.gate.applied) << " ("
            << s.gate.reason << ")";
  if (s.gate.applied != GateCorrection::Off) {
    double low = 1e300, high = 0.0;
    for (const auto& [layer, lp] : plan.layers) {
      for (int e : lp.keep) {
        low = std::min(low, s.gate.factor(layer, e));
        high = std::max(high, s.gate.factor(layer, e));
      }
    }
    std::cout << strprintf(", down projections x %.3f..%.3f", low, high);
  }
  std::cout << "\noriginal expert ids per layer: " << args.out << "/hodgecover_keep.json\n";
  if (s.gate.applied == GateCorrection::Off && s.gate.requested == GateCorrection::Auto &&
      s.gate.reason.find("no statistics") != std::string::npos) {
    std::cerr << "warning: " << s.gate.reason << "\n";
  }
  return kExitOk;
}

}  // namespace

Command add_apply_command(CLI::App& root) {
  auto args = std::make_shared<ApplyArgs>();
  CLI::App* cmd = root.add_subcommand("apply", "Write the compressed checkpoint of a plan");
  cmd->add_option("--model", args->model, "Original checkpoint directory (never modified)")
      ->required();
  cmd->add_option("--plan", args->plan, "Plan JSON from `select` or the dashboard")->required();
  cmd->add_option("--out", args->out, "New checkpoint directory (must not exist)")->required();
  cmd->add_option("--mode", args->mode,
                  "prune: drop the other experts; merge: fold each dropped expert into its "
                  "survivor (frequency-weighted)")
      ->capture_default_str();
  cmd->add_option("--wanda", args->wanda,
                  "Also zero this fraction of every row of the surviving experts' matrices "
                  "(Wanda: lowest |w|*sqrt(input square norm))")
      ->capture_default_str();
  cmd->add_option("--stats", args->stats,
                  "Statistics file the plan came from (needed by merge mode, --wanda and the "
                  "gate correction)");
  cmd->add_option("--gate-correction", args->gate_correction,
                  "Restore the router's gate mass after removing experts: auto (for routers that "
                  "do not renormalise the top-k weights linear, or mass with --wanda; else "
                  "off), off "
                  "(pruning = masking the dropped experts exactly), linear (per layer, the kept "
                  "experts' mean router probability), mass (per layer from the router sample; "
                  "per merged expert in merge mode). Factors: OUT/hodgecover_gate_correction.json")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print a JSON summary");
  cmd->footer(
      "Kept experts are renumbered 0..K-1 in original order; routers (and their biases) are\n"
      "sliced; config.json's expert count is updated; tokenizer and other files are copied.\n"
      "The plan, the kept original ids (hodgecover_keep.json) and the gate-correction factors\n"
      "(hodgecover_gate_correction.json) are written beside it.\n"
      "Example: hodgecover apply --model m --plan plan.json --mode merge --stats m.hcstats --out "
      "m-50");
  return Command{cmd, [args] { return run_apply(*args); }};
}

}  // namespace hc::native
