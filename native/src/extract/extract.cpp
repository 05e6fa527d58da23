// run_extract: calibration tokens -> layer-streamed forward -> per MoE layer statistics, pair
// barriers, stage-1 candidate triangles and stage-2 triplet barriers -> statistics file.
// Finished layers are kept in "<out>.partial/" so a resumed run can continue after a kill.
#include "hc/native/extract.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "hc/complex.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/forward_ops.hpp"
#include "hc/native/text.hpp"
#include "hc/native/torch_errors.hpp"

namespace hc::native {
namespace {

namespace fs = std::filesystem;

hc::Error error(hc::ErrorCode code, const std::string& message) {
  return hc::make_error(code, message);
}

// UTC creation time: SOURCE_DATE_EPOCH when set (reproducible outputs), else now.
std::string created_now() {
  std::time_t when = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) when = std::atoll(epoch);
  char text[32];
  std::tm utc{};
  gmtime_r(&when, &utc);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// kl_lens: how the distributions were evaluated (format 1.2 metadata): `lens_support` and,
// for top-m, its parameters; empty for the other barriers. Also part of the fingerprint.
std::map<std::string, std::string> lens_metadata(const ExtractOptions& options) {
  if (options.barrier != BarrierKind::KlLens) return {};
  std::map<std::string, std::string> m{{"lens_support", lens_support_name(options.lens.kind)}};
  if (options.lens.kind == LensSupport::TopM) {
    m["lens_tail_mass"] = strprintf("%g", options.lens.tail_mass);
    m["lens_max_support"] = std::to_string(options.lens.max_support);
    m["lens_tail_samples"] = std::to_string(options.lens.tail_samples);
  }
  return m;
}

// Everything that determines the output's content; a resumed run must match it exactly.
nlohmann::json fingerprint(const ExtractOptions& options, const ForwardModel& model,
                           const std::vector<std::vector<std::int32_t>>& sequences) {
  std::vector<std::uint8_t> ids;
  for (const auto& s : sequences) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    ids.insert(ids.end(), p, p + s.size() * sizeof(std::int32_t));
  }
  const std::string config = model.checkpoint().config().dump();
  return {{"producer", kVersion},
          {"model", fs::absolute(options.model).lexically_normal().string()},
          {"config",
           hc::xxh64_tag({reinterpret_cast<const std::uint8_t*>(config.data()), config.size()})},
          {"token_ids", hc::xxh64_tag(ids)},
          {"seq_len", options.seq_len},
          {"sequences", sequences.size()},
          {"barrier", barrier_name(options.barrier)},
          {"compute_dtype", compute_dtype_name(options.compute_dtype)},
          {"max_triangles", options.max_triangles},
          {"candidate_quantile", options.candidate_quantile},
          {"router_sample", options.router_sample},
          {"lens", lens_metadata(options)},
          {"device", options.device.is_cuda() ? "cuda" : "cpu"}};
}

fs::path layer_file(const fs::path& partial, int layer) {
  return partial / ("layer-" + std::to_string(layer) + ".hcstats");
}

// Stage 1: triples whose three pair barriers are all <= tau, by ascending largest pair
// barrier (ties by index), at most `limit`.
std::vector<std::vector<int>> candidate_triangles(int experts, const std::vector<float>& pair,
                                                  double tau, int limit) {
  auto index = [experts](int i, int j) {  // position of (i, j), i < j, in row-major pair order
    return static_cast<std::size_t>(i * experts - i * (i + 1) / 2 + (j - i - 1));
  };
  std::vector<std::pair<float, std::array<int, 3>>> found;
  for (int i = 0; i < experts; ++i) {
    for (int j = i + 1; j < experts; ++j) {
      const float bij = pair[index(i, j)];
      if (bij > tau) continue;
      for (int k = j + 1; k < experts; ++k) {
        const float worst = std::max({bij, pair[index(i, k)], pair[index(j, k)]});
        if (worst <= tau) found.push_back({worst, {i, j, k}});
      }
    }
  }
  std::sort(found.begin(), found.end());
  if (found.size() > static_cast<std::size_t>(limit)) found.resize(static_cast<std::size_t>(limit));
  std::vector<std::vector<int>> out;
  for (const auto& [worst, t] : found) out.push_back({t[0], t[1], t[2]});
  std::sort(out.begin(), out.end());  // written in index order
  return out;
}

}  // namespace

