#!/usr/bin/env python3
"""Summarises compare reports (docs/evidence/<model>-<stage>/report.json) as markdown.

choose: per variant, KL relative to the best variant of each (model, ratio, Wanda) group, the
mean of those ratios over all groups (the criterion that picks the defaults), and how often
the variant is indistinguishable from the best (paired 95% interval reaching 0).
report: per model, the held-out table of every method at every ratio with intervals.
Usage: scripts/summarize_evidence.py choose|report DIR...   (numpy-free; standard library only)
"""
import json
import sys


def load(dirs):
    for d in dirs:
        with open(f"{d}/report.json", encoding="utf-8") as f:
            r = json.load(f)
        name = d.rstrip("/").split("/")[-1].rsplit("-", 1)[0]
        yield name, r


def pct(x):
    return f"{100 * x:.1f}%" if x < 0.1 else f"{100 * x:.0f}%"


def choose(dirs):
    groups = {}  # (model, ratio, wanda) -> rows
    for model, r in load(dirs):
        for row in r["rows"]:
            if row.get("kl") is None or row["ratio"] == 0:
                continue
            groups.setdefault((model, row["ratio"], row["wanda"]), []).append(row)
    variants = []
    for rows in groups.values():
        for row in rows:
            if row["variant"] not in variants:
                variants.append(row["variant"])
    keys = sorted(groups)
    print("| variant | " + " | ".join(f"{m} {pct(r)}{'+W' if w else ''}" for m, r, w in keys)
          + " | mean KL / best | ≈ best |")
    print("|---|" + "---:|" * len(keys) + "---:|---:|")
    summary = []
    for v in variants:
        cells, ratios, tied = [], [], 0
        for k in keys:
            rows = groups[k]
            best = min(x["kl"] for x in rows)
            row = next((x for x in rows if x["variant"] == v), None)
            if row is None:
                cells.append("–")
                continue
            ratios.append(row["kl"] / best)
            d = row.get("kl_minus_best") or {}
            is_tied = d.get("low", 1) <= 0
            tied += is_tied
            cells.append(f"{row['kl'] / best:.3f}{'≈' if is_tied else ''}")
        mean = sum(ratios) / len(ratios) if ratios else float("nan")
        summary.append((mean, v))
        print(f"| {v} | " + " | ".join(cells) + f" | **{mean:.3f}** | {tied}/{len(ratios)} |")
    summary.sort()
    print()
    print("Lowest mean KL / best: " + ", ".join(f"{v} ({m:.3f})" for m, v in summary[:5]))
    # Compact: the mean ratio per model, then over everything.
    models = sorted({k[0] for k in keys})
    print()
    print("| variant | " + " | ".join(models) + " | all | ≈ best |")
    print("|---|" + "---:|" * (len(models) + 2))
    for mean, v in summary:
        cells = []
        tied = total = 0
        for m in models:
            ratios = []
            for k in keys:
                if k[0] != m:
                    continue
                rows = groups[k]
                best = min(x["kl"] for x in rows)
                row = next((x for x in rows if x["variant"] == v), None)
                if row is None:
                    continue
                ratios.append(row["kl"] / best)
                d = row.get("kl_minus_best") or {}
                tied += d.get("low", 1) <= 0
                total += 1
            cells.append(f"{sum(ratios) / len(ratios):.3f}" if ratios else "–")
        print(f"| {v} | " + " | ".join(cells) + f" | **{mean:.3f}** | {tied}/{total} |")


def report(dirs):
    for model, r in load(dirs):
        ref = r["reference"]
        print(f"\n### {model}\n")
        print(f"Original: perplexity {ref['perplexity']:.2f} on {r['tokens']} held-out tokens "
              f"({r['sequences']} sequences).\n")
        ratios = sorted({row["ratio"] for row in r["rows"] if row["ratio"] > 0})
        print("| method | " + " | ".join(f"{pct(x)} | {pct(x)} + Wanda 50%" for x in ratios)
              + " |")
        print("|---|" + "---:|" * (2 * len(ratios)))
        variants = []
        for row in r["rows"]:
            if row["variant"] not in variants and row["ratio"] > 0:
                variants.append(row["variant"])
        for v in variants:
            cells = []
            for x in ratios:
                for w in (False, True):
                    row = next((y for y in r["rows"] if y["variant"] == v and y["ratio"] == x
                                and (y["wanda"] > 0) == w), None)
                    if row is None or row.get("kl") is None:
                        cells.append("–")
                        continue
                    ci = row["kl_interval"]
                    d = row.get("kl_minus_best") or {}
                    best = d.get("high") == 0 and d.get("low") == 0
                    mark = "**" if best else ""
                    tie = "≈" if (not best and d.get("low", 1) <= 0) else ""
                    cells.append(f"{tie}{mark}{row['kl']:.3f}{mark} [{ci['low']:.3f}, {ci['high']:.3f}]")
            print(f"| {v} | " + " | ".join(cells) + " |")
        controls = [y for y in r["rows"] if y["variant"] == "wanda-only" and y.get("kl") is not None]
        if controls:
            print("\nWanda alone (every expert kept): " + "; ".join(
                f"{pct(y['wanda'])}: params {pct(y['parameters_kept'])}, KL {y['kl']:.3f}"
                for y in controls))
        front = [y for y in r["rows"] if y.get("frontier")]
        front.sort(key=lambda y: y["parameters_kept"])
        print("\nFrontier (parameters kept → KL): " + "; ".join(
            f"{pct(y['parameters_kept'])} → {y['kl']:.3f} {y['variant']}"
            f"{' r' + pct(y['ratio']) if y['ratio'] else ''}{' +W' if y['wanda'] else ''}"
            for y in front))
        if r.get("correlations"):
            print("\nSpearman(retained mass, KL) per ratio: " + "; ".join(
                f"{pct(c['ratio'])}: harmonic {c['harmonic']:+.2f}, gradient {c['gradient']:+.2f}, "
                f"triangle {c['triangle']:+.2f}, smallest {c['smallest']:+.2f}"
                for c in r["correlations"]))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("choose", "report"):
        sys.exit(__doc__)
    (choose if sys.argv[1] == "choose" else report)(sys.argv[2:])
