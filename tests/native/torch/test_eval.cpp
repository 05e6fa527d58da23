// Evaluation: layer-streamed multi-sequence forward equals per-sequence forwards; eval's
// perplexity, KL and top-1 agreement against direct computations; `hodgecover eval` end to end
// (JSON contract, --text via tokenizer.json, bad inputs and exit codes).
#include <ATen/Context.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hc/native/calibration.hpp"
#include "hc/native/evaluate.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/tokenizer.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;
using hc::test::RunResult;
using hc::test::TempDir;
using nlohmann::json;

namespace {

template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

FixtureSizes small_sizes(int vocab = 64) {
  FixtureSizes sizes;
  sizes.layers = 2;
  sizes.vocab = vocab;
  return sizes;
}

void write_model(const fs::path& dir, Family family, std::uint64_t seed, int vocab = 64) {
  const auto error = write_random_checkpoint(dir, family, small_sizes(vocab), seed);
  BOOST_REQUIRE_MESSAGE(error.ok(), (error.ok() ? "" : error.error().message));
}

std::vector<std::int32_t> ramp(std::size_t n, int vocab, int step) {
  std::vector<std::int32_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int32_t>((i * step + 3) % vocab);
  return ids;
}

// Mean next-token NLL and KL/top-1 against a reference, computed from whole-sequence logits.
struct Direct {
  double nll = 0, kl = 0, agree = 0;
  std::size_t n = 0;
};
void accumulate(const at::Tensor& logits, const at::Tensor& ref_logits,
                const std::vector<std::int32_t>& ids, Direct& d) {
  const auto lp = at::log_softmax(logits.to(at::kDouble), -1);
  const auto rp = at::log_softmax(ref_logits.to(at::kDouble), -1);
  for (std::size_t t = 0; t + 1 < ids.size(); ++t) {
    const auto row = lp[static_cast<int64_t>(t)], ref = rp[static_cast<int64_t>(t)];
    d.nll -= row[ids[t + 1]].item<double>();
    d.kl += (ref.exp() * (ref - row)).sum().item<double>();
    d.agree += ref.argmax().item<int64_t>() == row.argmax().item<int64_t>() ? 1 : 0;
    ++d.n;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(eval)

BOOST_AUTO_TEST_CASE(run_sequences_matches_per_sequence_forward) {
  TempDir tmp("hc-test-eval");
  write_model(tmp.root / "m", Family::Qwen3Moe, 5);
  auto model = ForwardModel::open(tmp.root / "m");
  BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
  const std::vector<std::vector<std::int32_t>> seqs = {ramp(9, 64, 7), ramp(4, 64, 11),
                                                       ramp(13, 64, 5)};
  std::vector<LayerObservation> seen;
  int layers_done = 0;
  auto hidden = model->run_sequences(
      seqs, [&](const LayerObservation& o) { seen.push_back(o); },
      [&](int l) { BOOST_CHECK_EQUAL(l, layers_done++); });
  BOOST_REQUIRE_MESSAGE(hidden.ok(), why(hidden));
  BOOST_CHECK_EQUAL(layers_done, 2);
  BOOST_REQUIRE_EQUAL(seen.size(), 2u);
  for (const auto& o : seen) {
    BOOST_CHECK_EQUAL(o.x.size(0), 26);  // all sequences concatenated
    BOOST_CHECK_EQUAL(o.selected.size(0), 26);
    BOOST_CHECK_EQUAL(o.gates.size(1), model->spec().top_k);
  }
  for (std::size_t s = 0; s < seqs.size(); ++s) {
    auto streamed = model->head((*hidden)[s]);
    auto direct = model->logits(seqs[s]);
    BOOST_REQUIRE(streamed.ok() && direct.ok());
    BOOST_CHECK_SMALL((*streamed - *direct).abs().max().item<double>(), 1e-5);
  }
  // The concatenated observation of layer 0 holds the third sequence's routing at its offset.
  std::vector<LayerObservation> single;
  BOOST_REQUIRE(
      model->logits(seqs[2], [&](const LayerObservation& o) { single.push_back(o); }).ok());
  BOOST_CHECK(at::equal(seen[1].selected.narrow(0, 13, 13), single[1].selected));
}

BOOST_AUTO_TEST_CASE(perplexity_kl_and_agreement_match_direct_computation) {
  TempDir tmp("hc-test-eval");
  write_model(tmp.root / "a", Family::Mixtral, 1);
  write_model(tmp.root / "b", Family::Mixtral, 2);
  const std::vector<std::vector<std::int32_t>> seqs = {ramp(12, 64, 7), ramp(6, 64, 3)};
  auto results =
      evaluate_models({tmp.root / "a", tmp.root / "b", tmp.root / "a"}, seqs, at::Device(at::kCPU));
  BOOST_REQUIRE_MESSAGE(results.ok(), why(results));
  BOOST_REQUIRE_EQUAL(results->size(), 3u);

  auto a = ForwardModel::open(tmp.root / "a");
  auto b = ForwardModel::open(tmp.root / "b");
  BOOST_REQUIRE(a.ok() && b.ok());
  Direct da, db;
  for (const auto& ids : seqs) {
    const auto la = *a->logits(ids), lb = *b->logits(ids);
    accumulate(la, la, ids, da);
    accumulate(lb, la, ids, db);
  }
  const auto& ra = (*results)[0];
  const auto& rb = (*results)[1];
  const auto& ra2 = (*results)[2];
  BOOST_CHECK_EQUAL(ra.tokens, 16u);
  BOOST_CHECK_CLOSE(ra.nll, da.nll / double(da.n), 1e-4);
  BOOST_CHECK_CLOSE(ra.perplexity, std::exp(da.nll / double(da.n)), 1e-4);
  BOOST_CHECK_EQUAL(ra.kl, 0.0);
  BOOST_CHECK_EQUAL(ra.top1_agreement, 1.0);
  BOOST_CHECK_CLOSE(rb.nll, db.nll / double(db.n), 1e-4);
  BOOST_CHECK_GT(rb.kl, 1e-4);  // different random weights
  BOOST_CHECK_CLOSE(rb.kl, db.kl / double(db.n), 1e-3);
  BOOST_CHECK_CLOSE(rb.top1_agreement, db.agree / double(db.n), 1e-9);
  // The same model as a comparison: no divergence, full agreement.
  BOOST_CHECK_SMALL(ra2.kl, 1e-9);
  BOOST_CHECK_EQUAL(ra2.top1_agreement, 1.0);
  BOOST_CHECK_CLOSE(ra2.perplexity, ra.perplexity, 1e-9);
  // Single-sequence perplexity agrees with ForwardModel::perplexity.
  auto one = evaluate_models({tmp.root / "a"}, {seqs[0]}, at::Device(at::kCPU));
  BOOST_REQUIRE(one.ok());
  BOOST_CHECK_CLOSE((*one)[0].perplexity, *a->perplexity(seqs[0]), 1e-4);
}

BOOST_AUTO_TEST_CASE(evaluate_rejects_bad_inputs) {
  TempDir tmp("hc-test-eval");
  write_model(tmp.root / "a", Family::Olmoe, 1, 64);
  write_model(tmp.root / "small_vocab", Family::Olmoe, 1, 48);
  const std::vector<std::vector<std::int32_t>> seqs = {ramp(8, 48, 5)};
  auto mismatch =
      evaluate_models({tmp.root / "a", tmp.root / "small_vocab"}, seqs, at::Device(at::kCPU));
  BOOST_REQUIRE(!mismatch.ok());
  BOOST_CHECK(contains(mismatch.error().message, "vocabulary size 48"));
  auto missing = evaluate_models({tmp.root / "nope"}, seqs, at::Device(at::kCPU));
  BOOST_REQUIRE(!missing.ok());
  BOOST_CHECK(contains(missing.error().message, "nope"));
  auto short_seq = evaluate_models({tmp.root / "a"}, {{3}}, at::Device(at::kCPU));
  BOOST_REQUIRE(!short_seq.ok());
  BOOST_CHECK(short_seq.error().code == hc::ErrorCode::InvalidArgument);
}

// ---- the CLI ---------------------------------------------------------------------------

struct EvalCli : CliFixture {
  int vocab = 0;
  EvalCli() {
    // A model whose vocabulary is the GPT-2-style test tokenizer's, so --text works.
    const fs::path tokenizer_json = fs::path(HC_GOLDEN_DIR) / "tokenizers" / "gpt2.tokenizer.json";
    auto tokenizer = Tokenizer::from_file(tokenizer_json);
    BOOST_REQUIRE_MESSAGE(tokenizer.ok(), why(tokenizer));
    vocab = static_cast<int>(tokenizer->vocab_size());
    write_model(work / "model", Family::Qwen2Moe, 3, vocab);
    fs::copy_file(tokenizer_json, work / "model" / "tokenizer.json");
    write_model(work / "other", Family::Qwen2Moe, 4, vocab);
    hc::test::spit(work / "held.txt",
                   "The quick brown fox jumps over the lazy dog. It was the best of times, it "
                   "was the worst of times; it was the age of wisdom, it was the age of "
                   "foolishness.\n");
  }
};

BOOST_FIXTURE_TEST_CASE(cli_json_contract_and_compare, EvalCli) {
  const RunResult r =
      ok("eval --model model --compare model other --text held.txt --seq-len 16 --json");
  const json doc = json::parse(r.out);
  BOOST_REQUIRE_EQUAL(doc["results"].size(), 3u);
  const auto& ref = doc["results"][0];
  BOOST_CHECK_EQUAL(ref["model"], "model");
  BOOST_CHECK_GT(ref["perplexity"].get<double>(), 1.0);
  BOOST_CHECK_EQUAL(ref["kl"].get<double>(), 0.0);
  BOOST_CHECK_EQUAL(ref["top1_agreement"].get<double>(), 1.0);
  BOOST_CHECK_GT(ref["tokens"].get<int>(), 16);
  BOOST_CHECK_SMALL(doc["results"][1]["kl"].get<double>(), 1e-9);
  BOOST_CHECK_GT(doc["results"][2]["kl"].get<double>(), 0.0);
  // --device auto: the GPU when LibTorch has one.
  BOOST_CHECK_EQUAL(doc["device"], at::hasCUDA() ? "cuda:0" : "cpu");

  // The same tokens as ids give the same perplexity (the text is tokenized with the model's
  // tokenizer.json).
  const auto tokenizer = Tokenizer::from_file(work / "model" / "tokenizer.json");
  const auto ids = *tokenizer->encode(hc::test::slurp(work / "held.txt"));
  std::string raw(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(std::int32_t));
  hc::test::spit(work / "held.ids", raw);
  const json by_ids = json::parse(ok("eval --model model --ids held.ids --seq-len 16 --json").out);
  BOOST_CHECK_CLOSE(by_ids["results"][0]["perplexity"].get<double>(),
                    ref["perplexity"].get<double>(), 1e-9);
  BOOST_CHECK_EQUAL(by_ids["results"][0]["tokens"], ref["tokens"]);

  const RunResult table = ok("eval --model model --compare other --text held.txt");
  BOOST_CHECK(contains(table.out, "perplexity"));
  BOOST_CHECK(contains(table.out, "(ref)"));
}

BOOST_FIXTURE_TEST_CASE(cli_bad_inputs, EvalCli) {
  struct Case {
    std::string args;
    int code;
    std::string says;
  };
  std::string big(64, '\0');
  for (int i = 0; i < 16; ++i) reinterpret_cast<std::int32_t*>(big.data())[i] = 1 << 20;
  hc::test::spit(work / "big.ids", big);
  fs::create_directory(work / "notokenizer");
  write_model(work / "notok", Family::Qwen2Moe, 3, vocab);
  const Case cases[] = {
      {"eval --model missing --text held.txt", 3, "missing"},
      {"eval --model model --text nothere.txt", 3, "nothere.txt"},
      {"eval --model notok --text held.txt", 3, "tokenizer.json"},
      {"eval --model model --ids big.ids", 3, "outside the model's vocabulary"},
      {"eval --model model --text held.txt --ids big.ids", 2, "excludes"},
      {"eval --model model", 2, "--text"},
      {"eval --model model --text held.txt --seq-len 1", 2, "--seq-len"},
      {"eval --model model --text held.txt --device tpu", 2, "--device tpu"},
      {"eval --model model --text held.txt --compare missing", 3, "missing"},
  };
  for (const auto& c : cases) {
    const RunResult r = run(c.args);
    BOOST_CHECK_MESSAGE(r.code == c.code, c.args << ": exit " << r.code << ": " << r.err);
    BOOST_CHECK_MESSAGE(contains(r.err, c.says), c.args << ": " << r.err);
  }
  if (!at::hasCUDA()) {
    const RunResult r = run("eval --model model --text held.txt --device cuda");
    BOOST_CHECK_EQUAL(r.code, 2);
    BOOST_CHECK(contains(r.err, "no CUDA device"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
