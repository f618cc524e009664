"""``bench_snapshot.py national``: a snapshot of 10M generated candidates, opened and queried.

Built once in parts of 1M rows (generated, validated as an import validates them, indexed, then
dropped) merged into one index (``matcher.ranking.merge``) and written as a snapshot under
``--dir``; ids of the parts after the first get a suffix, the generator's sequences repeating
across seeds. The store is left out: importing 10M rows into SQLite is not what is measured.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import numpy as np
from bench_snapshot import QUERY_SEED, in_child, load, memory_mb
from common import percentiles, places, timed

PART = 1_000_000


def build(n: int, folder: Path) -> dict:
    from matcher.contract.imports import validate_frame
    from matcher.demo.build import synth_candidates
    from matcher.ranking import snapshot
    from matcher.ranking.building import infer_sought
    from matcher.ranking.index import CandidateIndex
    from matcher.ranking.merge import merge
    pl = places()
    parts, cache, t0 = [], {}, time.perf_counter()
    for c in range(-(-n // PART)):
        raw = synth_candidates(min(PART, n - c * PART), seed=100 + c, places=pl)
        clean, reasons = validate_frame("candidates", raw)
        clean = clean[reasons.fillna("") == ""].reset_index(drop=True)
        if c:
            clean["candidate_id"] = clean["candidate_id"].astype(str) + f"~{c}"
        parts.append(CandidateIndex.from_frame(clean, sought_inferred=infer_sought(clean, None, cache)))
        del raw, clean, reasons
        gc.collect()
        print(f"  part {c + 1}: {len(parts[-1]):,} candidates, {time.perf_counter() - t0:.0f} s — {load()}", flush=True)
    index, t_merge = timed(merge, parts)
    del parts
    gc.collect()
    gen, t_write = timed(snapshot.write, index, folder, revision=0)
    size = sum(p.stat().st_size for p in gen.iterdir())
    return {"n": len(index), "build_s": time.perf_counter() - t0, "merge_s": t_merge, "write_s": t_write,
            "bytes": size, "gen": str(gen)}


def query_companies(n: int) -> list[dict]:
    """The companies the 10M queries are about: ``n`` drawn (with repeats) from 400 generated."""
    from matcher.contract.imports import validate_frame
    from matcher.demo.build import synth_companies
    raw = synth_companies(400, seed=QUERY_SEED, places=places())
    clean, reasons = validate_frame("companies", raw)  # as stored: NAF normalised, missing values None
    clean = clean[reasons.fillna("") == ""]
    comps = clean.astype(object).where(clean.notna(), None).to_dict("records")
    return [comps[i] for i in np.random.default_rng(0).choice(len(comps), size=n)]


def query(gen: str, n_queries: int) -> dict:
    before = memory_mb()
    from matcher.ranking import snapshot
    from matcher.ranking.engine import Engine
    from matcher.ranking.index import CandidateIndex
    libs = memory_mb()
    index, t_open = timed(snapshot.open_generation, gen)
    _, t_unverified = timed(lambda: snapshot.index_from_arrays(CandidateIndex, snapshot.load(Path(gen), verify=False)[0]))
    opened = memory_mb()
    engine = Engine(index)
    picks = query_companies(n_queries)
    for c in picks[:20]:
        engine.match(c, top=10)
    samples, scored = [], []
    for c in picks:
        t = time.perf_counter()
        res = engine.match(c, top=10)
        samples.append(time.perf_counter() - t)
        scored.append(len(index) - sum(res.excluded_counts.values()))
    after = memory_mb()
    return {"open_s": t_open, "open_unverified_s": t_unverified, "q": percentiles(samples),
            "scored_median": float(np.median(scored)), "scored_p99": float(np.percentile(scored, 99)),
            "mem_start": before, "mem_libs": libs, "mem_opened": opened, "mem_after": after, "load": load(),
            "n": len(index)}


def national(args) -> None:
    from matcher.ranking import snapshot
    folder = args.dir / "index"
    gen = snapshot.current(folder)
    if gen is None:
        b = build(args.n, folder)
        (args.dir / "build.json").write_text(json.dumps(b))
        print(f"built {b['n']:,} candidates in {b['build_s']:.0f} s (merge {b['merge_s']:.0f} s, write "
              f"{b['write_s']:.0f} s): {b['bytes'] / 2**20:,.0f} MB on disk = {b['bytes'] / b['n']:.0f} B/candidate")
        gen = snapshot.current(folder)
    q = in_child(query, str(gen), args.queries)
    n = q["n"]
    per = lambda mb: mb * 2**20 / n
    print(f"\n{n:,} candidates: open the snapshot {q['open_s']:.1f} s with every file's XXH3 hash checked "
          f"({q['open_unverified_s']:.2f} s with sizes only); target ≤ 10 s — {q['load']}")
    print(f"one query, transparent scorer, top 10 explained: p50 {q['q']['p50']:.2f} ms, p99 {q['q']['p99']:.2f} ms "
          f"({q['q']['n']} queries; target p99 ≤ 30 ms); candidates scored median {q['scored_median']:,.0f}, "
          f"p99 {q['scored_p99']:,.0f}")
    print(f"memory: libraries {q['mem_libs']['Rss']:,.0f} MB RSS; after opening {q['mem_opened']['Rss']:,.0f} MB; "
          f"after the queries RSS {q['mem_after']['Rss']:,.0f} MB = {per(q['mem_after']['Rss']):.0f} B/candidate "
          f"(of which private {q['mem_after']['Private']:,.0f} MB = {per(q['mem_after']['Private']):.0f} B/candidate, "
          f"shared file pages {q['mem_after'].get('Shared_Clean', 0):,.0f} MB); target ≤ 300 B/candidate")
