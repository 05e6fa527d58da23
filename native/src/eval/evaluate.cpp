// evaluate_models: streams each checkpoint over the sequences once, keeps only the final
// residual streams, then scores next-token predictions head by head, sequence by sequence.
#include "hc/native/evaluate.hpp"

#include <chrono>
#include <cmath>
#include <optional>

#include "hc/native/forward.hpp"
#include "hc/native/forward_ops.hpp"

namespace hc::native {
namespace {

hc::Error named(const std::filesystem::path& model, const hc::Error& error) {
  const std::string dir = model.string();
  if (error.message.rfind(dir, 0) == 0) return error;
  return hc::make_error(error.code, dir + ": " + error.message);
}

struct Scores {
  double nll = 0.0, kl = 0.0;
  std::int64_t agree = 0;
  std::vector<double> sequence_kl;
};

// Accumulates one sequence's scores from fp32 log-probabilities [T-1, V] (sums in fp64): the
// model's, and the reference's (undefined for the reference itself).
void score(const at::Tensor& logp, const at::Tensor& reference,
           const std::vector<std::int32_t>& ids, Scores& scores) {
  std::vector<int64_t> next(ids.begin() + 1, ids.end());
  const at::Tensor target =
      at::tensor(next, at::TensorOptions().dtype(at::kLong)).to(logp.device()).unsqueeze(1);
  scores.nll -= logp.gather(1, target).sum(at::kDouble).item<double>();
  if (!reference.defined()) return;
  const double kl = (reference.exp() * (reference - logp)).sum(at::kDouble).item<double>();
  scores.kl += kl;
  scores.sequence_kl.push_back(kl);
  scores.agree += (reference.argmax(-1) == logp.argmax(-1)).sum().item<int64_t>();
}

struct Run {
  ForwardModel model;
  std::vector<at::Tensor> hidden;  // final residual stream per sequence
  double seconds = 0.0;
};

hc::Result<Run> run_model(const std::filesystem::path& dir,
                          const std::vector<std::vector<std::int32_t>>& sequences,
                          at::Device device, const std::function<void(int, int)>& progress) {
  auto model = ForwardModel::open(dir, device);
  if (!model.ok()) return named(dir, model.error());
  const int layers = static_cast<int>(model->spec().layers.size());
  const auto start = std::chrono::steady_clock::now();
  auto hidden = model->run_sequences(sequences, {}, [&](int l) {
    if (progress) progress(l + 1, layers);
  });
  if (!hidden.ok()) return named(dir, hidden.error());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Run{std::move(*model), std::move(*hidden), seconds};
}

std::size_t predicted_tokens(const std::vector<std::vector<std::int32_t>>& sequences) {
  std::size_t tokens = 0;
  for (const auto& s : sequences) tokens += s.size() - 1;
  return tokens;
}

}  // namespace

struct Evaluator::State {
  std::filesystem::path dir;
  std::vector<std::vector<std::int32_t>> sequences;
  at::Device device = at::Device(at::kCPU);
  std::optional<Run> reference;
  ModelEvaluation own;
};

Evaluator::Evaluator(std::unique_ptr<State> state) : m_state(std::move(state)) {}
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;
Evaluator::~Evaluator() = default;

const ModelEvaluation& Evaluator::reference() const {
  return m_state->own;
}

hc::Result<Evaluator> Evaluator::open(const std::filesystem::path& reference,
                                      std::vector<std::vector<std::int32_t>> sequences,
                                      at::Device device,
                                      const std::function<void(int, int)>& progress) {
  for (const auto& s : sequences) {
    if (s.size() < 2) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            "eval: every sequence needs at least two tokens");
    }
  }
  if (sequences.empty()) return hc::make_error(hc::ErrorCode::InvalidArgument, "eval: no tokens");
  auto state = std::make_unique<State>();
  state->dir = reference;
  state->sequences = std::move(sequences);
  state->device = device;
  auto run = run_model(reference, state->sequences, device, progress);
  if (!run.ok()) return run.error();
  state->reference.emplace(std::move(*run));

  Scores scores;
  try {
    const detail::LayerWeightScope heads;  // lm_head decoded once
    for (std::size_t s = 0; s < state->sequences.size(); ++s) {
      const auto& ids = state->sequences[s];
      const int64_t t = static_cast<int64_t>(ids.size());
      auto logits = state->reference->model.head(state->reference->hidden[s].narrow(0, 0, t - 1));
      if (!logits.ok()) return named(reference, logits.error());
      score(at::log_softmax(logits->to(at::kFloat), -1), {}, ids, scores);
    }
  } catch (...) {
    return error_from_exception(std::current_exception(), reference.string() + ": scoring");
  }
  const std::size_t tokens = predicted_tokens(state->sequences);
  state->own.model = reference.string();
  state->own.tokens = tokens;
  state->own.nll = scores.nll / double(tokens);
  state->own.perplexity = std::exp(state->own.nll);
  state->own.seconds = state->reference->seconds;
  state->own.sequence_kl.assign(state->sequences.size(), 0.0);
  for (const auto& s : state->sequences) state->own.sequence_tokens.push_back(s.size() - 1);
  return Evaluator(std::move(state));
}

