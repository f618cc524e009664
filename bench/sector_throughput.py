"""Sector inference throughput, before and after the statistical division model, in one run.

    flock /work/locks/bench.lock python bench/sector_throughput.py [--n 5000] [--repeats 5] [--before-ref main]

"before" is the inferer as it was at ``--before-ref`` (its ``matcher/reference/sectors.py``,
read from git and run against this checkout's other modules: the lexicon and RapidFuzz label
matching); "after" is this checkout's ``SectorInferer.infer`` (lexicon + the model). Both run on
the same distinct texts (pairs of fixture texts "a, b", so nothing is served from
de-duplication), interleaved, best of ``--repeats``; the model is built before timing (its build
time is printed apart: it is paid once per process).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def texts(n: int) -> list[str]:
    pool = [r["text"] for name in ("activity_labels.csv", "activity_holdout.csv")
            for r in csv.DictReader(open(FIXTURES / name, encoding="utf-8")) if r["text"]]
    pairs = sorted({f"{a}, {b}" for a in pool for b in pool if a != b})
    return random.Random(0).sample(pairs, min(n, len(pairs)))


def old_inferer(ref: str):
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:matcher/reference/sectors.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("sectors_before")
    sys.modules["sectors_before"] = module
    exec(compile(source, f"{ref}:matcher/reference/sectors.py", "exec"), module.__dict__)
    return module.SectorInferer()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before-ref", default="main")
    args = parser.parse_args()
    from matcher.reference.sector_model import default_model
    from matcher.reference.sectors import SectorInferer

    start = time.perf_counter()
    model = default_model()
    build = time.perf_counter() - start
    after = SectorInferer(model=model)
    after.infer(["boulangerie"])  # the label matrix, once
    before = old_inferer(args.before_ref)
    sample = texts(args.n)
    best = {"before": float("inf"), "after": float("inf")}
    for _ in range(args.repeats):
        for name, method in (("before", before.infer), ("after", after.infer)):
            t = time.perf_counter()
            method(sample)
            best[name] = min(best[name], time.perf_counter() - t)
    print(f"{len(sample)} distinct texts, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"best of {args.repeats}")
    print(f"model build (once per process): {build:.2f} s")
    for name, seconds in best.items():
        print(f"{name:7s} {len(sample) / seconds:>10,.0f} texts/s ({seconds * 1000:.0f} ms)")
    print(f"after / before: {best['before'] / best['after']:.2f}")


if __name__ == "__main__":
    main()
