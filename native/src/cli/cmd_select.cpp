// `hodgecover select FILE --method M (--keep K | --ratio R) ...`: choose the experts to keep
// per layer, report retained Hodge masses, write the plan (docs/METHOD.md, docs/CLI.md).
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "hc/plan.hpp"

namespace hc::native {
namespace {

struct SelectArgs {
  std::string file;
  std::string method = "hodgecover";
  int keep = 0;
  double ratio = 0.5;
  CLI::Option* keep_option = nullptr;
  CLI::Option* ratio_option = nullptr;
  std::uint64_t seed = 0;
  std::string mode = "prune";
  ComplexSwitches complex;
  HodgeCoverSwitches hodgecover;
  std::string out;
  bool json = false;
  bool compare = false;
};

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (hc::Method m : hc::all_methods()) names.emplace_back(hc::method_name(m));
  return names;
}

nlohmann::json retained_json(const hc::RetainedMasses& r) {
  return {{"gradient", r.gradient},
          {"curl", r.curl},
          {"harmonic", r.harmonic},
          {"triangle", r.triangle}};
}

std::string budget_text(const hc::SelectionOptions& o, const hc::StatsFile& stats) {
  if (o.keep >= 0) return strprintf("keep %d per layer", o.keep);
  if (stats.layers.empty()) return strprintf("ratio %g", o.ratio);
  auto keep = hc::keep_count(stats.layers[0].experts, o);
  if (!keep.ok()) return strprintf("ratio %g", o.ratio);
  return strprintf("ratio %g (keep %d of %d per layer)", o.ratio, *keep, stats.layers[0].experts);
}

void print_summary(const LoadedStats& loaded, const hc::SelectionOutcome& outcome,
                   const hc::SelectionOptions& options, const hc::ComplexOptions& complex) {
  const hc::Plan& plan = outcome.plan;
  // The plan records the mode actually used (hcsmoe always merges).
  const std::string mode = plan.params.value("mode", hc::reduction_mode_name(options.mode));
  std::cout << strprintf("%s: method %s (%s), %s, %zu layers; %s\n", loaded.path.c_str(),
                         plan.method.c_str(), mode.c_str(),
                         budget_text(options, loaded.stats).c_str(), plan.layers.size(),
                         describe_complex(complex).c_str());
  std::cout << strprintf("%5s %7s %5s %9s %9s %9s %9s\n", "layer", "experts", "kept", "gradient",
                         "curl", "harmonic", "triangle");
  for (const auto& [layer, layer_plan] : plan.layers) {
    const hc::LayerStats* stats = loaded.stats.find_layer(layer);
    const auto it = outcome.retained.find(layer);
    const hc::RetainedMasses r = it == outcome.retained.end() ? hc::RetainedMasses{} : it->second;
    std::cout << strprintf("%5d %7d %5zu %9.3f %9.3f %9.3f %9.3f\n", layer,
                           stats ? stats->experts : 0, layer_plan.keep.size(), r.gradient, r.curl,
                           r.harmonic, r.triangle);
  }
  if (outcome.retained.size() > 1) {
    const hc::RetainedMasses m = mean_retained(outcome.retained);
    std::cout << strprintf("%5s %7s %5s %9.3f %9.3f %9.3f %9.3f\n", "mean", "", "", m.gradient,
                           m.curl, m.harmonic, m.triangle);
  }
  std::cout << strprintf(
      "retained: share of each Hodge mass covered by the kept experts (edges with a kept "
      "endpoint; critical triangles with >= %d kept vertices)\n",
      options.cover_tri);
}

int run_select(const SelectArgs& args) {
  const bool has_keep = args.keep_option->count() > 0;
  if (!has_keep && args.ratio_option->count() == 0) {
    fail(hc::ErrorCode::InvalidArgument,
         "give a budget: --keep K (experts kept per layer) or --ratio R (share removed)");
  }
  const hc::ComplexOptions complex = complex_options(args.complex);
  hc::SelectionOptions options = selection_options(args.hodgecover);
  options.method = take(hc::parse_method(args.method));
  options.keep = has_keep ? args.keep : -1;
  options.ratio = args.ratio;
  options.seed = args.seed;
  options.mode = take(hc::parse_reduction_mode(args.mode));

  const LoadedStats loaded = load_stats(args.file);
  if (loaded.stats.layers.empty())
    fail(hc::ErrorCode::Malformed, loaded.path + ": the file has no MoE layers; nothing to select");
  // The method asked for must have its data in the file (loo needs format 1.1 scores); checked
  // before the decomposition so the refusal is immediate.
  if (hc::Status s = hc::method_supported(loaded.stats, options.method); !s)
    fail(s.error().code, loaded.path + ": " + s.error().message);
  auto analyses = analyze_stats(loaded.stats, complex, std::nullopt, loaded.path);
  if (args.compare && options.harmonic_target == hc::HarmonicTarget::Expected) {
    for (auto& a : analyses) {  // computed once for the selections of every method
      if (hc::Status s = hc::ensure_expected(a); !s)
        fail(hc::ErrorCode::NumericalFailure, loaded.path + ": " + s.error().message);
    }
  }
  const hc::SelectionOutcome outcome =
      take(hc::select_file(loaded.stats, analyses, options, complex));

  // The plan is written before anything is printed, so a failed write never follows output
  // that looks like success.
  if (!args.out.empty()) write_output(args.out, json_text(hc::plan_to_json(outcome.plan)) + "\n");

  if (args.compare) {
    // Every method the file has data for; the others are listed with the reason.
    std::vector<MethodRetained> rows;
    std::vector<std::pair<hc::Method, std::string>> skipped;
    for (hc::Method m : hc::all_methods()) {
      if (hc::Status s = hc::method_supported(loaded.stats, m); !s) {
        skipped.emplace_back(m, s.error().message);
        continue;
      }
      hc::SelectionOptions o = options;
      o.method = m;
      const auto other = take(hc::select_file(loaded.stats, analyses, o, complex));
      rows.push_back({m, mean_retained(other.retained)});
    }
    if (args.json) {
      nlohmann::json methods = nlohmann::json::array();
      for (const auto& row : rows) {
        methods.push_back(
            {{"method", hc::method_name(row.method)}, {"retained", retained_json(row.mean)}});
      }
      nlohmann::json budget = has_keep ? nlohmann::json{{"keep", options.keep}}
                                       : nlohmann::json{{"ratio", options.ratio}};
      nlohmann::json not_run = nlohmann::json::array();
      for (const auto& [m, why] : skipped)
        not_run.push_back({{"method", hc::method_name(m)}, {"reason", why}});
      print_json({{"file", loaded.path},
                  {"budget", budget},
                  {"params", hc::selection_params(options, complex)},
                  {"methods", methods},
                  {"skipped", not_run}});
    } else {
      std::cout << strprintf("%s: %s, %zu layers; %s\n", loaded.path.c_str(),
                             budget_text(options, loaded.stats).c_str(), analyses.size(),
                             describe_complex(complex).c_str());
      print_retained_table(std::cout, rows);
      for (const auto& [m, why] : skipped)  // why names the method
        std::cout << "not run: " << why << '\n';
    }
  } else if (args.json) {
    print_json(hc::selection_json(outcome));
  } else {
    print_summary(loaded, outcome, options, complex);
  }
  if (!args.out.empty() && !args.json)
    std::cout << "plan (" << outcome.plan.method << ") written to " << args.out << '\n';
  return kExitOk;
}

}  // namespace

