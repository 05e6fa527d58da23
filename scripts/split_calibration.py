#!/usr/bin/env python3
"""Splits a text file into two halves of whole lines: DIR/calibration_a.txt (statistics) and
DIR/calibration_b.txt (choosing). Used by the evidence scripts.
Usage: split_calibration.py TEXT DIR"""
import sys

lines = open(sys.argv[1], encoding="utf-8").read().splitlines(keepends=True)
half = len(lines) // 2
open(sys.argv[2] + "/calibration_a.txt", "w", encoding="utf-8").writelines(lines[:half])
open(sys.argv[2] + "/calibration_b.txt", "w", encoding="utf-8").writelines(lines[half:])
