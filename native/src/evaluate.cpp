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
};

// Accumulates one sequence's scores from fp32 log-probabilities [T-1, V] (sums in fp64): the
// model's, and the reference's (undefined for the reference itself).
void score(const at::Tensor& logp, const at::Tensor& reference, const std::vector<std::int32_t>& ids,
           Scores& scores) {
  std::vector<int64_t> next(ids.begin() + 1, ids.end());
  const at::Tensor target =
      at::tensor(next, at::TensorOptions().dtype(at::kLong)).to(logp.device()).unsqueeze(1);
  scores.nll -= logp.gather(1, target).sum(at::kDouble).item<double>();
  if (!reference.defined()) return;
  scores.kl += (reference.exp() * (reference - logp)).sum(at::kDouble).item<double>();
  scores.agree += (reference.argmax(-1) == logp.argmax(-1)).sum().item<int64_t>();
}

}  // namespace

hc::Result<std::vector<ModelEvaluation>> evaluate_models(
    const std::vector<std::filesystem::path>& models,
    const std::vector<std::vector<std::int32_t>>& sequences, at::Device device,
    const EvalProgress& progress) {
  if (models.empty()) return hc::make_error(hc::ErrorCode::InvalidArgument, "eval: no models");
  std::size_t tokens = 0;
  for (const auto& s : sequences) {
    if (s.size() < 2) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            "eval: every sequence needs at least two tokens");
    }
    tokens += s.size() - 1;
  }
  if (tokens == 0) return hc::make_error(hc::ErrorCode::InvalidArgument, "eval: no tokens");

  std::optional<ForwardModel> reference;
  std::vector<at::Tensor> reference_hidden;
  std::vector<ModelEvaluation> out;
  for (std::size_t m = 0; m < models.size(); ++m) {
    auto model = ForwardModel::open(models[m], device);
    if (!model.ok()) return named(models[m], model.error());
    if (reference && model->spec().vocab_size != reference->spec().vocab_size) {
      return hc::make_error(hc::ErrorCode::Malformed,
                            models[m].string() + ": vocabulary size " +
                                std::to_string(model->spec().vocab_size) + " differs from " +
                                models.front().string() + "'s " +
                                std::to_string(reference->spec().vocab_size));
    }
    const int layers = static_cast<int>(model->spec().layers.size());
    const auto start = std::chrono::steady_clock::now();
    auto hidden = model->run_sequences(sequences, {}, [&](int l) {
      if (progress) progress(m, l + 1, layers);
    });
    if (!hidden.ok()) return named(models[m], hidden.error());

    Scores scores;
    try {
      const detail::LayerWeightScope heads;  // both lm_heads decoded once
      for (std::size_t s = 0; s < sequences.size(); ++s) {
        const int64_t t = static_cast<int64_t>(sequences[s].size());
        auto logits = model->head((*hidden)[s].narrow(0, 0, t - 1));
        if (!logits.ok()) return named(models[m], logits.error());
        const at::Tensor logp = at::log_softmax(logits->to(at::kFloat), -1);
        at::Tensor ref_logp;
        if (reference) {
          auto ref_logits = reference->head(reference_hidden[s].narrow(0, 0, t - 1));
          if (!ref_logits.ok()) return named(models.front(), ref_logits.error());
          ref_logp = at::log_softmax(ref_logits->to(at::kFloat), -1);
        }
        score(logp, ref_logp, sequences[s], scores);
      }
    } catch (const std::exception& e) {
      return hc::make_error(hc::ErrorCode::Malformed,
                            models[m].string() + ": scoring failed: " + e.what());
    }
    ModelEvaluation result;
    result.model = models[m].string();
    result.tokens = tokens;
    result.nll = scores.nll / double(tokens);
    result.perplexity = std::exp(result.nll);
    result.kl = reference ? scores.kl / double(tokens) : 0.0;
    result.top1_agreement = reference ? double(scores.agree) / double(tokens) : 1.0;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.push_back(result);
    if (!reference) {
      reference.emplace(std::move(*model));
      reference_hidden = std::move(*hidden);
    }
  }
  return out;
}

}  // namespace hc::native
