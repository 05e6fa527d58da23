#!/usr/bin/env python3
"""Agreement of two statistics files of the same extraction (e.g. CPU fp32 against CUDA):
relative difference of the pair barriers (median, max), their lowest per-layer Spearman
correlation, and the largest difference of the routing frequencies. One line.
Usage: compare_stats.py A.hcstats B.hcstats"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import hcstats  # noqa: E402


def ranks(v):
    return np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(float)


def main():
    _, a = hcstats.load(sys.argv[1])
    _, b = hcstats.load(sys.argv[2])
    rel, rho, freq = [], [], 0.0
    for name in sorted(a):
        if name.endswith(".edge_barrier"):
            x, y = a[name].astype(float), b[name].astype(float)
            rel.append(np.abs(x - y) / np.maximum(np.abs(x), 1e-12))
            rx, ry = ranks(x) - ranks(x).mean(), ranks(y) - ranks(y).mean()
            den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
            rho.append((rx * ry).sum() / den if den > 0 else 1.0)
        elif name.endswith(".expert_frequency"):
            freq = max(freq, float(np.abs(a[name] - b[name]).max()))
    rel = np.concatenate(rel)
    print(f"pair barriers: relative difference median {np.median(rel):.2e}, max {rel.max():.2e}; "
          f"lowest layer Spearman {min(rho):.5f}; routing frequency max difference {freq:.2e}")


if __name__ == "__main__":
    main()
