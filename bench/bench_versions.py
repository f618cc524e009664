"""One query at 1M candidates: two commits of the whole code, each in its own processes, interleaved.

    python bench/bench_versions.py --dir /work/scratch/index-bench/1m --old main --new HEAD [--model DIR]

Uses the data of ``bench_snapshot.py prepare``. ``bench_bounds.py`` swaps the search strategy only;
when a change reaches the features, the index's reads or the scorers, the two versions must run
their own code throughout. Each commit is exported (``git archive``) and its index snapshot kept
in a folder of its own next to the store (a snapshot carries the fingerprint of the code that
wrote it). Then, ``--reps`` times, a process of each version (which goes first alternates) opens
its snapshot, warms up on 10 companies and answers the ``--queries`` companies once with the
transparent scorer and, with ``--model``, the promoted learned ranker; the best time per company
over the reps is kept. Reports p50/p99/mean per version and scorer, the ratio, the candidates
scored per query, and whether both versions give the same lists. With ``--batch``, then
``reprise match --all`` end to end (transparent scorer, the batch's companies of the store) with
each version's code and snapshot, alternately, ``--batch`` times each: seconds and same output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, machine, percentiles

CHILD = r'''
import json, sys, time
from pathlib import Path
args = json.loads(sys.argv[1])
from matcher import store
from matcher.ranking.engine import Engine
from matcher.store.records import company_rows
d = Path(args["dir"])
db = store.connect(f"sqlite:///{d / 'reprise.db'}")
facts = json.loads((d / "facts.json").read_text())
sirens = [str(s) for s in facts["query_sirens"][:args["queries"]]]
rows = {r["siren"]: r for r in company_rows(db, sirens)}
engine = Engine.open(db, Path(args["index"]))
scorers = [("transparent", engine.scorer)]
if args.get("model"):
    from matcher.learning.registry import Registry
    scorers.append(("learned", Registry(args["model"]).current_scorer()))
out = {}
for label, scorer in scorers:
    eng = Engine(engine.index, scorer=scorer, poles=engine.poles)
    for s in sirens[:10]:
        eng.match(rows[s])
    times, lists, scored = [], [], []
    for s in sirens:
        t = time.perf_counter()
        res = eng.match(rows[s])
        times.append(time.perf_counter() - t)
        lists.append([o.as_dict() for o in res.options])
        scored.append(len(eng.index) - sum(res.excluded_counts.values()))
    out[label] = {"times": times, "lists": lists, "scored": scored}
print(json.dumps(out))
'''


def export(rev: str, into: Path) -> tuple[str, Path]:
    """The commit's tree under ``into/code-<id>`` (made once)."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    tree = into / f"code-{sha}"
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return sha, tree


def run(tree: Path, args: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], cwd=tree, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def interleaved(run_one, versions: dict, reps: int) -> dict[str, list[dict]]:
    """``reps`` runs of each version (``run_one(tree, args)``), which goes first alternating."""
    results: dict[str, list[dict]] = {"old": [], "new": []}
    for r in range(reps):
        for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
            load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
            results[name].append(run_one(versions[name][1], versions[name][2]))
            print(f"  rep {r + 1} {name} done ({load})", flush=True)
    return results


def match_all(tree: Path, folder: Path, index: str) -> tuple[float, str, str]:
    """``reprise match --all`` with the code of ``tree``: seconds, its summary line, the output's hash."""
    empty = Path(tempfile.mkdtemp())  # no promoted model: the transparent scorer
    out = Path(tempfile.mkdtemp()) / "all.csv"
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1", "REPRISE_MODELS_DIR": str(empty),
           "REPRISE_INDEX_PATH": index}
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "matcher.cli", "--db", f"sqlite:///{folder / 'reprise.db'}", "match",
                           "--all", "--out", str(out)], env=env, capture_output=True, text=True, check=True, cwd=tree)
    spent = time.perf_counter() - t
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    out.unlink()
    return spent, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "", digest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--old", default="main")
    ap.add_argument("--new", default="HEAD")
    ap.add_argument("--model", type=Path, help="a model registry folder with a promoted learned ranker")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=0, help="runs of `reprise match --all` per version (0: none)")
    ap.add_argument("--code", type=Path, default=Path(tempfile.gettempdir()) / "reprise-bench-code")
    args = ap.parse_args()
    versions = {}
    for name, rev in (("old", args.old), ("new", args.new)):
        sha, tree = export(rev, args.code)
        versions[name] = (sha, tree, {"dir": str(args.dir), "index": str(args.dir / f"reprise.db.index-{sha}"),
                                      "queries": args.queries, "model": str(args.model) if args.model else None})
    print(machine(), "\nold", versions["old"][0], "| new", versions["new"][0])
    for _, tree, child in versions.values():  # build each snapshot once, untimed
        run(tree, {**child, "queries": 1, "model": None})
    results = interleaved(run, versions, args.reps)
    for label in results["old"][0]:
        print(f"\n{label}: {args.queries} companies, best of {args.reps} per company")
        best = {}
        for name in ("old", "new"):
            best[name] = np.min([res[label]["times"] for res in results[name]], axis=0)
            scored = results[name][0][label]["scored"]
            t = percentiles(list(best[name]))
            print(f"  {name} ({versions[name][0]}): p50 {t['p50']:.2f} ms, p99 {t['p99']:.2f} ms, mean {t['mean']:.2f}"
                  f" ms; scored median {np.median(scored):,.0f}, p99 {np.percentile(scored, 99):,.0f}")
        o, n = percentiles(list(best["old"])), percentiles(list(best["new"]))
        same = sum(a == b for a, b in zip(results["old"][0][label]["lists"], results["new"][0][label]["lists"]))
        print(f"  old/new: p50 {o['p50'] / n['p50']:.2f}x, p99 {o['p99'] / n['p99']:.2f}x, mean "
              f"{o['mean'] / n['mean']:.2f}x; same lists {same} of {args.queries}")
    for r in range(args.batch):
        for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
            load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
            spent, line, digest = match_all(versions[name][1], args.dir, versions[name][2]["index"])
            print(f"\n`reprise match --all`, {name} ({versions[name][0]}): {spent:.1f} s end to end; {line}; "
                  f"output sha256 {digest} ({load} at the start)", flush=True)


if __name__ == "__main__":
    main()
