#!/usr/bin/env python3
"""Tables of the gate-correction evidence (docs/results.md) from the reports that
scripts/gate_evidence.sh writes to docs/evidence/<model>-gate/report.json.

Usage: summarize_gate_evidence.py [--mode auto|linear|mass] MODEL...
auto (the default) tabulates what `apply --gate-correction auto` does: linear without Wanda,
mass with it.
Prints markdown: which correction is lowest on the calibration-side selection text, then per
model the held-out KL of every method uncorrected and corrected (paired 95% intervals of the
difference), and the corrected plan against the fixed output scale chosen on calibration text.
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(model):
    with open(os.path.join(ROOT, "docs", "evidence", model + "-gate", "report.json")) as f:
        return json.load(f)


def pct(x):
    return f"{100 * x:g}%"


def interval(i):
    return f"[{i['low']:+.3f}, {i['high']:+.3f}]" if i else ""


def choice_table(models):
    print("| model | Wanda | cells | lowest calibration KL: off | linear | mass | mean calibration KL off / linear / mass |")
    print("|---|---|---:|---:|---:|---:|---|")
    for model in models:
        rows = [r for r in load(model)["rows"] if r.get("select_kl") is not None
                and r["output_scale"] == 1.0]
        for wanda in (0.0, 0.5):
            cells = {}
            for r in rows:
                if r["wanda"] != wanda:
                    continue
                cells.setdefault((r["method"], r["ratio"]), {})[r["gate_correction"]] = r["select_kl"]
            full = [c for c in cells.values() if len(c) == 3]
            wins = {m: 0 for m in ("off", "linear", "mass")}
            for c in full:
                wins[min(c, key=c.get)] += 1
            means = [sum(c[m] for c in full) / max(1, len(full)) for m in ("off", "linear", "mass")]
            print(f"| {model} | {'50%' if wanda else '–'} | {len(full)} | {wins['off']} | "
                  f"{wins['linear']} | {wins['mass']} | "
                  + " / ".join(f"{m:.3f}" for m in means) + " |")


def methods_and_ratios(effects):
    """The methods (in report order) and the sorted ratios of a list of gate effects."""
    methods = []
    for e in effects:
        if e["method"] not in methods:
            methods.append(e["method"])
    return methods, sorted({e["ratio"] for e in effects})


def effect_table(model, mode, wanda):
    report = load(model)
    effects = [e for e in report["gate_effects"]
               if e["gate_correction"] == mode and e["wanda"] == wanda]
    methods, ratios = methods_and_ratios(effects)
    print(f"\n**{model}**, {'with Wanda 50%' if wanda else 'without Wanda'}: held-out KL "
          f"uncorrected → `{mode}` (change; paired 95% interval of the difference)\n")
    print("| method | " + " | ".join(pct(r) + " removed" for r in ratios) + " |")
    print("|---|" + "---:|" * len(ratios))
    for method in methods:
        cells = []
        for r in ratios:
            e = next((e for e in effects if e["method"] == method and e["ratio"] == r), None)
            if e is None:
                cells.append("not run")
                continue
            change = (e["kl"] - e["kl_uncorrected"]) / e["kl_uncorrected"]
            cells.append(f"{e['kl_uncorrected']:.3f} → {e['kl']:.3f} ({100 * change:+.0f}%) "
                         f"{interval(e['kl_minus_uncorrected'])}")
        print(f"| {method} | " + " | ".join(cells) + " |")


def scale_table(model, mode):
    report = load(model)
    effects = [e for e in report["gate_effects"]
               if e["gate_correction"] == mode and e["wanda"] == 0.0 and "scaled" in e]
    methods, ratios = methods_and_ratios(effects)
    print(f"\n**{model}**: `{mode}` against the best fixed output scale of "
          "{0.4, 0.55, 0.7, 0.85} chosen on calibration text (without Wanda): corrected KL − "
          "scaled KL, paired 95% interval; the chosen scale in parentheses\n")
    print("| method | " + " | ".join(pct(r) + " removed" for r in ratios) + " |")
    print("|---|" + "---:|" * len(ratios))
    for method in methods:
        cells = []
        for r in ratios:
            e = next((e for e in effects if e["method"] == method and e["ratio"] == r), None)
            if e is None:
                cells.append("not run")
                continue
            d = e["kl_minus_scaled"]
            mark = "" if d is None else (" ✓" if d["high"] < 0 else (" ≈" if d["low"] <= 0 else " ✗"))
            cells.append(f"{e['kl'] - e['kl_scaled']:+.3f} {interval(d)} ({e['output_scale']:g}){mark}")
        print(f"| {method} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="auto", choices=["auto", "linear", "mass"])
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    print("Which correction is lowest on the calibration-side selection text, per (method, "
          "ratio) cell:\n")
    choice_table(args.models)
    for model in args.models:
        for wanda in (0.0, 0.5):
            mode = args.mode if args.mode != "auto" else ("mass" if wanda else "linear")
            effect_table(model, mode, wanda)
        scale_table(model, "linear" if args.mode == "auto" else args.mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
