"""One query at 10M candidates: two commits of the whole code, each on the snapshot its own code built.

    python bench/bench_versions_national.py --old 17a5d2a --old-dir …/10m-old --new HEAD --new-dir …/10m

Each ``--*-dir`` is the ``--dir`` of a ``bench_snapshot.py national`` run made with that commit's
code (a snapshot carries the fingerprint of the code that wrote it, so each version needs its
own: build them one after the other, ~6 min each). Then, ``--reps`` times, a process of each
version (which goes first alternates) opens its snapshot, warms up on 20 companies and answers
the same ``--queries`` companies as ``national`` (transparent scorer, top 10); the best time per
company over the reps is kept. Reports p50/p99/mean per version, the ratio, and whether both
versions give the same lists.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_versions import export, interleaved
from common import ROOT, machine, percentiles

CHILD = r'''
import json, sys, time
from pathlib import Path
import numpy as np
args = json.loads(sys.argv[1])
from matcher.ranking import snapshot  # the tree's code, imported before the benchmarks' folder is on the path
from matcher.ranking.engine import Engine
sys.path.insert(0, args["bench"])
from national_build import query_companies
engine = Engine(snapshot.open_generation(snapshot.current(Path(args["dir"]) / "index")))
picks = query_companies(args["queries"])
for c in picks[:20]:
    engine.match(c, top=10)
times, lists = [], []
for c in picks:
    t = time.perf_counter()
    res = engine.match(c, top=10)
    times.append(time.perf_counter() - t)
    lists.append([o.as_dict() for o in res.options])
print(json.dumps({"times": times, "lists": lists}))
'''


def run(tree: Path, args: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
    # the companies come from this script's folder (the same for both versions), the engine from the tree's code
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps({**args, "bench": str(Path(__file__).parent)})],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the run of {tree.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--old-dir", type=Path, required=True)
    ap.add_argument("--new", default="HEAD")
    ap.add_argument("--new-dir", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--code", type=Path, default=Path(tempfile.gettempdir()) / "reprise-bench-code")
    args = ap.parse_args()
    versions = {}
    for name, rev, folder in (("old", args.old, args.old_dir), ("new", args.new, args.new_dir)):
        sha, tree = export(rev, args.code)
        if not (tree.parent / "shared").exists():  # the exported code finds the reference data beside it
            (tree.parent / "shared").symlink_to(ROOT.parent / "shared")
        versions[name] = (sha, tree, {"dir": str(folder), "queries": args.queries})
    print(machine(), "\nold", versions["old"][0], "| new", versions["new"][0])
    results = interleaved(run, versions, args.reps)
    print(f"\n10M, transparent scorer, top 10: {args.queries} companies, best of {args.reps} per company")
    best = {}
    for name in ("old", "new"):
        best[name] = percentiles(list(np.min([res["times"] for res in results[name]], axis=0)))
        t = best[name]
        print(f"  {name} ({versions[name][0]}): p50 {t['p50']:.2f} ms, p99 {t['p99']:.2f} ms, mean {t['mean']:.2f} ms")
    same = sum(a == b for a, b in zip(results["old"][0]["lists"], results["new"][0]["lists"]))
    o, n = best["old"], best["new"]
    print(f"  old/new: p50 {o['p50'] / n['p50']:.2f}x, p99 {o['p99'] / n['p99']:.2f}x, mean {o['mean'] / n['mean']:.2f}x;"
          f" same lists {same} of {args.queries}")


if __name__ == "__main__":
    main()
