// `hodgecover extract` pipeline (docs/METHOD.md): calibration tokens through the layer-streamed
// model; per MoE layer expert statistics, all pair barriers, candidate triangles and their
// triplet barriers; a statistics file written atomically, resumable layer by layer.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "hc/native/barriers.hpp"
#include "hc/native/calibration.hpp"
#include "hc/native/collective.hpp"
#include "hc/result.hpp"
#include "hc/stats_file.hpp"

namespace hc::native {

struct ExtractOptions {
  std::filesystem::path model;
  TokenSource source;
  std::filesystem::path out;
  std::size_t tokens = 8192;  // calibration tokens used (whole sequences)
  std::size_t seq_len = 0;    // 0: default_sequence_length of the model
  at::Device device = at::Device(at::kCPU);
  BarrierKind barrier = BarrierKind::KlLens;
  int max_triangles = 4096;          // stage-1 candidates kept per layer
  double candidate_quantile = 0.75;  // stage 1: all three pair barriers <= this quantile
  ComputeDtype compute_dtype = ComputeDtype::Fp32;  // of the barrier products
  LensSupportOptions lens;  // kl_lens: full vocabulary or top-m support (docs/METHOD.md §8.1)
  bool resume = false;      // reuse the layers of an interrupted run
  // Calibration tokens whose router logits are kept per layer (`router_logit_sample`, what the
  // gate-mass correction of `apply` evaluates plans on); 0: none.
  std::size_t router_sample = 512;
  // The processes sharing this run (docs/DISTRIBUTED.md): each forwards its own block of the
  // calibration sequences; sums are reduced across them and rank 0 alone writes. Null: alone.
  std::shared_ptr<Collective> collective;
  // Called after each layer is committed to the partial directory, with the number committed by
  // this run (tests use it to stop a run part-way, as a kill would).
  std::function<void(std::size_t committed)> on_layer_committed;
};

// Progress of the long stages, for a progress bar: (label, units done, units in the stage).
using ExtractProgress =
    std::function<void(const std::string& stage, std::size_t done, std::size_t total)>;

struct ExtractSummary {
  hc::StatsFile stats;
  std::size_t layers_resumed = 0;  // layers taken from an interrupted run
  double seconds = 0.0;            // wall time of the whole run
  // Where the time went (layers computed in this run only): expert weights, outputs and
  // statistics; pair barriers; directed substitution barriers; triplet barriers; leave-one-out.
  // The rest is the forward pass and writing.
  double stats_seconds = 0.0, pair_seconds = 0.0, substitution_seconds = 0.0,
         triangle_seconds = 0.0, loo_seconds = 0.0;
  // Expert token evaluations: merged experts (pairs, triangles), substitutes (substitutions).
  std::uint64_t pair_evaluations = 0, substitution_evaluations = 0, triangle_evaluations = 0;
  int processes = 1;                // ranks that shared the run
  std::size_t local_sequences = 0;  // calibration sequences this rank forwarded
  // Tensor bytes of the checkpoint, and what this process read of them (Checkpoint::bytes_read).
  std::uint64_t checkpoint_bytes = 0, checkpoint_bytes_read = 0;
};

// Where an interrupted run keeps its finished layers: "<out>.partial/".
std::filesystem::path partial_dir_for(const std::filesystem::path& out);

// Runs the extraction and writes `options.out` (temporary name, renamed when complete; the
// partial directory is removed then). Distributed, every rank calls it with the same options;
// rank 0 writes and its summary holds the file's content. Error codes: InvalidArgument (bad
// options, a resume whose settings differ), Malformed (checkpoint, tokenizer, ids, too little
// text), NonFinite (a non-finite barrier), WriteFailed (output not writable; names the path),
// DeviceOutOfMemory / DeviceFailure (the accelerator), PeerFailed (another rank failed; the
// finished layers stay resumable). Distributed messages start with "rank R of W: ".
hc::Result<ExtractSummary> run_extract(const ExtractOptions& options,
                                       const ExtractProgress& progress = {});

}  // namespace hc::native
