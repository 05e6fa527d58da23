#!/usr/bin/env python3
"""Loads checkpoints written by `hodgecover apply` with Hugging Face transformers
(AutoModelForCausalLM.from_pretrained, float32, CPU, eager attention) and records their logits,
for the CPU test that compares them with the native forward of the same checkpoint
(tests/native/torch/test_hf_parity.cpp, the applied_* cases of suite hf_parity).

    python3 make_applied_fixtures.py FIXTURES APPLIED OUT

FIXTURES: the original fixtures (tests/golden/hf), one folder per family with ids.npy.
APPLIED: one folder per applied checkpoint, named <family>_<variant> (the output of
`hodgecover apply --model FIXTURES/<family> ...`, with hodgecover_keep.json beside it).
OUT/<family>_<variant>/logits.npy: float32 [T, V] logits of the applied checkpoint on the
family's ids. OUT/summary.json: per checkpoint, the loading report (missing / unexpected /
mismatched keys must all be empty) and, for pruned checkpoints, the max |difference| between
the pruned model's logits and the ORIGINAL model's logits with the router logits of the dropped
experts masked to -inf (softmax -> top-k -> renormalise routing makes the two equal)."""
import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import AutoModelForCausalLM

ROUTER = re.compile(r"layers\.(\d+)\.mlp\.(gate|router)\.weight$")


def load(path):
    model, info = AutoModelForCausalLM.from_pretrained(
        path, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    return model.eval(), {k: sorted(map(str, v)) for k, v in info.items()}


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.from_numpy(ids.astype(np.int64))[None]).logits[0].float()


def n_experts(config):
    for key in ("num_local_experts", "num_experts", "n_routed_experts"):
        if getattr(config, key, None):
            return int(getattr(config, key))
    raise ValueError("no expert count in config")


def masked_logits(model, ids, keep):
    """Logits of `model` with the router logits of every expert outside keep[layer] set to
    -inf. Router matrices are found by name; every router product goes through F.linear
    (nn.Linear and transformers' router modules alike), which is wrapped for the call."""
    experts = n_experts(model.config)
    masks, hits = {}, {}
    for name, p in model.named_parameters():
        m = ROUTER.search(name)
        if m is None or p.shape[0] != experts:
            continue
        layer = m.group(1)
        mask = torch.full((experts,), float("-inf"))
        mask[keep[layer]] = 0.0
        masks[id(p)] = mask
        hits[name] = 0
    names = {id(p): n for n, p in model.named_parameters()}
    original = F.linear

    def linear(x, weight, bias=None):
        out = original(x, weight, bias)
        if id(weight) in masks:
            hits[names[id(weight)]] += 1
            out = out + masks[id(weight)].to(out.dtype)
        return out

    F.linear = linear
    torch.nn.functional.linear = linear
    try:
        result = logits_of(model, ids)
    finally:
        F.linear = original
        torch.nn.functional.linear = original
    if not hits or min(hits.values()) == 0:
        raise RuntimeError(f"router masking did not reach every router: {hits}")
    return result, hits


def main(fixtures, applied, out):
    summary = {"transformers": transformers.__version__, "torch": torch.__version__,
               "checkpoints": {}}
    for entry in sorted(os.listdir(applied)):
        path = os.path.join(applied, entry)
        if not os.path.isfile(os.path.join(path, "config.json")):
            continue
        family = next(f for f in sorted(os.listdir(fixtures), key=len, reverse=True)
                      if entry.startswith(f + "_") and os.path.isdir(os.path.join(fixtures, f)))
        variant = entry[len(family) + 1:]
        ids = np.load(os.path.join(fixtures, family, "ids.npy"))
        model, info = load(path)
        logits = logits_of(model, ids)
        os.makedirs(os.path.join(out, entry), exist_ok=True)
        np.save(os.path.join(out, entry, "logits.npy"), logits.numpy())
        record = {"family": family, "variant": variant, "loading_info": info,
                  "class": type(model).__name__, "experts": n_experts(model.config)}
        if variant.startswith("prune"):
            with open(os.path.join(path, "hodgecover_keep.json")) as f:
                keep = json.load(f)
            original, _ = load(os.path.join(fixtures, family))
            reference = np.load(os.path.join(fixtures, family, "logits.npy"))
            plain = logits_of(original, ids)
            masked, hits = masked_logits(original, ids, keep)
            record.update({
                "original_vs_fixture_logits_max_abs": float((plain - torch.from_numpy(reference)).abs().max()),
                "masked_vs_original_max_abs": float((masked - plain).abs().max()),
                "pruned_vs_masked_max_abs": float((logits - masked).abs().max()),
                "max_abs_logit": float(masked.abs().max()),
                "router_calls": hits,
            })
            np.save(os.path.join(out, entry, "masked_logits.npy"), masked.numpy())
        summary["checkpoints"][entry] = record
        print(entry, json.dumps(record), flush=True)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
