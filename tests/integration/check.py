#!/usr/bin/env python3
"""Checks on the files the integration tests collect, where bash is clumsy.

Lines are compared as bytes, split on b"\\n" only: payloads are written "as
received", so a decode/encode round trip could hide a changed byte.

  check.py same-json A B          same line count, line i of A equal to line i
                                  of B as JSON (both must parse)
  check.py events FILE N          exactly N lines, each a JSON object with the
                                  event fields (timestamp, service_name, level,
                                  message) as strings
  check.py cover EXPECTED FILE... every line of EXPECTED is in some FILE, no
                                  FILE holds a line not in EXPECTED, and no
                                  line appears more than once across FILEs
  check.py cover-some EXPECTED FILE...
                                  like cover, but a line may appear more than
                                  once (at-least-once delivery)

Exit 0 when the check holds; otherwise 1, with the reason on stderr.
"""
import collections
import json
import sys


def lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    if not data.endswith(b"\n"):
        sys.exit(f"{path}: last line has no newline")
    return data[:-1].split(b"\n")


def show(line, limit=160):
    text = repr(line)
    return text if len(text) <= limit else text[:limit] + "..."


def parse(path, i, line):
    try:
        return json.loads(line)
    except ValueError as e:
        sys.exit(f"{path}:{i + 1}: not JSON ({e}): {show(line)}")


def same_json(a, b):
    la, lb = lines(a), lines(b)
    if len(la) != len(lb):
        sys.exit(f"{a} has {len(la)} lines, {b} has {len(lb)}")
    for i, (x, y) in enumerate(zip(la, lb)):
        if parse(a, i, x) != parse(b, i, y):
            sys.exit(f"line {i + 1} differs as JSON:\n  {a}: {show(x)}\n"
                     f"  {b}: {show(y)}")


def events(path, n):
    ls = lines(path)
    if len(ls) != n:
        sys.exit(f"{path}: expected {n} lines, got {len(ls)}")
    for i, line in enumerate(ls):
        ev = parse(path, i, line)
        if not isinstance(ev, dict):
            sys.exit(f"{path}:{i + 1}: not a JSON object: {show(line)}")
        for field in ("timestamp", "service_name", "level", "message"):
            if not isinstance(ev.get(field), str):
                sys.exit(f"{path}:{i + 1}: no string {field}: {show(line)}")


def cover(expected, files, dups_allowed):
    want = lines(expected)
    if len(set(want)) != len(want):
        sys.exit(f"{expected}: the expected lines are not unique; "
                 "the test cannot tell duplicates apart")
    seen = collections.Counter()
    for path in files:
        seen.update(lines(path))
    wanted = set(want)
    missing = [w for w in want if w not in seen]
    extra = [s for s in seen if s not in wanted]
    dups = [s for s, c in seen.items() if c > 1]
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(want)} expected lines in no "
                        f"output (lost), e.g. {show(missing[0])}")
    if extra:
        problems.append(f"{len(extra)} lines that were never expected, e.g. "
                        f"{show(extra[0])}")
    if dups and not dups_allowed:
        problems.append(f"{len(dups)} lines printed more than once, e.g. "
                        f"{show(dups[0])}")
    if problems:
        sys.exit("; ".join(problems) + f" (outputs: {' '.join(files)})")


def main(argv):
    if len(argv) == 3 and argv[0] == "same-json":
        same_json(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "events":
        events(argv[1], int(argv[2]))
    elif len(argv) >= 3 and argv[0] in ("cover", "cover-some"):
        cover(argv[1], argv[2:], argv[0] == "cover-some")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
