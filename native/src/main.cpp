// Entry point of the `hodgecover` CLI: registers the subcommands, parses, and runs the chosen
// one behind the error boundary (exit codes of SPEC §9).
#include <iostream>
#include <string>
#include <vector>

#include "hc/native/cli_common.hpp"
#include "hc/native/commands.hpp"
#include "hc/native/demo.hpp"

namespace hc::native {
Command add_tokenize_command(CLI::App& root);  // cmd_tokenize.cpp
Command add_bpe_command(CLI::App& root);       // cmd_bpe.cpp
}

namespace {

using hc::native::Command;

constexpr const char* kTorchNote =
    "extract, eval, compare and train need a build with LibTorch; this build has none";
constexpr const char* kNoTorch =
    "needs LibTorch, and this build has none; rebuild with LibTorch installed";

const char* kEpilogue =
    "Examples:\n"
    "  hodgecover demo                                   # the bundled model end to end\n"
    "  hodgecover extract --model DIR --text calib.txt --out m.hcstats\n"
    "  hodgecover decompose m.hcstats --layer 0\n"
    "  hodgecover select m.hcstats --method hodgecover --ratio 0.5 --out plan.json\n"
    "  hodgecover apply --model DIR --plan plan.json --out DIR-50\n"
    "  hodgecover eval --model DIR --compare DIR-50 --text heldout.txt\n"
    "  hodgecover compare --model DIR --stats m.hcstats --text heldout.txt --out cmp\n"
    "  hodgecover synth --layers 4 --experts 16 --seed 0 --out toy.hcstats\n"
    "Run 'hodgecover <command> --help' for a command's options.\n"
    "Exit codes: 0 ok, 2 usage error, 3 bad input file, 4 runtime failure.\n";

// Registered so `hodgecover extract ...` explains itself instead of failing as an unknown
// argument; any options given to them are accepted and ignored.
[[maybe_unused]] Command add_unavailable_command(CLI::App& root, const std::string& name, const std::string& what,
                                const std::string& why) {
  CLI::App* cmd = root.add_subcommand(name, what + " (" + why + ")");
  cmd->group("Not in this build");
  cmd->allow_extras();
  cmd->footer("'" + name + "': " + why + ".");
  return Command{cmd, [name, why]() -> int {
                   hc::native::fail(hc::native::kExitUsage, "'" + name + "' is unavailable: " + why + ".");
                 }};
}

int run(int argc, char** argv) {
  CLI::App app{
      "HodgeCover: learning-free expert pruning and merging for sparse MoE models, "
      "driven by the Hodge decomposition of expert merge barriers.",
      "hodgecover"};
  app.set_version_flag("--version", std::string("hodgecover ") + hc::native::kVersion);
  // At most one; "none" is reported below, so an unknown root option gets CLI11's own message.
  app.require_subcommand(0, 1);
  app.footer(std::string(kEpilogue) + (HC_HAVE_TORCH ? "" : std::string(kTorchNote) + "."));

  std::vector<Command> commands;
  commands.push_back(hc::native::add_info_command(app));
  commands.push_back(hc::native::add_decompose_command(app));
  commands.push_back(hc::native::add_select_command(app));
  commands.push_back(hc::native::add_synth_command(app));
#if HC_HAVE_TORCH
  commands.push_back(hc::native::add_demo_command(app, hc::native::run_model_demo));
#else
  commands.push_back(hc::native::add_demo_command(app, {}));
#endif
  commands.push_back(hc::native::add_tokenize_command(app));
  commands.push_back(hc::native::add_bpe_command(app));
#if HC_HAVE_TORCH
  commands.push_back(hc::native::add_extract_command(app));
  commands.push_back(hc::native::add_eval_command(app));
  commands.push_back(hc::native::add_compare_command(app));
  commands.push_back(hc::native::add_train_command(app));
#else
  commands.push_back(
      add_unavailable_command(app, "extract", "Extract statistics from a checkpoint", kNoTorch));
  commands.push_back(add_unavailable_command(app, "eval", "Evaluate checkpoints", kNoTorch));
  commands.push_back(add_unavailable_command(
      app, "compare", "Compare every method x ratio x Wanda on held-out data", kNoTorch));
  commands.push_back(
      add_unavailable_command(app, "train", "Train a small MoE language model", kNoTorch));
#endif
  commands.push_back(hc::native::add_apply_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string command;
    for (const CLI::App* sub : app.get_subcommands()) command = sub->get_name();
    hc::native::print_error(command, e.what());
    std::cerr << "Run 'hodgecover " << (command.empty() ? "" : command + " ")
              << "--help' for usage.\n";
    return hc::native::kExitUsage;
  }

  for (const Command& command : commands) {
    if (command.app->parsed()) return hc::native::run_guarded(command.app->get_name(), command.run);
  }
  hc::native::print_error("", "no command given");
  std::cerr << "Run 'hodgecover --help' for the list of commands.\n";
  return hc::native::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // Registration and parsing can throw too (allocation, CLI11 construction errors).
  return hc::native::run_guarded("", [&] { return run(argc, argv); });
}
