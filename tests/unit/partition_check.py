#!/usr/bin/env python3
"""Checks that the per-layer unit test entries (unit.wire, unit.crypto, ...) run every unit test
case exactly once, and that each case carries the tag of its layer and of no other.

The entries are read from ctest itself (`ctest --show-only=json-v1`), so what is checked is what
ctest runs. Each entry's Catch arguments are replayed with --list-test-names-only; the whole
binary lists every case. Fails, naming the cases, when:
  - a case is in no entry (it would never run in `ctest -L unit`),
  - a case is in two entries (it would run twice, and the per-layer sums would not add up),
  - an entry selects no case,
  - a case in tests/unit/LAYER/ lacks the [LAYER] tag, or a case carries the tag of another
    layer (`unit_tests "[LAYER]"` must select exactly what unit.LAYER runs).

Usage: partition_check.py BUILD_DIR [--drop ENTRY]
  --drop ENTRY  pretend ENTRY is not registered: the check must then fail (its negative test).
"""
import json
import subprocess
import sys


def names(command):
    # (Catch 2 exits with the number of cases listed, so the status says nothing here.)
    out = subprocess.run(command + ["--list-test-names-only"], check=False, capture_output=True, text=True)
    if not out.stdout.strip() and out.stderr.strip():
        sys.exit(f"partition_check: {' '.join(command)} failed: {out.stderr.strip()}")
    return [line for line in out.stdout.splitlines() if line.strip()]


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    build = args[0]
    drop = args[args.index("--drop") + 1] if "--drop" in args else None
    shown = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"],
                           check=True, capture_output=True, text=True)
    entries = {}
    for test in json.loads(shown.stdout)["tests"]:
        name = test["name"]
        if name.startswith("unit.") and name != drop and "command" in test and \
                test["command"] and test["command"][0].endswith("unit_tests"):
            entries[name] = test["command"]
    if not entries:
        sys.exit("partition_check: no unit.* entries that run unit_tests")
    binary = next(iter(entries.values()))[0]

    everything = names([binary])
    per_entry = {name: names(command) for name, command in sorted(entries.items())}
    problems = []
    total = 0
    seen = {}
    for entry, cases in per_entry.items():
        print(f"{entry}: {len(cases)} cases")
        total += len(cases)
        if not cases:
            problems.append(f"{entry} selects no case")
        for case in cases:
            seen.setdefault(case, []).append(entry)
    print(f"sum {total}, unit_tests has {len(everything)} cases")
    lost = [c for c in everything if c not in seen]
    twice = {c: e for c, e in seen.items() if len(e) > 1}
    if lost:
        problems.append(f"{len(lost)} case(s) in no entry:\n  " + "\n  ".join(lost))
    for case, where in twice.items():
        problems.append(f"'{case}' is in {len(where)} entries: {', '.join(where)}")
    if total != len(everything):
        problems.append(f"the entries run {total} cases, unit_tests has {len(everything)}")

    # The layer tags must select the same cases as the layer entries (source folders).
    for entry, cases in per_entry.items():
        layer = entry.split(".", 1)[1]
        tagged = set(names([binary, f"[{layer}]"]))
        in_folder = set(cases)
        for case in sorted(in_folder - tagged):
            problems.append(f"'{case}' (tests/unit/{layer}/) lacks the tag [{layer}]")
        for case in sorted(tagged - in_folder):
            where = ", ".join(seen.get(case, ["no entry"]))
            problems.append(f"'{case}' ({where}) carries the tag [{layer}] of another layer")

    if problems:
        print("FAIL: the unit entries do not partition the unit test cases:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"PASS: {len(per_entry)} entries, each case exactly once, tags match the folders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
