#!/usr/bin/env python3
"""Side-by-side benchmark: `hodgecover decompose FILE` then `hodgecover select FILE --ratio 0.5`
(HodgeCover, the default method; two CLI
processes, wall-clock, file parsing included, output discarded) against the scipy reference
decomposition of the same file (bench/scipy_decompose.py: scipy.sparse.linalg.lsqr for the
gradient and the curl, wall-clock from reading the file to the last layer, in-process), in the
same run, best of R repeats each. Also checks that both find the same energy shares.

Default file: the site's 48-layer x 128-expert sample (made with `hodgecover synth --layers 48
--experts 128 --seed 2` when not given). Goal (issue 25): ours <= 0.5 x the reference.
Usage: bench/decompose_vs_scipy.py [--cli build/hodgecover] [--file F.hcstats] [--repeat R]
       [--json]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import scipy_decompose  # noqa: E402


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        best = min(best, fn())
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "hodgecover"))
    ap.add_argument("--file")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hc-bench-") as tmp:
        path = args.file
        if not path:
            path = os.path.join(tmp, "synth-bench-48x128.hcstats")
            subprocess.run([args.cli, "synth", "--layers", "48", "--experts", "128", "--seed", "2",
                            "--out", path], check=True, stdout=subprocess.DEVNULL)

        def ours():
            start = time.perf_counter()
            for command in (["decompose"], ["select", "--ratio", "0.5"]):
                subprocess.run([args.cli, command[0], path, *command[1:]], check=True,
                               stdout=subprocess.DEVNULL)
            return time.perf_counter() - start

        def reference():
            start = time.perf_counter()
            meta, tensors = scipy_decompose.hcstats.load(path)
            layers = [int(x) for x in meta.get("moe_layers", "").split(",") if x]
            reference.results = [scipy_decompose.decompose_layer(tensors, layer) for layer in layers]
            return time.perf_counter() - start

        t_ours = best_of(args.repeat, ours)
        t_ref = best_of(args.repeat, reference)
        mine = json.loads(subprocess.run([args.cli, "decompose", path, "--json"], check=True,
                                         capture_output=True, text=True).stdout)["layers"]
    worst = 0.0
    for a, b in zip(mine, reference.results):
        total = sum(x * x for x in a["signal"])
        for part in ("gradient", "curl", "harmonic"):
            worst = max(worst, abs(a["energy"][part] / total - b[part]))
    result = {"file": args.file or "synth 48 x 128 (seed 2)", "layers": len(mine),
              "ours_seconds": t_ours, "reference_seconds": t_ref, "ratio": t_ours / t_ref,
              "reference_solver": scipy_decompose.SOLVER, "max_energy_share_difference": worst,
              "repeat": args.repeat}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"file: {result['file']}, {len(mine)} layers; best of {args.repeat}")
        print(f"  hodgecover decompose + select (2 processes): {t_ours * 1e3:8.1f} ms")
        print(f"  scipy reference decomposition:               {t_ref * 1e3:8.1f} ms"
              f"  ({scipy_decompose.SOLVER})")
        print(f"  ratio ours / reference: {t_ours / t_ref:.2f} (goal <= 0.5); largest energy-share"
              f" difference {worst:.1e}")
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
