#!/usr/bin/env python3
"""Runs a command and appends one benchmark record (a JSON line) for it.

    bench/measure.py RESULTS KEY=VALUE... -- COMMAND [ARG]...

The record holds the KEY=VALUE fields given (a value that parses as a
number is stored as one), and what the run cost: wall_s, cpu_s (user and
system time of the command and its children) and rss_kb (the peak resident
set of the largest of them). A command that fails fails this, and writes no
record. With stdout=FILE among the fields the command's stdout goes to FILE
instead of the record (FILE may be /dev/null); stdin=FILE likewise.
"""
import json
import os
import resource
import subprocess
import sys
import time


def value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main(argv):
    if "--" not in argv or argv.index("--") < 2:
        sys.exit("usage: measure.py RESULTS KEY=VALUE... -- COMMAND [ARG]...")
    cut = argv.index("--")
    results, fields, command = argv[1], argv[2:cut], argv[cut + 1:]
    record = {}
    for field in fields:
        key, _, text = field.partition("=")
        record[key] = value(text)
    stdout = open(record.pop("stdout"), "wb") if "stdout" in record else None
    stdin = open(record.pop("stdin"), "rb") if "stdin" in record else None
    start = time.monotonic()
    proc = subprocess.run(command, stdout=stdout, stdin=stdin)
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"measure.py: {command[0]} exited with {proc.returncode}")
    record.update(wall_s=round(wall, 4),
                  cpu_s=round(usage.ru_utime + usage.ru_stime, 4),
                  rss_kb=usage.ru_maxrss)
    with open(results, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main(sys.argv)
