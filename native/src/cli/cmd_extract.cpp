// `hodgecover extract --model DIR (--text FILE|--ids FILE) --out F.hcstats ...`: calibration
// statistics and merge barriers of every MoE layer (docs/METHOD.md, docs/CLI.md).
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "cli_common.hpp"
#include "commands.hpp"
#include "extract_estimate.hpp"
#include "hc/native/device.hpp"
#include "hc/native/extract.hpp"

namespace hc::native {
namespace {

struct ExtractArgs {
  std::string model, text, ids, out;
  std::size_t tokens = 8192, seq_len = 0;
  std::string device = "auto", barrier = "kl_lens", compute_dtype = "auto";
  int max_triangles = 4096;
  double candidate_quantile = 0.75;
  std::size_t router_sample = 512;
  std::string lens_support = "auto";
  LensSupportOptions lens;
  int processes = 0;  // --estimate only; 0: WORLD_SIZE or 1
  bool resume = false, json = false, estimate = false;
};

int run_estimate(const ExtractArgs& args) {
  EstimateArgs e;
  e.model = args.model;
  e.device = args.device;
  e.compute_dtype = args.compute_dtype;
  e.tokens = args.tokens;
  e.seq_len = args.seq_len;
  e.barrier = take_option("--barrier", parse_barrier(args.barrier));
  e.max_triangles = args.max_triangles;
  e.candidate_quantile = args.candidate_quantile;
  e.lens = args.lens;
  e.lens.kind = take_option("--lens-support", parse_lens_support(args.lens_support));
  e.processes = args.processes;
  if (e.processes <= 0) {
    const char* world = std::getenv("WORLD_SIZE");
    e.processes = world != nullptr ? std::max(1, std::atoi(world)) : 1;
  }
  e.json = args.json;
  return run_extract_estimate(e);
}

// Ranks on one machine share its cores: unless OMP_NUM_THREADS says otherwise, each CPU rank
// takes cores / LOCAL_WORLD_SIZE (torchrun sets it; WORLD_SIZE otherwise) intra-op threads.
void share_cpu_threads(const Collective& collective, at::Device device) {
  if (!collective.distributed() || device.is_cuda() || std::getenv("OMP_NUM_THREADS")) return;
  int local = collective.world();
  if (const char* text = std::getenv("LOCAL_WORLD_SIZE")) local = std::max(1, std::atoi(text));
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(std::max(1, cores / local));
}

int run_extract_command(const ExtractArgs& args) {
  if (args.tokens == 0) fail(hc::ErrorCode::InvalidArgument, "--tokens must be positive");
  if (args.estimate) return run_estimate(args);
  if (args.out.empty()) fail(hc::ErrorCode::InvalidArgument, "give --out FILE.hcstats");
  if (args.text.empty() == args.ids.empty())
    fail(hc::ErrorCode::InvalidArgument, "give --text FILE or --ids FILE");
  if (args.candidate_quantile < 0.0 || args.candidate_quantile > 1.0) {
    fail(hc::ErrorCode::InvalidArgument, "--candidate-quantile must lie in [0, 1]");
  }
  if (args.tokens == 0) fail(hc::ErrorCode::InvalidArgument, "--tokens must be positive");
  if (args.seq_len == 1) fail(hc::ErrorCode::InvalidArgument, "--seq-len must be at least 2");
  if (args.max_triangles < 0) {
    fail(hc::ErrorCode::InvalidArgument, "--max-triangles must be non-negative");
  }
  if (!(args.lens.tail_mass >= 0.0 && args.lens.tail_mass < 1.0)) {
    fail(hc::ErrorCode::InvalidArgument, "--lens-tail-mass must lie in [0, 1)");
  }
  if (args.lens.max_support < 1) {
    fail(hc::ErrorCode::InvalidArgument, "--lens-max-support must be at least 1");
  }
  if (args.lens.tail_samples < 0) {
    fail(hc::ErrorCode::InvalidArgument, "--lens-tail-samples must be non-negative");
  }
  ExtractOptions options;
  tune_allocator_for_tensors();
  options.model = args.model;
  options.source = TokenSource{args.text, args.ids};
  options.out = args.out;
  options.tokens = args.tokens;
  options.seq_len = args.seq_len;
  options.device = take_option("--device", parse_device(args.device));
  options.barrier = take_option("--barrier", parse_barrier(args.barrier));
  options.compute_dtype =
      take_option("--compute-dtype", parse_compute_dtype(args.compute_dtype, options.device));
  options.collective = take(Collective::from_environment());
  // One GPU per rank: a bare "cuda" (or auto) means cuda:LOCAL_RANK in a distributed run.
  if (options.collective->distributed() && options.device.is_cuda() &&
      args.device.find(':') == std::string::npos) {
    if (const char* local = std::getenv("LOCAL_RANK")) {
      options.device = take_option("--device", parse_device("cuda:" + std::string(local)));
    }
  }
  const bool reporter = options.collective->rank() == 0;
  share_cpu_threads(*options.collective, options.device);
  options.max_triangles = args.max_triangles;
  options.candidate_quantile = args.candidate_quantile;
  options.resume = args.resume;
  options.router_sample = args.router_sample;
  options.lens = args.lens;
  options.lens.kind = take_option("--lens-support", parse_lens_support(args.lens_support));

  std::unique_ptr<ProgressBar> bar;
  std::string bar_stage;
  std::size_t drawn = 0;
  const auto summary =
      take(run_extract(options, [&](const std::string& stage, std::size_t done, std::size_t total) {
        if (!reporter) return;  // one progress display per run: rank 0's
        if (stage != bar_stage) {
          const auto has = [&](const char* word) { return stage.find(word) != std::string::npos; };
          bar = std::make_unique<ProgressBar>(stage, total,
                                              has("substitutions")   ? "ordered pairs"
                                              : has("pairs")         ? "pairs"
                                              : has("leave-one-out") ? "experts"
                                                                     : "triangles");
          bar_stage = stage;
          drawn = 0;
        }
        bar->advance(done - drawn);
        drawn = done;
        if (done >= total) bar->finish();
      }));
  bar.reset();
  if (!reporter) return kExitOk;  // rank 0 wrote the file and reports it
  const hc::StatsFile& stats = summary.stats;
  std::size_t triangles = 0;
  for (const auto& layer : stats.layers) triangles += layer.triangles.size();
  if (args.json) {
    print_json(
        {{"out", args.out},
         {"layers", stats.layers.size()},
         {"layers_resumed", summary.layers_resumed},
         {"experts", stats.num_experts},
         {"tokens", stats.tokens},
         {"barrier", stats.barrier},
         {"compute_dtype", compute_dtype_name(options.compute_dtype)},
         {"lens_support", stats.metadata.count("lens_support") > 0
                              ? nlohmann::json(stats.metadata.at("lens_support"))
                              : nlohmann::json(nullptr)},
         {"processes", summary.processes},
         {"triangles", triangles},
         {"seconds", summary.seconds},
         {"checkpoint_bytes", summary.checkpoint_bytes},
         {"checkpoint_bytes_read", summary.checkpoint_bytes_read},
         {"stage_seconds",
          {{"expert_stats", summary.stats_seconds},
           {"pairs", summary.pair_seconds},
           {"substitutions", summary.substitution_seconds},
           {"triangles", summary.triangle_seconds},
           {"leave_one_out", summary.loo_seconds},
           {"forward_and_io", summary.seconds - summary.stats_seconds - summary.pair_seconds -
                                  summary.substitution_seconds - summary.triangle_seconds -
                                  summary.loo_seconds}}},
         {"merged_token_evaluations",
          {{"pairs", summary.pair_evaluations}, {"triangles", summary.triangle_evaluations}}},
         {"substitute_token_evaluations", summary.substitution_evaluations}});
    return kExitOk;
  }
  std::cout << "wrote " << args.out << ": " << stats.layers.size() << " MoE layers x "
            << stats.num_experts << " experts, " << stats.tokens << " calibration tokens, "
            << stats.barrier << " barriers, " << triangles << " measured triangles";
  if (summary.layers_resumed > 0) std::cout << " (" << summary.layers_resumed << " layers resumed)";
  if (summary.processes > 1) std::cout << ", " << summary.processes << " processes";
  std::cout << strprintf(", %.1f s\n", summary.seconds);
  std::cout << "next: hodgecover decompose " << args.out << "   |   hodgecover select " << args.out
            << " --ratio 0.5 --compare\n";
  return kExitOk;
}

}  // namespace

Command add_extract_command(CLI::App& root) {
  auto args = std::make_shared<ExtractArgs>();
  CLI::App* cmd = root.add_subcommand("extract", kExtractSummary);
  cmd->add_option("--model", args->model, "Checkpoint directory (Hugging Face layout)")->required();
  auto* text = cmd->add_option("--text", args->text,
                               "Calibration UTF-8 text, encoded with the model's tokenizer.json");
  auto* ids = cmd->add_option("--ids", args->ids,
                              "Pre-tokenized ids instead of --text (.npy or raw int32)");
  text->excludes(ids);
  ids->excludes(text);
  cmd->add_option("--out", args->out, "Statistics file to write (.hcstats)");
  cmd->add_flag("--estimate", args->estimate,
                "Print the run's cost (FLOPs, memory, disk reads, time per stage) from "
                "config.json alone, without running; --device names the device: cpu (measured "
                "here), a100, h100, h200 or b200");
  cmd->add_option("--processes", args->processes,
                  "With --estimate: processes sharing the run (default: WORLD_SIZE or 1)");
  cmd->add_option("--tokens", args->tokens, "Calibration tokens to use (whole sequences)")
      ->capture_default_str();
  cmd->add_option("--seq-len", args->seq_len,
                  "Tokens per calibration sequence (default: 512, or the model's "
                  "max_position_embeddings if smaller)");
  cmd->add_option("--device", args->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--barrier", args->barrier,
                  "kl_lens (KL through the LM head right after the layer), kl_full (exact: "
                  "rerun the later layers; slow), output_l2 (relative output change)")
      ->capture_default_str();
  cmd->add_option("--compute-dtype", args->compute_dtype,
                  "Precision of the LM-head and expert products of barrier scoring: fp32, tf32 "
                  "(CUDA), bf16, or auto (fp32 on CPU, bf16 on CUDA); softmax and KL stay fp32")
      ->capture_default_str();
  cmd->add_option("--lens-support", args->lens_support,
                  "kl_lens: how each token's next-token distribution is evaluated: top-m (its "
                  "most probable entries exactly, the rest as one bucket, exact to first order "
                  "and sampled at second; cost independent of the vocabulary), full (every "
                  "vocabulary entry), or auto (top-m when the vocabulary is at least 4x "
                  "max-support + tail-samples, else full)")
      ->capture_default_str();
  cmd->add_option("--lens-tail-mass", args->lens.tail_mass,
                  "top-m: a token's support grows until the rest holds at most this mass")
      ->capture_default_str();
  cmd->add_option("--lens-max-support", args->lens.max_support,
                  "top-m: at most this many entries per token")
      ->capture_default_str();
  cmd->add_option("--lens-tail-samples", args->lens.tail_samples,
                  "top-m: tail entries sampled per token in proportion to p (deterministic) for "
                  "the tail's second-order term; 0: first order only (a lower bound)")
      ->capture_default_str();
  cmd->add_option("--max-triangles", args->max_triangles,
                  "Stage-1 candidate triples measured per layer")
      ->capture_default_str();
  cmd->add_option("--candidate-quantile", args->candidate_quantile,
                  "Stage 1 keeps triples whose three pair barriers are <= this quantile")
      ->capture_default_str();
  cmd->add_option("--router-sample", args->router_sample,
                  "Calibration tokens whose router logits are kept per layer, evenly spaced "
                  "(what apply's --gate-correction evaluates a plan on); 0: none")
      ->capture_default_str();
  cmd->add_flag("--resume", args->resume,
                "Continue an interrupted run from the layers kept in OUT.partial/ (same "
                "settings required); without it an old OUT.partial/ is discarded");
  cmd->add_flag("--json", args->json, "Print a JSON summary");
  cmd->footer(
      "Layer-streamed: one decoder layer's weights are resident at a time. The file is written\n"
      "under a temporary name and renamed when complete.\n"
      "Distributed: start one process per GPU (or CPU slot) with RANK, WORLD_SIZE, MASTER_ADDR\n"
      "and MASTER_PORT set, e.g. torchrun --no-python --nproc-per-node 8 hodgecover extract ...;\n"
      "the ranks share the calibration sequences and rank 0 writes (docs/DISTRIBUTED.md).\n"
      "Example: hodgecover extract --model ./olmoe --text calib.txt --tokens 8192 --out o.hcstats");
  return Command{cmd, [args] { return run_extract_command(*args); }};
}

}  // namespace hc::native
