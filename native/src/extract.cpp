// run_extract: calibration tokens -> layer-streamed forward -> per MoE layer statistics, pair
// barriers, stage-1 candidate triangles and stage-2 triplet barriers -> statistics file.
// Finished layers are kept in "<out>.partial/" so --resume can continue after a kill.
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
#include "hc/native/cli_common.hpp"
#include "hc/native/file_io.hpp"
#include "hc/native/forward.hpp"

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
          {"config", hc::xxh64_tag({reinterpret_cast<const std::uint8_t*>(config.data()),
                                    config.size()})},
          {"token_ids", hc::xxh64_tag(ids)},
          {"seq_len", options.seq_len},
          {"sequences", sequences.size()},
          {"barrier", barrier_name(options.barrier)},
          {"max_triangles", options.max_triangles},
          {"candidate_quantile", options.candidate_quantile},
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

// Test hook simulating `kill -9` after N layers have been committed (resume tests only).
void maybe_simulate_kill(std::size_t committed) {
  const char* limit = std::getenv("HC_EXTRACT_KILL_AFTER_LAYERS");
  if (limit != nullptr && committed >= static_cast<std::size_t>(std::atoll(limit))) {
    std::_Exit(137);
  }
}

}  // namespace

fs::path partial_dir_for(const fs::path& out) {
  return fs::path(out.string() + ".partial");
}