fs::path partial_dir_for(const fs::path& out) {
  return fs::path(out.string() + ".partial");
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

hc::Status check_options(const ExtractOptions& options) {
  if (options.tokens == 0) return error(hc::ErrorCode::InvalidArgument, "tokens must be positive");
  if (options.seq_len == 1) {
    return error(hc::ErrorCode::InvalidArgument, "sequence length must be at least 2");
  }
  if (options.max_triangles < 0) {
    return error(hc::ErrorCode::InvalidArgument, "max triangles must be non-negative");
  }
  if (options.out.empty()) return error(hc::ErrorCode::InvalidArgument, "no output file given");
  return hc::Ok{};
}

hc::Result<ForwardModel> open_model(const ExtractOptions& options) {
  auto opened = ForwardModel::open(options.model, options.device);
  if (!opened.ok()) {
    const std::string dir = options.model.string();
    const std::string& m = opened.error().message;
    return error(opened.error().code, m.rfind(dir, 0) == 0 ? m : dir + ": " + m);
  }
  if (opened->spec().moe_layers().empty()) {
    return error(hc::ErrorCode::Malformed,
                 options.model.string() + ": the checkpoint has no MoE layers");
  }
  return opened;
}

struct Calibration {
  TokenStream stream;
  std::vector<std::vector<std::int32_t>> sequences;
};

// The calibration tokens, cut into whole sequences of options.seq_len.
hc::Result<Calibration> read_calibration(const ExtractOptions& options, const MoeModelSpec& spec) {
  auto stream =
      read_token_stream(options.model, options.source, static_cast<std::size_t>(spec.vocab_size));
  if (!stream.ok()) return stream.error();
  Calibration calibration{std::move(stream).value(), {}};
  calibration.sequences =
      split_sequences(calibration.stream.ids, options.seq_len, options.tokens, options.seq_len);
  if (calibration.sequences.empty()) {
    const std::string& file =
        options.source.text_path.empty() ? options.source.ids_path : options.source.text_path;
    return error(hc::ErrorCode::Malformed, file + ": " +
                                               std::to_string(calibration.stream.ids.size()) +
                                               " tokens, fewer than one calibration sequence of " +
                                               std::to_string(options.seq_len));
  }
  return calibration;
}

// The output's directory must exist and be writable before hours of work begin.
hc::Status check_output(const fs::path& out) {
  const fs::path out_dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(out_dir) || ::access(out_dir.c_str(), W_OK) != 0) {
    return error(hc::ErrorCode::WriteFailed, out.string() + ": cannot write here (directory " +
                                                 out_dir.string() + " missing or not writable)");
  }
  if (fs::is_directory(out)) {
    return error(hc::ErrorCode::WriteFailed, out.string() + ": is a directory");
  }
  return hc::Ok{};
}

// The finished layers of a run, one statistics file each in "<out>.partial/", with run.json
// holding the fingerprint a resumed run must match.
class PartialRun {
 public:
  PartialRun(fs::path dir, nlohmann::json fingerprint)
      : m_dir(std::move(dir)), m_fingerprint(std::move(fingerprint)), m_created(created_now()) {}

