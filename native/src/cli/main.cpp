// Entry point of `hodgecover` and of its LibTorch helper `hodgecover-torch`: registers the
// subcommands, parses, and runs the chosen one behind the error boundary (exit codes in
// docs/CLI.md). Built twice: without LibTorch, the commands that need it (extract, eval,
// compare, train, demo) are handed to the helper beside the executable, as git runs its
// helpers, so --help, info, decompose, select, apply, ... start without loading LibTorch.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "commands.hpp"
#include "demo.hpp"

#ifndef HC_TORCH_HELPER
#define HC_TORCH_HELPER 0  // 1: this is the light executable and hodgecover-torch was built
#endif

namespace hc::native {
Command add_tokenize_command(CLI::App& root);  // cmd_tokenize.cpp
Command add_bpe_command(CLI::App& root);       // cmd_bpe.cpp
}  // namespace hc::native

namespace {

using hc::native::Command;

constexpr const char* kHelperName = "hodgecover-torch";
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
    "Exit codes: 0 ok, 2 usage error, 3 bad input file, 4 runtime failure, 5 device failure.\n";

struct TorchCommand {
  const char* name;
  const char* summary;
};
constexpr TorchCommand kTorchCommands[] = {
    {"extract", hc::native::kExtractSummary}, {"eval", hc::native::kEvalSummary},
    {"compare", hc::native::kCompareSummary}, {"train", hc::native::kTrainSummary},
    {"demo", hc::native::kDemoSummary},
};

[[maybe_unused]] bool is_torch_command(std::string_view name) {
  for (const TorchCommand& command : kTorchCommands) {
    if (name == command.name) return true;
  }
  return false;
}

// The helper lives beside this executable (build tree and installs alike).
[[maybe_unused]] std::filesystem::path helper_path() {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return kHelperName;
  self[n] = '\0';
  return std::filesystem::path(self).parent_path() / kHelperName;
}

// Replaces this process by the helper with the same arguments (same pid, so signals and exit
// codes pass straight through). Returns only on failure.
[[maybe_unused]] int run_helper(int argc, char** argv) {
  const std::string helper = helper_path().string();
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  ::execv(helper.c_str(), args.data());
  const std::string command = argc > 1 ? argv[1] : "";
  hc::native::print_error(command, "'" + command + "' runs " + helper +
                                       ", which could not be started: " + std::strerror(errno) +
                                       " (build it with LibTorch installed)");
  return hc::native::kExitRuntime;
}

// Registered so `hodgecover extract ...` explains itself instead of failing as an unknown
// argument; any options given to them are accepted and ignored.
[[maybe_unused]] Command add_unavailable_command(CLI::App& root, const std::string& name,
                                                 const std::string& what, const std::string& why) {
  CLI::App* cmd = root.add_subcommand(name, what + " (" + why + ")");
  cmd->group("Not in this build");
  cmd->allow_extras();
  cmd->footer("'" + name + "': " + why + ".");
  return Command{cmd, [name, why]() -> int {
                   hc::native::fail(hc::ErrorCode::InvalidArgument,
                                    "'" + name + "' is unavailable: " + why + ".");
                 }};
}

// Listed in --help like any command; running one hands the whole command line to the helper.
[[maybe_unused]] Command add_helper_command(CLI::App& root, const TorchCommand& command, int argc,
                                            char** argv) {
  CLI::App* cmd = root.add_subcommand(command.name, command.summary);
  cmd->allow_extras();
  cmd->set_help_flag();  // `--help` goes to the helper, which knows the options
  return Command{cmd, [argc, argv]() { return run_helper(argc, argv); }};
}

std::vector<Command> add_commands(CLI::App& app, [[maybe_unused]] int argc,
                                  [[maybe_unused]] char** argv) {
  std::vector<Command> commands;
  commands.push_back(hc::native::add_info_command(app));
  commands.push_back(hc::native::add_decompose_command(app));
  commands.push_back(hc::native::add_select_command(app));
  commands.push_back(hc::native::add_synth_command(app));
  commands.push_back(hc::native::add_tokenize_command(app));
  commands.push_back(hc::native::add_bpe_command(app));
  commands.push_back(hc::native::add_apply_command(app));
#if HC_HAVE_TORCH
  commands.push_back(hc::native::add_demo_command(app, hc::native::run_model_demo));
  commands.push_back(hc::native::add_extract_command(app));
  commands.push_back(hc::native::add_eval_command(app));
  commands.push_back(hc::native::add_compare_command(app));
  commands.push_back(hc::native::add_train_command(app));
#elif HC_TORCH_HELPER
  for (const TorchCommand& command : kTorchCommands) {
    commands.push_back(add_helper_command(app, command, argc, argv));
  }
#else
  commands.push_back(hc::native::add_demo_command(app, {}));
  for (const TorchCommand& command : kTorchCommands) {
    if (std::string_view(command.name) == "demo") continue;
    commands.push_back(add_unavailable_command(app, command.name, command.summary, kNoTorch));
  }
#endif
  return commands;
}

int run(int argc, char** argv) {
  CLI::App app{
      "HodgeCover: learning-free expert pruning and merging for sparse MoE models, "
      "driven by the Hodge decomposition of expert merge barriers.",
      "hodgecover"};
  app.set_version_flag("--version", std::string("hodgecover ") + hc::native::kVersion);
  // At most one; "none" is reported below, so an unknown root option gets CLI11's own message.
  app.require_subcommand(0, 1);
  const bool has_torch = HC_HAVE_TORCH || HC_TORCH_HELPER;
  app.footer(std::string(kEpilogue) + (has_torch ? "" : std::string(kTorchNote) + "."));
  const std::vector<Command> commands = add_commands(app, argc, argv);

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
#if HC_TORCH_HELPER && !HC_HAVE_TORCH
  // The common case needs no parsing here: hand LibTorch commands over before building the app.
  if (argc > 1 && is_torch_command(argv[1])) return run_helper(argc, argv);
#endif
  // Registration and parsing can throw too (allocation, CLI11 construction errors).
  return hc::native::run_guarded("", [&] { return run(argc, argv); });
}
