#!/usr/bin/env python3
"""Lists the longest functions of the project's C++ sources (a guide for refactoring).

Usage: scripts/function_lengths.py [COUNT] [PATH...]   (default 10; core native ui web)
A function is a definition whose body opens with '{' at the end of a line and closes with '}'
at the same indentation; lambdas inside it count towards it. Lines include the signature.
"""
import os
import re
import sys

HEAD = re.compile(r"^(\s*)[A-Za-z_][\w:<>,\s\*&~\[\]]*\b([\w~]+(?:::[\w~]+)*)\s*\(")


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    i = 0
    while i < len(lines):
        m = HEAD.match(lines[i])
        if m and not lines[i].lstrip().startswith(("if", "for", "while", "switch", "return", "//")):
            indent = m.group(1)
            j = i
            while j < len(lines) and j < i + 8 and not lines[j].rstrip().endswith("{"):
                if lines[j].rstrip().endswith(";"):
                    break
                j += 1
            if j < len(lines) and lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
                end = j + 1
                while end < len(lines) and lines[end] != indent + "}":
                    end += 1
                if end < len(lines):
                    yield m.group(2), i + 1, end - i + 1
                    i = end
        i += 1


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10
    roots = [a for a in sys.argv[1:] if not a.isdigit()] or ["core", "native", "ui", "web"]
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                if name.endswith(".cpp"):
                    path = os.path.join(folder, name)
                    found += [(n, path, line, length) for n, line, length in functions(path)]
    found.sort(key=lambda f: -f[3])
    for name, path, line, length in found[:count]:
        print(f"{length:5d}  {name}  {path}:{line}")


if __name__ == "__main__":
    main()