hc::Result<ExtractSummary> run_extract(const ExtractOptions& requested,
                                       const ExtractProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  ExtractOptions options = requested;
  if (options.tokens == 0) return error(hc::ErrorCode::InvalidArgument, "--tokens must be positive");
  if (options.seq_len == 1) return error(hc::ErrorCode::InvalidArgument, "--seq-len must be at least 2");
  if (options.max_triangles < 0) {
    return error(hc::ErrorCode::InvalidArgument, "--max-triangles must be non-negative");
  }
  if (options.out.empty()) return error(hc::ErrorCode::InvalidArgument, "--out is required");

  auto opened = ForwardModel::open(options.model, options.device);
  if (!opened.ok()) {
    const std::string dir = options.model.string();
    const std::string& m = opened.error().message;
    return error(opened.error().code, m.rfind(dir, 0) == 0 ? m : dir + ": " + m);
  }
  const ForwardModel& model = *opened;
  const MoeModelSpec& spec = model.spec();
  if (options.seq_len == 0) options.seq_len = default_sequence_length(spec);
  if (spec.moe_layers().empty()) {
    return error(hc::ErrorCode::Malformed,
                 options.model.string() + ": the checkpoint has no MoE layers");
  }
  auto stream = read_token_stream(options.model, options.source,
                                  static_cast<std::size_t>(spec.vocab_size));
  if (!stream.ok()) return stream.error();
  const auto sequences =
      split_sequences(stream->ids, options.seq_len, options.tokens, options.seq_len);
  if (sequences.empty()) {
    const std::string& file =
        options.source.text_path.empty() ? options.source.ids_path : options.source.text_path;
    return error(hc::ErrorCode::Malformed,
                 file + ": " + std::to_string(stream->ids.size()) +
                     " tokens, fewer than one calibration sequence of " +
                     std::to_string(options.seq_len) + " (--seq-len)");
  }

  // The output's directory must exist and be writable before hours of work begin.
  const fs::path out_dir = options.out.has_parent_path() ? options.out.parent_path() : fs::path(".");
  if (!fs::is_directory(out_dir) || ::access(out_dir.c_str(), W_OK) != 0) {
    return error(hc::ErrorCode::WriteFailed,
                 options.out.string() + ": cannot write here (directory " + out_dir.string() +
                     " missing or not writable)");
  }
  if (fs::is_directory(options.out)) {
    return error(hc::ErrorCode::WriteFailed, options.out.string() + ": is a directory");
  }

  // Resume bookkeeping.
  const fs::path partial = partial_dir_for(options.out);
  const nlohmann::json print = fingerprint(options, model, sequences);
  std::string created = created_now();
  std::map<int, hc::LayerStats> finished;
  std::error_code ec;
  if (options.resume && fs::exists(partial / "run.json")) {
    std::vector<std::uint8_t> bytes;
    if (auto e = read_file(partial / "run.json", bytes)) return error(hc::ErrorCode::Malformed, e->message);
    const auto saved = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (saved.is_discarded() || !saved.contains("fingerprint") ||
        saved["fingerprint"] != print) {
      return error(hc::ErrorCode::InvalidArgument,
                   partial.string() + ": the interrupted run used other settings, model or "
                   "tokens; rerun without --resume to start over");
    }
    created = saved.value("created", created);
    for (int layer : spec.moe_layers()) {
      const fs::path file = layer_file(partial, layer);
      if (!fs::exists(file)) continue;
      if (auto e = read_file(file, bytes)) return error(hc::ErrorCode::Malformed, e->message);
      auto stats = hc::read_stats(bytes, file.string());
      if (!stats.ok() || stats->layers.size() != 1 || stats->layers[0].layer != layer) {
        return error(hc::ErrorCode::Corrupt,
                     file.string() + ": unreadable partial layer; rerun without --resume");
      }
      finished.emplace(layer, std::move(stats->layers[0]));
    }
  } else {
    remove_tree(partial, ec);
  }
  const std::size_t resumed = finished.size();

  auto ensure_partial = [&]() -> std::optional<hc::Error> {
    if (fs::exists(partial / "run.json")) return std::nullopt;
    fs::create_directories(partial, ec);
    const nlohmann::json run = {{"fingerprint", print}, {"created", created}};
    if (auto e = write_text_atomic(partial / "run.json", run.dump(2))) {
      return error(hc::ErrorCode::WriteFailed, e->message);
    }
    return std::nullopt;
  };

  // kl_full compares with the unmodified model's next-token distributions.
  FullModelContext full;
  if (options.barrier == BarrierKind::KlFull) {
    full.model = &model;
    for (const auto& s : sequences) full.lengths.push_back(static_cast<int64_t>(s.size()));
    auto hidden = model.run_sequences(sequences);
    if (!hidden.ok()) return hidden.error();
    auto logits = model.head(at::cat(*hidden, 0));
    if (!logits.ok()) return logits.error();
    full.base_logp = at::log_softmax(*logits, -1);
  }

  const std::vector<int> moe_layers = spec.moe_layers();
  ExtractSummary summary;
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  std::optional<hc::Error> failure;
  std::size_t layer_position = 0;
  const LayerCallback observe = [&](const LayerObservation& obs) {
    if (!obs.moe || failure) return;
    ++layer_position;
    if (finished.count(obs.layer)) return;
    const std::string where = "layer " + std::to_string(obs.layer) + " (" +
                              std::to_string(layer_position) + "/" +
                              std::to_string(moe_layers.size()) + ")";
    auto t0 = Clock::now();
    auto barriers = LayerBarriers::create(model, obs, options.barrier, &full);
    if (!barriers.ok()) {
      failure = barriers.error();
      return;
    }
    hc::LayerStats stats;
    stats.layer = obs.layer;
    barriers->fill_expert_stats(stats);
    summary.stats_seconds += since(t0);
    t0 = Clock::now();
    const int e = barriers->experts();
    std::vector<std::vector<int>> pairs;
    for (int i = 0; i < e; ++i)
      for (int j = i + 1; j < e; ++j) pairs.push_back({i, j});
    std::size_t done = 0;
    auto report = [&](const std::string& stage, std::size_t total) {
      return [&, stage, total](std::size_t n) {
        done += n;
        if (progress) progress(where + " " + stage, done, total);
      };
    };
    auto pair_barriers = barriers->barriers(pairs, report("pairs", pairs.size()));
    if (!pair_barriers.ok()) {
      failure = pair_barriers.error();
      return;
    }
    summary.pair_seconds += since(t0);
    const std::uint64_t pair_evals = barriers->merged_token_evaluations();
    summary.pair_evaluations += pair_evals;
    t0 = Clock::now();
    for (const auto& p : pairs) stats.edges.push_back({p[0], p[1]});
    stats.edge_barrier = *pair_barriers;
    std::vector<double> values(pair_barriers->begin(), pair_barriers->end());
    const double tau = values.empty() ? 0.0 : hc::quantile(values, options.candidate_quantile);
    const auto triples = candidate_triangles(e, *pair_barriers, tau, options.max_triangles);
    done = 0;
    auto triple_barriers = barriers->barriers(triples, report("triangles", triples.size()));
    if (!triple_barriers.ok()) {
      failure = triple_barriers.error();
      return;
    }
    summary.triangle_seconds += since(t0);
    summary.triangle_evaluations += barriers->merged_token_evaluations() - pair_evals;
    for (const auto& t : triples) stats.triangles.push_back({t[0], t[1], t[2]});
    stats.triangle_barrier = *triple_barriers;
    if (auto valid = hc::validate_layer(stats); !valid.ok()) {
      failure = error(hc::ErrorCode::NumericalFailure,
                      where + ": " + valid.error().message + " (non-finite barrier?)");
      return;
    }
    // Commit the layer for --resume.
    if (auto e2 = ensure_partial()) {
      failure = *e2;
      return;
    }
    hc::StatsFile one;
    one.layers.push_back(stats);
    auto bytes = hc::write_stats(one);
    if (!bytes.ok()) {
      failure = bytes.error();
      return;
    }
    if (auto e3 = write_file_atomic(layer_file(partial, obs.layer), *bytes)) {
      failure = error(hc::ErrorCode::WriteFailed, e3->message);
      return;
    }
    finished.emplace(obs.layer, std::move(stats));
    maybe_simulate_kill(finished.size() - resumed);
  };
  // Every layer runs (the residual stream needs them); finished layers only skip the barriers.
  auto ran = model.run_sequences(sequences, observe);
  if (failure) return *failure;
  if (!ran.ok()) return ran.error();

  summary.layers_resumed = resumed;
  hc::StatsFile& stats = summary.stats;
  for (auto& [layer, layer_stats] : finished) stats.layers.push_back(std::move(layer_stats));
  std::size_t used = 0;
  for (const auto& s : sequences) used += s.size();
  stats.model = fs::absolute(options.model).lexically_normal().filename().string();
  if (stats.model.empty()) stats.model = fs::absolute(options.model).parent_path().filename().string();
  stats.family = family_model_type(spec.family);
  stats.num_experts = spec.num_experts;
  stats.top_k = spec.top_k;
  stats.hidden_size = spec.hidden_size;
  stats.moe_intermediate_size = spec.moe_intermediate_size;
  stats.tokens = used;
  stats.barrier = barrier_name(options.barrier);
  stats.metadata["calibration"] = stream->description + "; " + std::to_string(sequences.size()) +
                                  " sequences of " + std::to_string(options.seq_len) + " tokens";
  stats.metadata["producer"] = std::string("hodgecover ") + kVersion;
  stats.metadata["created"] = created;
  stats.metadata["max_triangles"] = std::to_string(options.max_triangles);
  auto bytes = hc::write_stats(stats);
  if (!bytes.ok()) return bytes.error();
  if (auto e = write_file_atomic(options.out, *bytes)) {
    return error(hc::ErrorCode::WriteFailed, e->message);
  }
  remove_tree(partial, ec);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace hc::native
