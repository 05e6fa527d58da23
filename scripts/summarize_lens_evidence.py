#!/usr/bin/env python3
"""Summarises scripts/lens_evidence.sh: per model, the top-m barriers against the full
evaluation (relative error median / p95 / max over pairs and triangles, the lowest per-layer
Spearman correlation of the pair barriers), whether the HodgeCover plans at 25/50/75% are
the same, and the pair-stage times. Usage: summarize_lens_evidence.py DIR MODEL..."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hcstats  # noqa: E402


def spearman(a, b):
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / den) if den > 0 else 1.0


def main():
    out, models = sys.argv[1], sys.argv[2:]
    print("| model | pair error median | p95 | max | triangle error median | max | "
          "lowest layer Spearman | common candidate triangles | plans equal (25/50/75%) | "
          "pair stage full → top-m |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model in models:
        _, full = hcstats.load(f"{out}/{model}.full.hcstats")
        _, fast = hcstats.load(f"{out}/{model}.top-m.hcstats")
        pair_err, tri_err, rho, tri_sets = [], [], [], [0, 0]
        for name in sorted(full):
            if name.endswith(".edge_barrier"):
                a, b = full[name].astype(float), fast[name].astype(float)
                pair_err.append(np.abs(b - a) / np.maximum(np.abs(a), 1e-12))
                rho.append(spearman(a, b))
            elif name.endswith(".triangle_barrier"):
                # Stage 1 picks the candidates from the pair barriers: compare the common ones.
                layer = name[: -len(".triangle_barrier")]
                ids = [{tuple(t): i for i, t in enumerate(f[layer + ".triangles"].tolist())}
                       for f in (full, fast)]
                common = [t for t in ids[0] if t in ids[1]]
                tri_sets[0] += len(common)
                tri_sets[1] += max(len(ids[0]), len(ids[1]))
                a = full[name].astype(float)[[ids[0][t] for t in common]]
                b = fast[name].astype(float)[[ids[1][t] for t in common]]
                tri_err.append(np.abs(b - a) / np.maximum(np.abs(a), 1e-12))
        pair_err = np.concatenate(pair_err)
        tri_err = np.concatenate(tri_err) if tri_err else np.zeros(1)
        equal = []
        for ratio in ("0.25", "0.5", "0.75"):
            plans = [json.load(open(f"{out}/{model}.{s}.{ratio}.plan.json"))["layers"]
                     for s in ("full", "top-m")]
            same = sum(plans[0][k]["keep"] == plans[1][k]["keep"] for k in plans[0])
            equal.append(f"{same}/{len(plans[0])}")
        secs = [json.load(open(f"{out}/{model}.{s}.json"))["stage_seconds"]["pairs"]
                for s in ("full", "top-m")]
        print(f"| {model} | {np.median(pair_err):.2e} | {np.quantile(pair_err, 0.95):.2e} | "
              f"{pair_err.max():.2e} | {np.median(tri_err):.2e} | {tri_err.max():.2e} | "
              f"{min(rho):.4f} | {tri_sets[0]}/{tri_sets[1]} | {' · '.join(equal)} layers | {secs[0]:.1f} s → {secs[1]:.1f} s |")


if __name__ == "__main__":
    main()