void print_retained_table(std::ostream& out, const std::vector<MethodRetained>& rows) {
  out << "mean retained Hodge mass over layers (share covered by the kept experts)\n";
  out << strprintf("%-11s %9s %9s %9s %9s\n", "method", "gradient", "curl", "harmonic", "triangle");
  for (const auto& row : rows) {
    out << strprintf("%-11s %9.3f %9.3f %9.3f %9.3f\n", hc::method_name(row.method),
                     row.mean.gradient, row.mean.curl, row.mean.harmonic, row.mean.triangle);
  }
}

Command add_select_command(CLI::App& root) {
  auto args = std::make_shared<SelectArgs>();
  CLI::App* cmd = root.add_subcommand(
      "select", "Choose the experts to keep per layer with one method and write a plan");
  cmd->add_option("FILE", args->file, "Statistics file")->required();
  cmd->add_option("--method", args->method, "Selection method")
      ->check(CLI::IsMember(method_names()))
      ->capture_default_str();
  args->keep_option =
      cmd->add_option("--keep", args->keep, "Experts kept per layer")->check(CLI::PositiveNumber);
  args->ratio_option =
      cmd->add_option("--ratio", args->ratio, "Share of experts removed per layer (0..1)")
          ->check(CLI::Range(0.0, 1.0));
  args->keep_option->excludes(args->ratio_option);
  cmd->add_option("--seed", args->seed, "Seed for --method random")->capture_default_str();
  cmd->add_option("--mode", args->mode, "Reduction recorded in the plan (hcsmoe always merges)")
      ->check(CLI::IsMember({"prune", "merge"}))
      ->capture_default_str();
  add_complex_options(*cmd, args->complex);
  add_hodgecover_options(*cmd, args->hodgecover);
  cmd->add_option("--out", args->out, "Write the plan JSON here (atomically)");
  cmd->add_flag("--json", args->json, "Print the plan plus retained masses per layer as JSON");
  cmd->add_flag("--compare", args->compare,
                "Compare the mean retained masses of every method under the same budget");
  std::string methods;
  for (const auto& name : method_names()) methods += (methods.empty() ? "" : ", ") + name;
  cmd->footer("Methods: " + methods + " (hodgecover is the default).\n" +
              "Examples:\n"
              "  hodgecover select model.hcstats --method hodgecover --ratio 0.5 --out plan.json\n"
              "  hodgecover select model.hcstats --method reap --keep 16 --json\n"
              "  hodgecover select model.hcstats --ratio 0.5 --compare");
  return Command{cmd, [args] { return run_select(*args); }};
}

}  // namespace hc::native