  // The layers an interrupted run with the same fingerprint finished.
  hc::Result<std::map<int, hc::LayerStats>> load(const std::vector<int>& layers) {
    std::map<int, hc::LayerStats> finished;
    if (!fs::exists(m_dir / "run.json")) return finished;
    std::vector<std::uint8_t> bytes;
    if (hc::Status e = read_file(m_dir / "run.json", bytes); !e.ok()) {
      return error(hc::ErrorCode::Malformed, e.error().message);
    }
    const auto saved = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (saved.is_discarded() || !saved.contains("fingerprint") ||
        saved["fingerprint"] != m_fingerprint) {
      return error(hc::ErrorCode::InvalidArgument,
                   m_dir.string() +
                       ": the interrupted run used other settings, model or tokens; start over "
                       "instead of resuming");
    }
    m_created = saved.value("created", m_created);
    for (int layer : layers) {
      const fs::path file = layer_file(m_dir, layer);
      if (!fs::exists(file)) continue;
      if (hc::Status e = read_file(file, bytes); !e.ok()) {
        return error(hc::ErrorCode::Malformed, e.error().message);
      }
      auto stats = hc::read_stats(bytes, file.string());
      if (!stats.ok() || stats->layers.size() != 1 || stats->layers[0].layer != layer) {
        return error(hc::ErrorCode::Corrupt,
                     file.string() + ": unreadable partial layer; start over instead of resuming");
      }
      finished.emplace(layer, std::move(stats->layers[0]));
    }
    return finished;
  }

  void discard() {
    std::error_code ec;
    remove_tree(m_dir, ec);
  }

  // Writes one finished layer (atomically) so a later run can resume after it.
  hc::Status commit(const hc::LayerStats& stats) {
    if (!fs::exists(m_dir / "run.json")) {
      std::error_code ec;
      fs::create_directories(m_dir, ec);
      if (ec) {
        return error(hc::ErrorCode::WriteFailed,
                     m_dir.string() + ": cannot create directory: " + ec.message());
      }
      const nlohmann::json run = {{"fingerprint", m_fingerprint}, {"created", m_created}};
      HC_TRY_STATUS(write_text_atomic(m_dir / "run.json", run.dump(2)));
    }
    hc::StatsFile one;
    one.layers.push_back(stats);
    auto bytes = hc::write_stats(one);
    if (!bytes.ok()) return bytes.error();
    return write_file_atomic(layer_file(m_dir, stats.layer), *bytes);
  }

  const std::string& created() const { return m_created; }

 private:
  fs::path m_dir;
  nlohmann::json m_fingerprint;
  std::string m_created;
};

// The contiguous block of sequences rank `rank` of `world` forwards (sizes differ by at most one).
std::vector<std::vector<std::int32_t>> local_block(
    const std::vector<std::vector<std::int32_t>>& sequences, int rank, int world) {
  const std::size_t n = sequences.size(), w = static_cast<std::size_t>(world);
  const std::size_t r = static_cast<std::size_t>(rank);
  return {sequences.begin() + static_cast<std::ptrdiff_t>(n * r / w),
          sequences.begin() + static_cast<std::ptrdiff_t>(n * (r + 1) / w)};
}

// kl_full compares with the unmodified model's next-token distributions.
hc::Status prepare_full_context(const ForwardModel& model,
                                const std::vector<std::vector<std::int32_t>>& sequences,
                                FullModelContext& full) {
  full.model = &model;
  for (const auto& s : sequences) full.lengths.push_back(static_cast<int64_t>(s.size()));
  auto hidden = model.run_sequences(sequences);
  if (!hidden.ok()) return hidden.error();
  auto logits = model.head(at::cat(*hidden, 0));
  if (!logits.ok()) return logits.error();
  full.base_logp = at::log_softmax(*logits, -1);
  return hc::Ok{};
}

// The LM head and final norm, read once per run and shared by every layer's barriers.
struct Head {
  at::Tensor weight, norm;
};

