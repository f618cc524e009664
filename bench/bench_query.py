"""One advisor query over N generated candidates: the engine next to the plain approach.

    python bench/bench_query.py --candidates 100000 --queries 300 --plain-queries 5

Candidates and companies come from ``matcher.demo.build`` spread over the real communes; they are
imported through the real store (SQLite) and the engine is built from it. Prints p50/p99 per
query (top 10 with explanations), index memory per candidate, and the ratio to the plain approach.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import machine, percentiles, places, rss_mb, timed
from plain import plain_match, prepare

from matcher import store
from matcher.contract.imports import import_frame
from matcher.contract.specs import DEFAULT_RADIUS_KM
from matcher.demo.build import synth_candidates, synth_companies
from matcher.ranking.engine import Engine
from matcher.store.records import company_rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--companies", type=int, default=300)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--plain-queries", type=int, default=5)
    ap.add_argument("--explain-exclusions", action="store_true")
    args = ap.parse_args()
    print(machine())
    pl = places()
    cands, t_gen = timed(synth_candidates, args.candidates, seed=1, places=pl)
    comps = synth_companies(args.companies, seed=2, places=pl)
    with tempfile.TemporaryDirectory() as tmp:
        db = store.connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
        rep, t_imp = timed(import_frame, db, "candidates", cands)
        import_frame(db, "companies", comps)
        print(f"generated {len(cands):,} candidates in {t_gen:.1f}s; imported {rep.stored:,} "
              f"({rep.rejected} rejected) in {t_imp:.1f}s = {rep.stored / t_imp:,.0f} rows/s")
        before = rss_mb()
        engine, t_build = timed(Engine.from_store, db)
        grown = rss_mb() - before
        companies = company_rows(db)
    per_cand = index_bytes(engine.index) / len(engine.index)
    print(f"index built in {t_build:.1f}s; {per_cand:,.0f} bytes per candidate in the index "
          f"(process grew {grown:,.0f} MB while building)")
    for c in companies[:20]:  # warm-up
        engine.match(c, top=10)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(companies), size=args.queries, replace=True)
    samples, considered = [], []
    for i in picks:
        t = time.perf_counter()
        res = engine.match(companies[i], top=10, explain_exclusions=args.explain_exclusions)
        samples.append(time.perf_counter() - t)
        considered.append(len(engine.index) - sum(res.excluded_counts.values()))
    ours = percentiles(samples)
    plain_cands = prepare(cands.assign(lat=cands["lat"].astype(float), lon=cands["lon"].astype(float)),
                          DEFAULT_RADIUS_KM)
    plain_samples = []
    for i in picks[: args.plain_queries]:
        c = companies[i]
        company = {"lat": c["lat"], "lon": c["lon"], "text": c.get("activity") or ""}
        _, dt = timed(plain_match, company, plain_cands)
        plain_samples.append(dt)
    plain = percentiles(plain_samples)
    print(f"\ncandidates considered per query: median {np.median(considered):,.0f}, max {max(considered):,}")
    print(f"{'approach':<44}{'p50 ms':>10}{'p99 ms':>10}{'queries':>9}")
    print(f"{'engine (grid prefilter + numpy features)':<44}{ours['p50']:>10.2f}{ours['p99']:>10.2f}{ours['n']:>9}")
    print(f"{'plain (pandas cross join + per-pair fuzz)':<44}{plain['p50']:>10.2f}{plain['p99']:>10.2f}{plain['n']:>9}")
    print(f"ratio plain/engine: p50 {plain['p50'] / ours['p50']:.0f}x, p99 {plain['p99'] / ours['p99']:.0f}x")


def index_bytes(ix) -> int:
    """Bytes held by the index: numpy columns, id/name strings, postings, spatial keys."""
    import sys
    total = 0
    for name in ("kind", "lat", "lon", "radius_km", "naf_idx", "headcount", "capacity", "budget", "flags",
                 "division_of", "by_division", "coops", "keys"):
        total += getattr(ix, name).nbytes
    for arr in (ix.ids, ix.names):  # one UTF-8 buffer and the offsets
        total += arr.nbytes
    for postings in (ix.sought, ix.experience, ix.poles, ix.partners):
        total += sum(v.nbytes + sys.getsizeof(k) for k, v in postings.items())
    total += ix.lookup.hashes.nbytes + ix.lookup.positions.nbytes  # id -> position
    return total


if __name__ == "__main__":
    main()
