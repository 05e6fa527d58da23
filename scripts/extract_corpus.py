#!/usr/bin/env python3
"""Deterministic plain-text corpus for the bundled models, from Debian's dict-jargon package
(The Jargon File 4.4.7, public domain; /usr/share/doc/dict-jargon/copyright).

Reads the dictd index and the gzip-compressed .dict.dz, takes every entry once in file order,
reflows each paragraph onto one line, drops the {cross-reference} braces, and splits by entry
ordinal: entries with ordinal % 10 == 7 are held out, the rest are training text; the
calibration split is the training entries with ordinal % 10 == 3 (a subset of training).

usage: extract_corpus.py OUT_DIR [--dict /usr/share/dictd/jargon]
writes OUT_DIR/train.txt, OUT_DIR/heldout.txt, OUT_DIR/calibration.txt
"""
import argparse
import gzip
import os
import re
import sys

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64_number(text):
    value = 0
    for ch in text:
        value = value * 64 + B64.index(ch)
    return value


def entries(base):
    spans = set()
    with open(base + ".index", encoding="utf-8") as index:
        for line in index:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
                continue
            spans.add((b64_number(parts[1]), b64_number(parts[2])))
    with gzip.open(base + ".dict.dz", "rb") as f:
        data = f.read()
    for offset, length in sorted(spans):
        yield data[offset:offset + length].decode("utf-8")


def clean(entry):
    paragraphs, current = [], []
    for line in entry.splitlines():
        line = line.strip()
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    text = "\n".join(paragraphs)
    text = text.replace("{", "").replace("}", "")
    text = re.sub(r"[ \t]+", " ", text)
    text = text.replace("“ ", "“").replace(" ”", "”")
    return text.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--dict", default="/usr/share/dictd/jargon")
    args = parser.parse_args()
    if not os.path.exists(args.dict + ".dict.dz"):
        sys.exit(f"extract_corpus: {args.dict}.dict.dz not found (apt-get install dict-jargon)")
    train, heldout, calibration = [], [], []
    for ordinal, entry in enumerate(entries(args.dict)):
        text = clean(entry)
        if not text:
            continue
        if ordinal % 10 == 7:
            heldout.append(text)
        else:
            train.append(text)
            if ordinal % 10 == 3:
                calibration.append(text)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, items in (("train", train), ("heldout", heldout), ("calibration", calibration)):
        with open(os.path.join(args.out_dir, name + ".txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n\n".join(items) + "\n")
        print(f"extract_corpus: {name}.txt: {len(items)} entries")


if __name__ == "__main__":
    main()