// Statistics, pair barriers, directed substitution barriers, candidate triangles and their
// barriers, and leave-one-out barriers of one MoE layer.
hc::Result<hc::LayerStats> extract_layer(const ForwardModel& model, const LayerObservation& obs,
                                         const ExtractOptions& options, const Head& head,
                                         std::int64_t token_offset, const FullModelContext* full,
                                         Collective& collective, const std::string& where,
                                         const ExtractProgress& progress, ExtractSummary& summary) {
  auto t0 = Clock::now();
  auto barriers = LayerBarriers::create(
      model, obs, options.barrier, full,
      BarrierOptions{options.compute_dtype, &collective, options.router_sample, token_offset,
                     options.lens, head.weight, head.norm});
  if (!barriers.ok()) return barriers.error();
  hc::LayerStats stats;
  stats.layer = obs.layer;
  HC_TRY_STATUS(barriers->fill_expert_stats(stats));
  summary.stats_seconds += since(t0);

  std::size_t done = 0;
  auto report = [&](const std::string& stage, std::size_t total) {
    return [&, stage, total](std::size_t n) {
      done += n;
      if (progress) progress(where + " " + stage, done, total);
    };
  };
  t0 = Clock::now();
  const int e = barriers->experts();
  std::vector<std::vector<int>> pairs;
  for (int i = 0; i < e; ++i)
    for (int j = i + 1; j < e; ++j) pairs.push_back({i, j});
  auto pair_barriers = barriers->barriers(pairs, report("pairs", pairs.size()));
  if (!pair_barriers.ok()) return pair_barriers.error();
  summary.pair_seconds += since(t0);
  const std::uint64_t pair_evals = barriers->merged_token_evaluations();
  summary.pair_evaluations += pair_evals;
  for (const auto& p : pairs) stats.edges.push_back({p[0], p[1]});
  stats.edge_barrier = *pair_barriers;

  t0 = Clock::now();
  done = 0;
  const auto ordered = static_cast<std::size_t>(e) * static_cast<std::size_t>(e - 1);
  auto substitutions = barriers->substitutions(report("substitutions", ordered));
  if (!substitutions.ok()) return substitutions.error();
  stats.substitution = std::move(*substitutions);
  summary.substitution_seconds += since(t0);
  const std::uint64_t substitution_evals = barriers->merged_token_evaluations() - pair_evals;
  summary.substitution_evaluations += substitution_evals;

  t0 = Clock::now();
  std::vector<double> values(pair_barriers->begin(), pair_barriers->end());
  const double tau = values.empty() ? 0.0 : hc::quantile(values, options.candidate_quantile);
  const auto triples = candidate_triangles(e, *pair_barriers, tau, options.max_triangles);
  done = 0;
  auto triple_barriers = barriers->barriers(triples, report("triangles", triples.size()));
  if (!triple_barriers.ok()) return triple_barriers.error();
  summary.triangle_seconds += since(t0);
  summary.triangle_evaluations +=
      barriers->merged_token_evaluations() - pair_evals - substitution_evals;
  for (const auto& t : triples) stats.triangles.push_back({t[0], t[1], t[2]});
  stats.triangle_barrier = *triple_barriers;

  t0 = Clock::now();
  done = 0;
  auto loo = barriers->leave_one_out(report("leave-one-out", static_cast<std::size_t>(e)));
  if (!loo.ok()) return loo.error();
  stats.loo = *loo;
  summary.loo_seconds += since(t0);
  if (auto valid = hc::validate_layer(stats); !valid.ok()) {
    return error(hc::ErrorCode::NonFinite,
                 where + ": " + valid.error().message + "; nothing was written");
  }
  return stats;
}

// The whole file from the finished layers, with the run's description.
hc::StatsFile assemble_stats(std::map<int, hc::LayerStats>& finished, const ExtractOptions& options,
                             const MoeModelSpec& spec, const Calibration& calibration,
                             const std::string& created) {
  hc::StatsFile stats;
  for (auto& [layer, layer_stats] : finished) stats.layers.push_back(std::move(layer_stats));
  std::size_t used = 0;
  for (const auto& s : calibration.sequences) used += s.size();
  stats.model = fs::absolute(options.model).lexically_normal().filename().string();
  if (stats.model.empty()) {
    stats.model = fs::absolute(options.model).parent_path().filename().string();
  }
  stats.family = family_model_type(spec.family);
  stats.num_experts = spec.num_experts;
  stats.top_k = spec.top_k;
  stats.hidden_size = spec.hidden_size;
  stats.moe_intermediate_size = spec.moe_intermediate_size;
  stats.tokens = used;
  stats.barrier = barrier_name(options.barrier);
  stats.metadata["calibration"] = calibration.stream.description + "; " +
                                  std::to_string(calibration.sequences.size()) + " sequences of " +
                                  std::to_string(options.seq_len) + " tokens";
  stats.metadata["producer"] = std::string("hodgecover ") + kVersion;
  stats.metadata["created"] = created;
  stats.metadata["max_triangles"] = std::to_string(options.max_triangles);
  stats.metadata["compute_dtype"] = compute_dtype_name(options.compute_dtype);
  for (const auto& [key, value] : lens_metadata(options)) stats.metadata[key] = value;
  return stats;
}

