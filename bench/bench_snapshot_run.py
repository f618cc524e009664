"""The phases of ``bench_snapshot.py run`` and ``national`` (each in its own process)."""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from bench_snapshot import in_child, load, memory_mb
from common import ROOT, percentiles, timed

TARGETS = {"first": 2.0, "q": 10.0, "learned": 20.0, "batch": 180.0, "visible": 1.0, "worker": 0.25}


def _engines(folder: Path):
    from matcher import store
    from matcher.ranking.engine import Engine
    from matcher.store.records import company_rows
    db = store.connect(f"sqlite:///{folder / 'reprise.db'}")
    facts = json.loads((folder / "facts.json").read_text())
    rows = {r["siren"]: r for r in company_rows(db, facts["query_sirens"])}
    return db, facts, rows, Engine


def _time_queries(engine, rows, sirens, reps: int = 1) -> tuple[dict, list]:
    samples, scored = [], []
    for s in sirens:
        best = None
        for _ in range(reps):
            t = time.perf_counter()
            res = engine.match(rows[s], top=10)
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        samples.append(best)
        scored.append(len(engine.index) - sum(res.excluded_counts.values()))
    return percentiles(samples), scored


def query_phase(folder: str, n_queries: int, model: str | None) -> dict:
    """One query: snapshot-opened engine next to today's rebuilt one, interleaved; then learned."""
    folder = Path(folder)
    db, facts, rows, Engine = _engines(folder)
    snap, t_open = timed(Engine.open, db, folder / "reprise.db.index")
    out = {"open_s": t_open, "opened_from": snap.reader.opened_from}
    rebuilt, out["rebuild_s"] = timed(Engine.from_store, db)
    sirens = [str(s) for s in np.random.default_rng(0).choice(facts["query_sirens"], size=n_queries)]
    for e in (snap, rebuilt):
        _time_queries(e, rows, sirens[:20])  # warm-up
    out["load"] = load()
    halves = [sirens[i::2] for i in range(2)]  # interleaved: each engine gets both halves, alternately
    _a1, _ = _time_queries(snap, rows, halves[0])
    _b1, _ = _time_queries(rebuilt, rows, halves[0])
    _a2, scored = _time_queries(snap, rows, halves[1])
    _b2, _ = _time_queries(rebuilt, rows, halves[1])
    out["snapshot_q"], out["snapshot_scored"] = _time_queries(snap, rows, sirens)
    out["rebuilt_q"], _ = _time_queries(rebuilt, rows, sirens)
    out["snapshot_best3"], _ = _time_queries(snap, rows, list(dict.fromkeys(sirens)), reps=3)
    same = sum(snap.match(rows[s], top=10).rows() == rebuilt.match(rows[s], top=10).rows()
               for s in dict.fromkeys(sirens))
    out["same_lists"] = f"{same} of {len(set(sirens))}"
    scored = np.asarray(out["snapshot_scored"])
    out["scored_median"], out["scored_p99"] = float(np.median(scored)), float(np.percentile(scored, 99))
    slow = np.argsort(scored)[-max(3, len(scored) // 100):]
    prof = cProfile.Profile()
    prof.enable()
    for i in slow:
        snap.match(rows[sirens[i]], top=10)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
    out["profile_heaviest"] = buf.getvalue()
    del rebuilt
    if model:
        from matcher.learning.registry import Registry
        scorer = Registry(Path(model)).current_scorer()
        learned = Engine(snap.index, scorer=scorer, poles=snap.poles)
        _time_queries(learned, rows, sirens[:10])
        out["learned_q"], lscored = _time_queries(learned, rows, sirens)
        out["learned_scored_median"], out["learned_scored_p99"] = float(np.median(lscored)), float(
            np.percentile(lscored, 99))
        out["learned_best3"], _ = _time_queries(learned, rows, list(dict.fromkeys(sirens)), reps=3)

        class Unbounded(type(scorer)):  # today: the learned ranker offered no bound
            @property
            def bound(self):
                return None
        plain_scorer = Unbounded.__new__(Unbounded)
        plain_scorer.__dict__.update(scorer.__dict__)
        unbounded = Engine(snap.index, scorer=plain_scorer, poles=snap.poles)
        k = min(40, len(sirens))
        out["learned_unbounded_q"], _ = _time_queries(unbounded, rows, sirens[:k])
        same = sum(learned.match(rows[s], top=10).rows() == unbounded.match(rows[s], top=10).rows()
                   for s in sirens[:k])
        out["learned_same"] = f"{same} of {k}"
        slow = np.argsort(lscored)[-3:]
        prof = cProfile.Profile()
        prof.enable()
        for i in slow:
            learned.match(rows[sirens[i]], top=10)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(12)
        out["profile_learned"] = buf.getvalue()
    out["memory"] = memory_mb()
    return out


def plain_phase(folder: str, n: int) -> dict:
    from plain import plain_match, prepare

    from matcher import store
    from matcher.contract.specs import DEFAULT_RADIUS_KM
    db, facts, rows, _ = _engines(Path(folder))
    cands = store.read_frame(db, store.candidates)
    pc = prepare(cands.assign(lat=cands["lat"].astype(float), lon=cands["lon"].astype(float)), DEFAULT_RADIUS_KM)
    del cands
    samples = []
    for s in facts["query_sirens"][:n]:
        c = rows[s]
        _, dt = timed(plain_match, {"lat": c["lat"], "lon": c["lon"], "text": c.get("activity") or ""}, pc)
        samples.append(dt)
    return {"q": percentiles(samples), "load": load()}


def first_answer(folder: Path, siren: str, models: Path, env_extra: dict | None = None) -> float:
    """Wall time of `reprise match SIREN --format json` in a new process."""
    env = {**os.environ, "REPRISE_MODELS_DIR": str(models), **(env_extra or {})}
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "matcher.cli", "--db", f"sqlite:///{folder / 'reprise.db'}",
                           "match", siren, "--format", "json"], env=env, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t
    if done.returncode != 0 or '"options"' not in done.stdout:
        raise RuntimeError(done.stderr[-2000:])
    return dt


def write_phase(folder: str, writes: int) -> dict:
    """A candidate written as the API writes it, until the next query sees it; reads meanwhile."""
    from api.live_engine import LiveEngine
    from matcher import store
    from matcher.learning.registry import Registry
    folder = Path(folder)
    db, facts, rows, _ = _engines(folder)
    with tempfile.TemporaryDirectory() as tmp:
        live = LiveEngine(db, registry=Registry(Path(tmp)), index_dir=folder / "reprise.db.index")
        live.load()
        companies = [rows[s] for s in facts["query_sirens"][:50]]
        stop, reads, during = threading.Event(), [], []
        busy = threading.Event()

        def reader() -> None:
            i = 0
            while not stop.is_set():
                t = time.perf_counter()
                live.engine.match(companies[i % len(companies)], top=10)
                (during if busy.is_set() else reads).append(time.perf_counter() - t)
                i += 1

        th = threading.Thread(target=reader)
        th.start()
        time.sleep(2.0)
        visible, refresh = [], []
        template = store.fetch(db, store.candidates, [store.candidates.c.candidate_id == live.engine.index.ids[0]])[0]
        for k in range(writes):
            c = companies[k % len(companies)]
            row = {**template, "candidate_id": f"R-BENCH{k:05d}", "lat": c["lat"], "lon": c["lon"], "naf": c.get("naf"),
                   "radius_km": 30.0, "updated_at": store.now()}
            busy.set()
            t = time.perf_counter()
            store.upsert(db, store.candidates, [row])
            t_r = time.perf_counter()
            live.refresh()
            seen = any(o.candidate_id == row["candidate_id"] for o in live.engine.match(c, top=200).options) or \
                live.engine.index.position(row["candidate_id"]) is not None
            visible.append(time.perf_counter() - t)
            refresh.append(time.perf_counter() - t_r)
            busy.clear()
            assert seen
            time.sleep(0.3)
        stop.set()
        th.join()
        live.stop()
    return {"visible": percentiles(visible), "refresh": percentiles(refresh), "reads": percentiles(reads),
            "reads_during": percentiles(during) if during else None, "delta": live.reader.delta_size, "load": load()}


def national(args) -> None:
    from national_build import national as run_national
    run_national(args)


def run(args) -> None:
    folder = args.dir
    facts = json.loads((folder / "facts.json").read_text())
    print(f"{facts['n']:,} candidates (prepared: import {facts['import_s']:.1f}s, snapshot written "
          f"{facts['snapshot_s']:.1f}s) — {load()}")
    empty = Path(tempfile.mkdtemp())
    siren = facts["query_sirens"][0]
    firsts = []
    for _ in range(3):
        firsts.append(first_answer(folder, siren, empty))
    print(f"\nfirst answer of `reprise match {siren}` in a new process, snapshot present: "
          f"{', '.join(f'{x:.2f}' for x in firsts)} s (best {min(firsts):.2f}; target ≤ {TARGETS['first']} s) — {load()}")
    q = in_child(query_phase, str(folder), args.queries, str(args.model) if args.model else None)
    print(f"\nEngine.open (snapshot, checked) {q['open_s']:.2f} s ({q['opened_from']}) vs today's rebuild "
          f"Engine.from_store {q['rebuild_s']:.1f} s: {q['rebuild_s'] / q['open_s']:.0f}x — {q['load']}")
    print(f"{'one query, top 10 explained':<48}{'p50 ms':>9}{'p99 ms':>9}{'n':>6}")
    for name, key in (("snapshot (transparent)", "snapshot_q"), ("today's rebuilt index (transparent)", "rebuilt_q"),
                      ("snapshot, best of 3 per company", "snapshot_best3"), ("learned ranker with TreeBound", "learned_q"),
                      ("learned, best of 3 per company", "learned_best3"),
                      ("learned without a bound (today)", "learned_unbounded_q")):
        if key in q:
            print(f"{name:<48}{q[key]['p50']:>9.2f}{q[key]['p99']:>9.2f}{q[key]['n']:>6}")
    print(f"same lists snapshot vs rebuilt: {q['same_lists']}; candidates scored median {q['scored_median']:,.0f}, "
          f"p99 {q['scored_p99']:,.0f}")
    if "learned_q" in q:
        print(f"learned: scored median {q['learned_scored_median']:,.0f}, p99 {q['learned_scored_p99']:,.0f}; "
              f"same lists with and without the bound: {q['learned_same']}; ratio unbounded/bounded p50 "
              f"{q['learned_unbounded_q']['p50'] / q['learned_q']['p50']:.1f}x")
    print(f"memory of the query process: {q['memory']}")
    print("\nprofile of the heaviest transparent queries:\n" + q["profile_heaviest"])
    if "profile_learned" in q:
        print("profile of the heaviest learned queries:\n" + q["profile_learned"])
    p = in_child(plain_phase, str(folder), 3)
    print(f"plain approach (cross join + per-pair RapidFuzz), 3 queries: p50 {p['q']['p50']:.0f} ms = "
          f"{p['q']['p50'] / q['snapshot_q']['p50']:.0f}x the snapshot engine — {p['load']}")
    w = in_child(write_phase, str(folder), 20)
    print(f"\na candidate written (store upsert) until the next query sees it: p50 {w['visible']['p50']:.0f} ms, "
          f"max {w['visible']['p99']:.0f} ms over {w['visible']['n']} writes (refresh alone p50 "
          f"{w['refresh']['p50']:.0f} ms); today: a rebuild of {q['rebuild_s']:.0f} s. Reads meanwhile "
          f"(another thread): p50 {w['reads']['p50']:.1f} / p99 {w['reads']['p99']:.1f} ms between writes, "
          + (f"p50 {w['reads_during']['p50']:.1f} / p99 {w['reads_during']['p99']:.1f} ms during refreshes "
             f"({w['reads_during']['n']} reads)" if w["reads_during"] else "none during refreshes")
          + f"; delta {w['delta']} candidates — {w['load']}")
    from bench_workers import workers_phase
    for mode in ("snapshot", "rebuild"):
        m = workers_phase(folder, mode)
        print(f"API workers ({mode}): first RSS {m['rss1']:,.0f} MB (private {m['priv1']:,.0f}), second RSS "
              f"{m['rss2']:,.0f} MB, private {m['priv2']:,.0f} MB = +{m['priv2'] / m['rss1']:.0%} of the first "
              f"(target ≤ +25%); started in {m['start2']:.1f} s — {load()}")
    if args.batch:
        env = {**os.environ, "REPRISE_MODELS_DIR": str(empty)}
        out = Path(tempfile.mkdtemp()) / "all.csv"
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "matcher.cli", "--db", f"sqlite:///{folder / 'reprise.db'}",
                               "match", "--all", "--out", str(out)], env=env, capture_output=True, text=True,
                              check=False, cwd=ROOT)
        total = time.perf_counter() - t
        print(f"\n`reprise match --all` (snapshot present): {done.stdout.strip()} in {total:.1f} s end to end "
              f"(exit {done.returncode}; target ≤ {TARGETS['batch']:.0f} s) — {load()}")
