"""One query at 1M candidates: the search of an earlier commit against this one, interleaved.

    python bench/bench_bounds.py --dir /work/scratch/index-bench/1m --old 9f3b6d4 [--model DIR]

Uses the data of ``bench_snapshot.py prepare``. The earlier search (``matcher/ranking/search.py``
at ``--old``) is loaded beside this one and both answer the same requests on the same opened
index, alternately (which goes first alternates too), ``--reps`` times per company; the best time
per company is kept (the machine is shared). The earlier search must call the index as this
code offers it (it did not once the postings were read with their tags, ``Reach.ties_in_box``,
instead of ``posted_in_reach``); to compare two commits whose change reaches beyond the search,
``bench_versions.py`` runs each commit's whole code in its own processes. Reports p50/p99 of those, the candidates scored per
query (which does not depend on the load), the distances measured per query (``_in_reach``),
and checks that both give the same lists, and the list of scoring everything in reach on a
sample. With ``--model``, the same for the promoted learned ranker of that registry.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_snapshot import load
from common import ROOT, machine, percentiles


def old_search(rev: str):
    """``matcher/ranking/search.py`` as it was at ``rev``, as a module of its own."""
    text = subprocess.run(["git", "show", f"{rev}:matcher/ranking/search.py"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_search.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_search", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_search"] = module
    spec.loader.exec_module(module)
    return module


def answer(engine, strategy, company, top: int = 10):
    """``Engine.match`` with ``strategy`` in place of the linked-first search."""
    from matcher.ranking.search import LINKED_FIRST, Request
    q, notes = engine.query_for(company)
    req = Request(q, None, top)
    chosen = engine.search_for(req)
    ranked = (strategy if chosen is LINKED_FIRST else chosen).rank(engine, req)
    return ranked.result(q, notes, engine.scorer, explain=False, limit=None)


def compare(engine, variants: dict, rows: dict, sirens: list[str], reps: int) -> dict:
    best = {name: np.full(len(sirens), np.inf) for name in variants}
    names = list(variants)
    for r in range(reps):
        for i, s in enumerate(sirens):
            for name in (names if (r + i) % 2 == 0 else names[::-1]):
                t = time.perf_counter()
                answer(engine, variants[name], rows[s])
                best[name][i] = min(best[name][i], time.perf_counter() - t)
    out = {"load": load()}
    ix = engine.index
    measured = {"n": 0}
    plain_in_reach = ix._in_reach

    def counting(lat, lon, cand, limit):
        measured["n"] += len(cand)
        return plain_in_reach(lat, lon, cand, limit)

    for name, strategy in variants.items():
        scored, distances = [], []
        ix._in_reach = counting
        for s in sirens:
            measured["n"] = 0
            res = answer(engine, strategy, rows[s])
            scored.append(len(ix) - sum(res.excluded_counts.values()))
            distances.append(measured["n"])
        del ix._in_reach
        out[name] = {"time_ms": percentiles(list(best[name])), "scored_median": float(np.median(scored)),
                     "scored_p99": float(np.percentile(scored, 99)),
                     "measured_median": float(np.median(distances)), "measured_p99": float(np.percentile(distances, 99))}
    lists = {name: [answer(engine, v, rows[s]).rows() for s in sirens] for name, v in variants.items()}
    first = lists[names[0]]
    out["same_lists"] = {name: sum(a == b for a, b in zip(first, lists[name])) for name in names[1:]}
    return out


def batch_sample(engine, old_strategy, n: int, chunk: int = 250) -> dict:
    """``match_all`` (one process) over ``n`` companies of the batch, by chunks, the old and the
    new search alternately: seconds each and companies per second."""
    from matcher.ranking.batch import match_all
    from matcher.ranking.search import LINKED_FIRST
    from matcher.store.records import company_rows
    companies = company_rows(engine.reader.db)[-n:] if n else []
    new_choice = engine.search_for

    def old_choice(req):
        chosen = new_choice(req)
        return old_strategy if chosen is LINKED_FIRST else chosen

    spent = {"old": 0.0, "new": 0.0}
    for i, lo in enumerate(range(0, len(companies), chunk)):
        for name in (("old", "new") if i % 2 == 0 else ("new", "old")):
            engine.search_for = old_choice if name == "old" else new_choice
            t = time.perf_counter()
            match_all(engine, companies[lo:lo + chunk], top=10)
            spent[name] += time.perf_counter() - t
    engine.search_for = new_choice
    return {name: {"s": t, "per_s": len(companies) / t} for name, t in spent.items()} | {"n": len(companies),
                                                                                           "load": load()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--old", default="main", help="commit whose search is compared (default main)")
    ap.add_argument("--model", type=Path, help="a model registry folder with a promoted learned ranker")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--full", type=int, default=40, help="companies also checked against scoring everything")
    ap.add_argument("--batch", type=int, default=0, help="companies of the batch ranked by match_all, by chunks")
    args = ap.parse_args()
    from matcher import store
    from matcher.ranking.engine import Engine
    from matcher.ranking.search import FULL, LINKED_FIRST
    from matcher.store.records import company_rows
    head = subprocess.run(["git", "log", "--oneline", "-1"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()
    print(machine(), "\ncode at", head, "| old search at", args.old)
    db = store.connect(f"sqlite:///{args.dir / 'reprise.db'}")
    facts = json.loads((args.dir / "facts.json").read_text())
    rows = {r["siren"]: r for r in company_rows(db, facts["query_sirens"])}
    sirens = [str(s) for s in facts["query_sirens"][:args.queries]]
    engine = Engine.open(db, args.dir / "reprise.db.index")
    variants = {"old": old_search(args.old).LINKED_FIRST, "new": LINKED_FIRST}
    scorers = [("transparent", engine.scorer)]
    if args.model:
        from matcher.learning.registry import Registry
        scorers.append(("learned", Registry(args.model).current_scorer()))
    for label, scorer in scorers:
        eng = Engine(engine.index, scorer=scorer, poles=engine.poles)
        for s in sirens[:10]:  # warm-up
            for v in variants.values():
                answer(eng, v, rows[s])
        out = compare(eng, variants, rows, sirens, args.reps)
        sample = sirens[:args.full]
        full = sum(answer(eng, FULL, rows[s]).rows() == answer(eng, LINKED_FIRST, rows[s]).rows() for s in sample)
        out["same_as_scoring_everything"] = f"{full} of {len(sample)}"
        print(f"\n{label}: {len(sirens)} companies, best of {args.reps} each, interleaved ({out['load']})")
        for name in variants:
            o = out[name]
            t = o["time_ms"]
            print(f"  {name}: p50 {t['p50']:.2f} ms, p99 {t['p99']:.2f} ms, mean {t['mean']:.2f} ms; scored median "
                  f"{o['scored_median']:,.0f}, p99 {o['scored_p99']:,.0f}; distances measured median "
                  f"{o['measured_median']:,.0f}, p99 {o['measured_p99']:,.0f}")
        print(f"  same lists as old: {out['same_lists']}; new = scoring everything: {out['same_as_scoring_everything']}")
    if args.batch:
        b = batch_sample(engine, variants["old"], args.batch)
        print(f"\nmatch_all, one process, {b['n']:,} companies of the batch by chunks of 250, alternately "
              f"({b['load']}): " + "; ".join(f"{k} {b[k]['s']:.1f} s = {b[k]['per_s']:.0f} companies/s"
                                            for k in ("old", "new")))


if __name__ == "__main__":
    main()