hc::Result<ModelEvaluation> Evaluator::evaluate(
    const std::filesystem::path& dir, const std::function<void(int, int)>& progress) const {
  const State& st = *m_state;
  auto run = run_model(dir, st.sequences, st.device, progress);
  if (!run.ok()) return run.error();
  const ForwardModel& reference = st.reference->model;
  if (run->model.spec().vocab_size != reference.spec().vocab_size) {
    return hc::make_error(hc::ErrorCode::Malformed,
                          dir.string() + ": vocabulary size " +
                              std::to_string(run->model.spec().vocab_size) + " differs from " +
                              st.dir.string() + "'s " +
                              std::to_string(reference.spec().vocab_size));
  }
  Scores scores;
  try {
    const detail::LayerWeightScope heads;  // both lm_heads decoded once
    for (std::size_t s = 0; s < st.sequences.size(); ++s) {
      const auto& ids = st.sequences[s];
      const int64_t t = static_cast<int64_t>(ids.size());
      auto logits = run->model.head(run->hidden[s].narrow(0, 0, t - 1));
      if (!logits.ok()) return named(dir, logits.error());
      auto ref_logits = reference.head(st.reference->hidden[s].narrow(0, 0, t - 1));
      if (!ref_logits.ok()) return named(st.dir, ref_logits.error());
      score(at::log_softmax(logits->to(at::kFloat), -1),
            at::log_softmax(ref_logits->to(at::kFloat), -1), ids, scores);
    }
  } catch (...) {
    return error_from_exception(std::current_exception(), dir.string() + ": scoring");
  }
  const std::size_t tokens = predicted_tokens(st.sequences);
  ModelEvaluation result;
  result.model = dir.string();
  result.tokens = tokens;
  result.nll = scores.nll / double(tokens);
  result.perplexity = std::exp(result.nll);
  result.kl = scores.kl / double(tokens);
  result.top1_agreement = double(scores.agree) / double(tokens);
  result.seconds = run->seconds;
  result.sequence_kl = std::move(scores.sequence_kl);
  for (const auto& s : st.sequences) result.sequence_tokens.push_back(s.size() - 1);
  return result;
}

hc::Result<std::vector<ModelEvaluation>> evaluate_models(
    const std::vector<std::filesystem::path>& models,
    const std::vector<std::vector<std::int32_t>>& sequences, at::Device device,
    const EvalProgress& progress) {
  if (models.empty()) return hc::make_error(hc::ErrorCode::InvalidArgument, "eval: no models");
  auto model_progress = [&](std::size_t m) {
    return [&progress, m](int done, int layers) {
      if (progress) progress(m, done, layers);
    };
  };
  auto evaluator = Evaluator::open(models.front(), sequences, device, model_progress(0));
  if (!evaluator.ok()) return evaluator.error();
  std::vector<ModelEvaluation> out{evaluator->reference()};
  for (std::size_t m = 1; m < models.size(); ++m) {
    auto result = evaluator->evaluate(models[m], model_progress(m));
    if (!result.ok()) return result.error();
    out.push_back(*result);
  }
  return out;
}

}  // namespace hc::native
