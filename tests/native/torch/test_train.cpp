// Tests of the MoE trainer: a short run lowers the loss; the written checkpoint evaluates in the
// project's forward pass to the trainer's own held-out perplexity for every family; the
// `hodgecover train` CLI end to end (eval agreement) and its bad-input errors.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hc/native/bpe_trainer.hpp"
#include "hc/native/calibration.hpp"
#include "hc/native/checkpoint_writer.hpp"
#include "hc/native/evaluate.hpp"
#include "hc/native/tokenizer.hpp"
#include "hc/native/train_model.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;
using hc::test::TempDir;
using nlohmann::json;

namespace {

std::string corpus() {
  const char* lines[] = {
      "The quick brown fox jumps over the lazy dog.",
      "A hacker is a person who enjoys exploring the details of programmable systems.",
      "Kludges are clever programming tricks that fix a problem in an inelegant way.",
      "The jargon file is a glossary of computer programmer slang.",
      "Wizards know how a complex piece of software works and can fix it."};
  std::string text;
  for (int i = 0; i < 30; ++i) {
    for (const char* line : lines) text += std::string(line) + (i % 3 == 0 ? "\n" : " ");
  }
  return text;
}

struct Tiny {
  std::string tokenizer_json;
  std::vector<std::int32_t> train, heldout;
  int vocab = 0;
};

Tiny tiny_data() {
  BpeTrainOptions bpe;
  bpe.vocab_size = 300;
  const auto vocab = train_bpe(corpus(), bpe);
  BOOST_REQUIRE(vocab.ok());
  Tiny t;
  t.tokenizer_json = bpe_tokenizer_json(*vocab);
  const auto tokenizer = Tokenizer::from_json(t.tokenizer_json);
  BOOST_REQUIRE(tokenizer.ok());
  t.vocab = static_cast<int>(tokenizer->vocab_size());
  t.train = *tokenizer->encode(corpus());
  t.heldout = *tokenizer->encode(
      "The lazy hacker fixes the kludge. A wizard explores the jargon of programmable dogs.");
  return t;
}

TrainShape tiny_shape(const std::string& family, int vocab) {
  TrainShape s;
  s.family = family;
  s.layers = 2;
  s.experts = 4;
  s.top_k = 2;
  s.hidden = 32;
  s.intermediate = 32;
  s.heads = 4;
  s.kv_heads = 2;
  s.vocab = vocab;
  return s;
}

TrainOptions tiny_options(int steps) {
  TrainOptions o;
  o.seq_len = 32;
  o.batch = 8;
  o.steps = steps;
  o.lr = 1e-2;
  o.eval_seq_len = 24;  // several sequences plus a tail
  o.seed = 7;
  return o;
}

double mean(const std::vector<double>& v, std::size_t from, std::size_t count) {
  double s = 0.0;
  for (std::size_t i = from; i < from + count; ++i) s += v[i] / double(count);
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(train)

BOOST_AUTO_TEST_CASE(loss_decreases_and_checkpoint_matches_forward) {
  const Tiny data = tiny_data();
  for (const std::string family : {"mixtral", "olmoe", "qwen3_moe"}) {
    BOOST_TEST_CONTEXT("family " << family) {
      const int steps = 60;
      const auto trained = train_model(tiny_shape(family, data.vocab), tiny_options(steps),
                                       data.train, data.heldout);
      BOOST_REQUIRE_MESSAGE(trained.ok(), (trained.ok() ? "" : trained.error().message));
      BOOST_REQUIRE(trained->losses.size() == std::size_t(steps));
      const double first = mean(trained->losses, 0, 10),
                   last = mean(trained->losses, steps - 10, 10);
      BOOST_TEST_MESSAGE(family << ": loss " << first << " -> " << last << ", held-out ppl "
                                << trained->initial.perplexity << " -> "
                                << trained->heldout.perplexity);
      BOOST_TEST(last < first - 1.0);
      BOOST_TEST(trained->heldout.perplexity < trained->initial.perplexity);
      for (const auto& layer : trained->heldout.expert_load) {
        double total = 0.0;
        for (double share : layer) total += share;
        BOOST_TEST(std::abs(total - 1.0) < 1e-6);  // fp32 shares
      }

      // Written as a checkpoint, the project's forward pass gives the same perplexity.
      TempDir dir("hc-test-train");
      std::vector<TensorToWrite> tensors;
      for (const auto& [name, values] : trained->tensors) {
        tensors.push_back({name, hc::Dtype::BF16, trained->shapes.at(name), values});
      }
      CheckpointWriteOptions write;
      write.tokenizer_json = data.tokenizer_json;
      const fs::path model = dir.root / "model";
      const auto error = write_checkpoint(model, trained->config, tensors, write);
      BOOST_REQUIRE_MESSAGE(error.ok(), (error.ok() ? "" : error.error().message));
      const auto sequences = split_sequences(data.heldout, 24, 0, 2);
      const auto eval = evaluate_models({model}, sequences, at::Device(at::kCPU));
      BOOST_REQUIRE_MESSAGE(eval.ok(), (eval.ok() ? "" : eval.error().message));
      BOOST_TEST((*eval)[0].tokens == trained->heldout.tokens);
      BOOST_TEST(std::abs((*eval)[0].nll - trained->heldout.nll) < 1e-4,
                 "forward nll " << (*eval)[0].nll << " vs trainer " << trained->heldout.nll);
    }
  }
}

BOOST_AUTO_TEST_CASE(deterministic_for_a_seed) {
  const Tiny data = tiny_data();
  const auto a = train_model(tiny_shape("olmoe", data.vocab), tiny_options(5), data.train, {});
  const auto b = train_model(tiny_shape("olmoe", data.vocab), tiny_options(5), data.train, {});
  BOOST_REQUIRE(a.ok() && b.ok());
  BOOST_TEST(a->losses == b->losses);
  BOOST_TEST((a->tensors == b->tensors));
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_errors) {
  TrainShape s = tiny_shape("mixtral", 300);
  s.top_k = 5;
  auto config = train_config_json(s);
  BOOST_REQUIRE(!config.ok());
  BOOST_TEST(contains(config.error().message, "top-k 5 exceeds the expert count 4"));
  s = tiny_shape("gpt2", 300);
  BOOST_TEST(contains(train_config_json(s).error().message, "unknown family 'gpt2'"));
  s = tiny_shape("olmoe", 300);
  s.kv_heads = 3;
  BOOST_TEST(!train_config_json(s).ok());
  const auto few = train_model(tiny_shape("olmoe", 300), tiny_options(1), {1, 2, 3}, {});
  BOOST_REQUIRE(!few.ok());
  BOOST_TEST(contains(few.error().message, "fewer than the sequence length + 1"));
}

BOOST_AUTO_TEST_CASE(cli_train_then_eval) {
  CliFixture f;
  const fs::path text = f.work / "train.txt", heldout = f.work / "heldout.txt";
  {
    std::ofstream(text) << corpus();
    std::ofstream(heldout) << "The lazy hacker fixes the kludge. A wizard explores the jargon.\n";
  }
  const auto r = f.run(
      "train --family olmoe --text train.txt --heldout heldout.txt --out m --layers 1 "
      "--experts 4 --top-k 2 --hidden 32 --intermediate 32 --heads 2 --kv-heads 1 --vocab 300 "
      "--seq-len 16 --batch 4 --steps 20 --json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const json report = json::parse(r.out);
  const double trainer_ppl = report["heldout"]["perplexity"].get<double>();
  BOOST_TEST(report["heldout"]["uniform_perplexity"].get<int>() == 300);
  BOOST_TEST(fs::exists(f.work / "m" / "tokenizer.json"));
  const json config = json::parse(std::ifstream(f.work / "m" / "config.json"));
  BOOST_TEST(config["model_type"] == "olmoe");
  BOOST_TEST(config["max_position_embeddings"] == 16);  // the training context
  BOOST_TEST(report["heldout"]["seq_len"] == 16);

  const auto e = f.run("eval --model m --text heldout.txt --json");
  BOOST_REQUIRE_MESSAGE(e.code == 0, e.err);
  const double eval_ppl = json::parse(e.out)["results"][0]["perplexity"].get<double>();
  BOOST_TEST(std::abs(eval_ppl - trainer_ppl) < 1e-3 * trainer_ppl,
             "eval " << eval_ppl << " vs trainer " << trainer_ppl);
  const auto info = f.run("info m");
  BOOST_TEST(info.code == 0, info.err);
  BOOST_TEST(contains(info.out, "olmoe"));
}

BOOST_AUTO_TEST_CASE(cli_bad_inputs) {
  CliFixture f;
  std::ofstream(f.work / "train.txt") << corpus();
  std::ofstream(f.work / "empty.txt");
  auto r = f.run("train --text missing.txt --out m");
  BOOST_TEST(r.code == 3);
  BOOST_TEST(contains(r.err, "missing.txt"));
  r = f.run("train --text empty.txt --out m");
  BOOST_TEST(r.code == 3);
  BOOST_TEST(contains(r.err, "empty"));
  r = f.run("train --family gpt2 --text train.txt --out m");
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.err, "unknown family 'gpt2'"));
  r = f.run("train --text train.txt --out m --experts 4 --top-k 8");
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.err, "top-k 8 exceeds the expert count 4"));
  r = f.run("train --text train.txt --out m --vocab 100");
  BOOST_TEST(r.code == 2);
  BOOST_TEST(!fs::exists(f.work / "m"));
  fs::create_directories(f.work / "full");
  std::ofstream(f.work / "full" / "x") << "x";
  r = f.run("train --text train.txt --out full --steps 1");
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.err, "not an empty directory"));
  hc::test::check_no_temporaries(f);
}

BOOST_AUTO_TEST_SUITE_END()
