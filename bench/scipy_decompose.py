#!/usr/bin/env python3
"""Reference Hodge decomposition of a statistics file with numpy + scipy.sparse, written the
plain way: the same complex as `hodgecover decompose` (tau = 0.75 quantile of the layer's edge
barriers, complete edges, a triangle fills when its barrier <= tau, edges oriented from lower to
higher REAP), B1 and B2 as scipy CSR matrices, then two sparse least-squares solves:

    gradient = B1^T s,  s = argmin |B1^T s - f|         (scipy.sparse.linalg.lsqr)
    curl     = B2 c,    c = argmin |B2 c - (f - grad)|  (scipy.sparse.linalg.lsqr)
    harmonic = f - gradient - curl

both with atol = btol = 1e-12 (relative residuals about 1e-10 or better). The time printed is
wall-clock from reading the file to the last layer's energies, in this process (the Python
start-up and imports are not counted). Prints per-layer energy shares for cross-checking.

Usage: python3 bench/scipy_decompose.py FILE.hcstats [--json]
"""
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import hcstats  # noqa: E402  (the project's numpy reader)

SOLVER = "scipy.sparse.linalg.lsqr (atol = btol = 1e-12) for the gradient and the curl"


def decompose_layer(tensors, layer):
    edges = tensors[f"layers.{layer}.edges"].astype(np.int64)
    f = tensors[f"layers.{layer}.edge_barrier"].astype(np.float64)
    reap = tensors[f"layers.{layer}.expert_reap"].astype(np.float64)
    tris = tensors.get(f"layers.{layer}.triangles", np.zeros((0, 3), np.int32)).astype(np.int64)
    tbar = tensors.get(f"layers.{layer}.triangle_barrier", np.zeros(0, np.float32))
    n = reap.shape[0]
    m = edges.shape[0]
    tau = np.quantile(f, 0.75)
    # Orientation: ascending REAP, ties by index.
    order = np.lexsort((np.arange(n), reap))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    a, b = edges[:, 0], edges[:, 1]
    swap = rank[a] > rank[b]
    tail = np.where(swap, b, a)
    head = np.where(swap, a, b)
    cols = np.arange(m)
    b1 = sp.csr_matrix((np.r_[-np.ones(m), np.ones(m)], (np.r_[tail, head], np.r_[cols, cols])),
                       shape=(n, m))
    # Filled triangles, vertices in rank order, and the edge index of each of their sides.
    edge_id = np.full((n, n), -1, np.int64)
    edge_id[a, b] = np.arange(m)
    edge_id[b, a] = np.arange(m)
    filled = tris[tbar <= tau]
    t_count = filled.shape[0]
    v = np.take_along_axis(filled, np.argsort(rank[filled], axis=1, kind="stable"), axis=1)
    sides = np.stack([edge_id[v[:, 1], v[:, 2]], edge_id[v[:, 0], v[:, 2]],
                      edge_id[v[:, 0], v[:, 1]]], axis=1)
    b2 = sp.csr_matrix((np.tile([1.0, -1.0, 1.0], t_count),
                        (sides.ravel(), np.repeat(np.arange(t_count), 3))), shape=(m, t_count))
    s = lsqr(b1.T.tocsr(), f, atol=1e-12, btol=1e-12)[0]
    grad = b1.T @ s
    rest = f - grad
    curl = b2 @ lsqr(b2, rest, atol=1e-12, btol=1e-12)[0] if t_count else np.zeros(m)
    harm = rest - curl
    total = float(f @ f)
    return {"layer": layer, "filled": t_count, "gradient": float(grad @ grad) / total,
            "curl": float(curl @ curl) / total, "harmonic": float(harm @ harm) / total,
            "residual_b1": float(np.linalg.norm(b1 @ harm) / np.sqrt(total)),
            "residual_b2t": float(np.linalg.norm(b2.T @ harm) / np.sqrt(total))}


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    start = time.perf_counter()
    meta, tensors = hcstats.load(sys.argv[1])
    layers = [int(x) for x in meta.get("moe_layers", "").split(",") if x]
    results = [decompose_layer(tensors, layer) for layer in layers]
    seconds = time.perf_counter() - start
    if "--json" in sys.argv:
        print(json.dumps({"solver": SOLVER, "seconds": seconds, "layers": results}))
    else:
        print(f"reference: {SOLVER}")
        for r in results:
            print(f"  layer {r['layer']}: filled {r['filled']}, grad {r['gradient']:.3f} "
                  f"curl {r['curl']:.3f} harm {r['harmonic']:.3f} "
                  f"residuals {r['residual_b1']:.1e} {r['residual_b2t']:.1e}")
        print(f"{len(results)} layers in {seconds:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