// What every rank holds before the layers start.
struct Setup {
  ExtractOptions options;
  std::optional<ForwardModel> model;
  std::optional<Calibration> calibration;
  std::optional<PartialRun> partial;
  std::map<int, hc::LayerStats> finished;  // rank 0: the layers an interrupted run kept
};

hc::Status prepare(const ExtractOptions& requested, const Collective& collective, Setup& setup) {
  setup.options = requested;
  ExtractOptions& options = setup.options;
  HC_TRY_STATUS(check_options(options));
  auto opened = open_model(options);
  if (!opened.ok()) return opened.error();
  setup.model.emplace(std::move(opened).value());
  const MoeModelSpec& spec = setup.model->spec();
  if (options.seq_len == 0) options.seq_len = default_sequence_length(spec);
  options.lens.kind = resolve_lens_support(options.lens, spec.vocab_size);
  auto calibration = read_calibration(options, spec);
  if (!calibration.ok()) return calibration.error();
  setup.calibration.emplace(std::move(calibration).value());
  const std::size_t sequences = setup.calibration->sequences.size();
  if (sequences < static_cast<std::size_t>(collective.world())) {
    return error(hc::ErrorCode::InvalidArgument,
                 std::to_string(sequences) + " calibration sequences cannot be shared by " +
                     std::to_string(collective.world()) +
                     " ranks; give more --tokens or start fewer ranks");
  }
  if (collective.rank() != 0) return hc::Ok{};  // only rank 0 writes
  HC_TRY_STATUS(check_output(options.out));
  setup.partial.emplace(partial_dir_for(options.out),
                        fingerprint(options, *setup.model, setup.calibration->sequences));
  if (options.resume) {
    auto loaded = setup.partial->load(spec.moe_layers());
    if (!loaded.ok()) return loaded.error();
    setup.finished = std::move(loaded).value();
  } else {
    setup.partial->discard();
  }
  return hc::Ok{};
}

// Stops the forward pass from inside a layer callback once a layer has failed.
struct StopForward {};

