"""Relative differences between two statistics files of the same model (numpy only).

Usage: python3 scripts/compare_stats.py A.hcstats B.hcstats [--label NAME]
Prints, per kind of tensor, the median, 95th percentile and largest |a - b| / max(|a|, |b|)
(entries below 1e-6 of the tensor's largest magnitude count as zeros).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hcstats  # noqa: E402


def main(argv):
    label = argv[argv.index("--label") + 1] if "--label" in argv else ""
    paths = [a for a in argv[1:] if not a.startswith("--") and a != label]
    _, a = hcstats.load(paths[0])
    _, b = hcstats.load(paths[1])
    errors = {}
    shared = []
    for name, x in a.items():
        if not np.issubdtype(x.dtype, np.floating):
            continue
        x = x.astype(np.float64).ravel()
        y = b[name].astype(np.float64).ravel()
        if name.endswith("triangle_barrier"):
            # Compare the triangles both files measured (stage 1 may pick other candidates).
            key = name[: -len("triangle_barrier")] + "triangles"
            ta = [tuple(t) for t in a[key].reshape(-1, 3)]
            tb = {tuple(t): i for i, t in enumerate(b[key].reshape(-1, 3))}
            both = [(i, tb[t]) for i, t in enumerate(ta) if t in tb]
            shared.append((len(both), len(ta), len(tb)))
            x = np.array([x[i] for i, _ in both])
            y = np.array([y[j] for _, j in both])
            if x.size == 0:
                continue
        if x.size == 0:
            continue
        floor = 1e-6 * np.abs(x).max() + 1e-300
        rel = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), floor)
        errors.setdefault(name.split(".")[-1], []).append(rel)
    print(label)
    if shared:
        n, na, nb = (sum(v) for v in zip(*shared))
        print(f"  triangles measured in both: {n} of {na} / {nb}")
    for kind, parts in sorted(errors.items()):
        rel = np.concatenate(parts)
        print(f"  {kind:22s} median {np.median(rel):.2e}  p95 {np.percentile(rel, 95):.2e}  "
              f"max {rel.max():.2e}")


if __name__ == "__main__":
    main(sys.argv)
