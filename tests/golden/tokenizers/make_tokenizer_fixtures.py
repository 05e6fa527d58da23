#!/usr/bin/env python3
"""Trains tiny tokenizers with Hugging Face `tokenizers` in the three styles MoE checkpoints use
and records the ids the library produces for a set of test strings, for the native tokenizer's
parity test. Run on a machine with `tokenizers`:  python3 make_tokenizer_fixtures.py OUT_DIR
Writes OUT_DIR/<style>.tokenizer.json and OUT_DIR/cases.json."""
import json
import os
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's 2026, isn't it?",
    "Mixture-of-Experts layers route every token to its top-k experts; weights are merged.",
    "Naïve café résumé — déjà vu. Übergrößenträger straße.",
    "世界你好，这是一个测试。日本語のテキストも少し。",
    "def f(x):\n    return x ** 2  # squares\n\n\tindented\r\nline",
    "numbers 1234567 3.14159 0x7f 1e-8 and   multiple    spaces",
    "emoji 🙂🚀 and symbols @#$%^&*()[]{}<>",
] * 20

CASES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces and trailing  ",
    "It's we'll they'd I'M",
    "café naïve déjà vu",
    "e\u0301 composed by NFC",
    "世界 你好 日本語",
    "code:\n\tif (x) {\n        y = 1;\n    }\r\n",
    "digits 0123456789 and 3.14",
    "emoji 🙂 rocket 🚀 unseen ☃ snowman",
    "special <|endoftext|> inside text<|endoftext|>",
    "multiple     spaces\n\n\nnewlines",
    "",
]

QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def byte_level_gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def byte_level_qwen():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def metaspace():
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                           normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>",
                                                                  "<|endoftext|>"])
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def main(out):
    os.makedirs(out, exist_ok=True)
    cases = {}
    for name, make in [("gpt2", byte_level_gpt2), ("qwen", byte_level_qwen), ("metaspace", metaspace)]:
        tok = make()
        tok.save(os.path.join(out, f"{name}.tokenizer.json"))
        cases[name] = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in CASES]
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
    import tokenizers
    print("tokenizers", tokenizers.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