hc::Result<ExtractSummary> extract_with(const ExtractOptions& requested, Collective& collective,
                                        const ExtractProgress& progress) {
  const auto start = Clock::now();
  const bool writer = collective.rank() == 0;
  // Every rank prepares; they agree before any waits on a rank that gave up.
  Setup setup;
  const hc::Status prepared = prepare(requested, collective, setup);
  HC_TRY_STATUS(collective.agree(prepared.ok(), "opening the model, tokens and output"));
  if (!prepared.ok()) return prepared.error();
  const ExtractOptions& options = setup.options;
  const ForwardModel& model = *setup.model;
  const MoeModelSpec& spec = model.spec();
  const Calibration& calibration = *setup.calibration;
  std::map<int, hc::LayerStats>& finished = setup.finished;

  // Rank 0 tells the others which layers an interrupted run already finished.
  std::vector<double> kept(spec.layers.size(), 0.0);
  for (const auto& [layer, stats] : finished) kept[static_cast<std::size_t>(layer)] = 1.0;
  HC_TRY_STATUS(collective.sum(kept, "sharing the layers to resume"));
  const std::size_t resumed = static_cast<std::size_t>(
      std::count_if(kept.begin(), kept.end(), [](double k) { return k > 0; }));
  const std::vector<int> moe_layers = spec.moe_layers();
  const auto local = local_block(calibration.sequences, collective.rank(), collective.world());
  std::int64_t token_offset = 0;  // global position of this rank's first token
  for (std::size_t s = 0, n = calibration.sequences.size(),
                   w = static_cast<std::size_t>(collective.world()),
                   r = static_cast<std::size_t>(collective.rank());
       s < n * r / w; ++s) {
    token_offset += static_cast<std::int64_t>(calibration.sequences[s].size());
  }

  FullModelContext full;
  if (options.barrier == BarrierKind::KlFull) {
    HC_TRY_STATUS(prepare_full_context(model, local, full));
  }

  Head head;
  const auto head_read = guard_torch("reading the LM head", [&] {
    // Held in the product dtype: every layer's barriers use it as it is.
    head.weight = detail::load_tensor(model.checkpoint(), head_name(spec), model.device())
                      .to(options.compute_dtype == ComputeDtype::Bf16 ? at::kBFloat16 : at::kFloat);
    head.norm = detail::load_tensor(model.checkpoint(), spec.final_norm, model.device());
    return true;
  });
  HC_TRY_STATUS(collective.agree(head_read.ok(), "reading the LM head"));
  if (!head_read.ok()) return head_read.error();

  ExtractSummary summary;
  summary.processes = collective.world();
  std::optional<hc::Error> failure;
  std::size_t layer_position = 0, committed_here = 0;
  const LayerCallback observe = [&](const LayerObservation& obs) {
    if (!obs.moe) return;
    ++layer_position;
    if (kept[static_cast<std::size_t>(obs.layer)] > 0.0) return;
    const std::string where = "layer " + std::to_string(obs.layer) + " (" +
                              std::to_string(layer_position) + "/" +
                              std::to_string(moe_layers.size()) + ")";
    auto stats = extract_layer(model, obs, options, head, token_offset, &full, collective, where,
                               progress, summary);
    if (!stats.ok()) {
      failure = stats.error();
      throw StopForward{};
    }
    const hc::Status committed = writer ? setup.partial->commit(*stats) : hc::Status(hc::Ok{});
    if (hc::Status agreed = collective.agree(committed.ok(), "keeping " + where); !agreed.ok()) {
      failure = agreed.error();
    } else if (!committed.ok()) {
      failure = committed.error();
    }
    if (failure) throw StopForward{};
    if (writer) finished.emplace(obs.layer, std::move(stats).value());
    ++committed_here;
    if (options.on_layer_committed) options.on_layer_committed(committed_here);
  };
  // Every layer runs (the residual stream needs them); finished layers only skip the barriers.
  auto ran = model.run_sequences(local, observe);
  if (failure) return *failure;
  if (!ran.ok()) return ran.error();

  summary.layers_resumed = resumed;
  hc::Status written = hc::Ok{};
  if (writer) {
    summary.stats = assemble_stats(finished, options, spec, calibration, setup.partial->created());
    if (collective.distributed()) {
      summary.stats.metadata["processes"] = std::to_string(collective.world());
    }
    auto bytes = hc::write_stats(summary.stats);
    written = bytes.ok() ? write_file_atomic(options.out, *bytes) : hc::Status(bytes.error());
    if (written.ok()) setup.partial->discard();
  }
  HC_TRY_STATUS(collective.agree(written.ok(), "writing " + options.out.string()));
  if (!written.ok()) return written.error();
  summary.seconds = since(start);
  summary.checkpoint_bytes = model.checkpoint().tensor_bytes();
  summary.checkpoint_bytes_read = model.checkpoint().bytes_read();
  return summary;
}

}  // namespace

hc::Result<ExtractSummary> run_extract(const ExtractOptions& requested,
                                       const ExtractProgress& progress) {
  const std::shared_ptr<Collective> collective =
      requested.collective ? requested.collective : Collective::single();
  auto result = extract_with(requested, *collective, progress);
  const std::string prefix = collective->prefix();
  if (!result.ok() && !prefix.empty() && result.error().message.rfind(prefix, 0) != 0) {
    return hc::make_error(result.error().code, prefix + result.error().message);
  }
  return result;
}

}  // namespace hc::native
