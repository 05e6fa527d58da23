#!/usr/bin/env python3
"""Tabulates the substitution evidence (scripts/substitution_evidence.sh) from
docs/evidence/<model>-substitution*/report.json: per model, removal ratio and Wanda share, the
held-out KL of each variant, the best existing and the best new method (substitute,
hodgerank, hodgecover.flow) with the new one's paired 95% interval against the lowest row,
and the variant chosen on the selection half of the calibration text.
Usage: scripts/summarize_substitution_evidence.py [REPORT_DIR...]"""
import glob
import json
import os
import sys

NEW = {"substitute", "substitute.merge", "hodgerank", "hodgecover.flow"}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dirs = sys.argv[1:] or sorted(glob.glob(os.path.join(root, "docs/evidence/*-substitution*")))
    for d in dirs:
        with open(os.path.join(d, "report.json"), encoding="utf-8") as f:
            report = json.load(f)
        print(f"\n### {os.path.basename(d)}\n")
        print("| removed | Wanda | best existing (KL) | best new (KL) | new − lowest [95% CI] | "
              "chosen on calibration (held-out KL) |")
        print("|---|---|---|---|---|---|")
        groups = {}
        for row in report["rows"]:
            if row.get("wanda") is None or row.get("kl") is None:
                continue
            groups.setdefault((row["ratio"], row["wanda"]), []).append(row)
        for (ratio, wanda), rows in sorted(groups.items()):
            old = [r for r in rows if r["variant"] not in NEW]
            new = [r for r in rows if r["variant"] in NEW]
            if not old or not new:
                continue
            bo = min(old, key=lambda r: r["kl"])
            bn = min(new, key=lambda r: r["kl"])
            lo, hi = bn["kl_minus_best"]["low"], bn["kl_minus_best"]["high"]
            est = bn["kl_minus_best"]["estimate"]
            chosen = [r for r in rows if r.get("chosen")]
            pick = f"{chosen[0]['variant']} ({chosen[0]['kl']:.3f})" if chosen else "–"
            print(f"| {100 * ratio:.1f}% | {'–' if not wanda else f'{100 * wanda:.0f}%'} | "
                  f"{bo['variant']} ({bo['kl']:.3f}) | {bn['variant']} ({bn['kl']:.3f}) | "
                  f"{est:+.3f} [{lo:+.3f}, {hi:+.3f}] | {pick} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
