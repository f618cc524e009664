"""Scale (issue 6): import, index, one query and batch at 10k / 100k / 1M candidates, with two peers.

    python bench/bench_scale.py --sizes 10000,100000,1000000 --queries 300
    python bench/bench_scale.py --sizes 1000000 --profile 50      # cProfile of 50 queries at 1M
    python bench/bench_scale.py --sizes 1000000 --batch 6000      # `reprise match --all` throughput

For each size the same generated candidates (``synth_candidates(n, seed=1)``) and query companies
(``synth_companies(seed=2)``) go to three approaches, each in its own fresh process so that its
peak memory is its own: the engine (imported through ``import_frame`` into SQLite, index built by
``Engine.from_store``, top 10 with explanations), the plain approach (``plain.py``) and
recordlinkage (``peers.py``, classifier trained once on 10k candidates with the engine's top 10 as
labels). Prints p50/p99 per query, ratios, overlap with the engine's top 10, peak memory, load,
and a growth table; peers too slow for a size are extrapolated from the two smaller sizes.
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import gc
import io
import math
import multiprocessing as mp
import os
import pstats
import resource
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import peers
from bench_query import index_bytes
from common import ROOT, machine, peak_rss_mb, percentiles, places, rss_mb, timed
from plain import plain_match, prepare

from matcher import store
from matcher.contract.imports import import_frame
from matcher.contract.specs import DEFAULT_RADIUS_KM
from matcher.demo.build import synth_candidates, synth_companies
from matcher.ranking.engine import Engine
from matcher.store.records import company_rows

QUERY_SEED, TRAIN_SEED, BATCH_SEED = 2, 3, 4


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def in_child(fn, *args):
    """Run ``fn(*args)`` in a fresh process: its peak RSS is then its own."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:  # not daemonic: may fork
        return pool.submit(fn, *args).result()


def build_store(path: Path, n: int, companies) -> dict:
    pl = places()
    cands, t_gen = timed(synth_candidates, n, seed=1, places=pl)
    db = store.connect(f"sqlite:///{path}")
    rep, t_imp = timed(import_frame, db, "candidates", cands)
    import_frame(db, "companies", companies)
    return {"gen_s": t_gen, "import_s": t_imp, "stored": rep.stored, "rejected": rep.rejected,
            "rows_per_s": rep.stored / t_imp, "import_load": load()}


def trimmed_rss_mb() -> float:
    """RSS after a GC and glibc's malloc_trim: memory really held, not just not yet returned."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    return rss_mb()


def engine_phase(n: int, db_path: str, sirens: list[str], n_companies: int, profile: int,
                 excl_queries: int) -> dict:
    comps = synth_companies(n_companies, seed=QUERY_SEED, places=places())
    out = build_store(Path(db_path), n, comps)
    db = store.connect(f"sqlite:///{db_path}")
    before = trimmed_rss_mb()
    engine, out["build_s"] = timed(Engine.from_store, db)
    out["index_grew_mb"] = rss_mb() - before
    out["resident_mb"] = trimmed_rss_mb() - before  # what the serving process keeps
    out["bytes_per_candidate"] = index_bytes(engine.index) / len(engine.index)
    rows = {r["siren"]: r for r in company_rows(db, sirens=sorted(set(sirens)))}
    for s in sirens[:20]:  # warm-up
        engine.match(rows[s], top=10)
    out["query_load"] = load()
    samples, considered, tops = [], [], []
    for s in sirens:
        t = time.perf_counter()
        res = engine.match(rows[s], top=10)
        samples.append(time.perf_counter() - t)
        considered.append(len(engine.index) - sum(res.excluded_counts.values()))
        tops.append([o.candidate_id for o in res.options])
    out["q"], out["tops"], out["considered"] = percentiles(samples), tops, float(np.median(considered))
    slow = np.argsort(samples)[-max(1, len(samples) // 100):]  # the 1% slowest: how much they scored
    out["slow"] = [(round(samples[i] * 1000, 1), considered[i], bool(rows[sirens[i]].get("confidential")))
                   for i in slow]
    # best of 3 per company: what the query costs without other processes' interference
    best = [min(_clock(engine.match, rows[s], top=10) for _ in range(3)) for s in dict.fromkeys(sirens)]
    out["q_best"] = percentiles(best)
    excl = []
    for s in sirens[:excl_queries]:
        t = time.perf_counter()
        engine.match(rows[s], top=10, explain_exclusions=True)
        excl.append(time.perf_counter() - t)
    out["q_excl"] = percentiles(excl)
    excl = []  # what the API lists: the first 1,000 exclusions, all of them counted
    for s in sirens[:max(excl_queries, 50)]:
        t = time.perf_counter()
        engine.match(rows[s], top=10, explain_exclusions=True, exclusions_limit=1000)
        excl.append(time.perf_counter() - t)
    out["q_excl_1000"] = percentiles(excl)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for s in sirens[:profile]:
            engine.match(rows[s], top=10)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        out["profile"] = buf.getvalue()
    out["peak_mb"] = peak_rss_mb()
    return out


def _clock(fn, *args, **kw) -> float:
    t = time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - t


def plain_phase(n: int, sirens: list[str], n_companies: int) -> dict:
    pl = places()
    cands = synth_candidates(n, seed=1, places=pl)
    comps = synth_companies(n_companies, seed=QUERY_SEED, places=pl).set_index("siren")
    plain_cands, t_prep = timed(prepare, cands.assign(lat=cands["lat"].astype(float),
                                                      lon=cands["lon"].astype(float)), DEFAULT_RADIUS_KM)
    del cands
    samples, tops, q_load = [], [], load()
    for s in sirens:
        c = comps.loc[s]
        res, dt = timed(plain_match, {"lat": float(c["lat"]), "lon": float(c["lon"]),
                                      "text": c["activity"] or ""}, plain_cands)
        samples.append(dt)
        tops.append([str(x) for x in res["candidate_id"]])
    return {"prep_s": t_prep, "q": percentiles(samples), "tops": tops, "peak_mb": peak_rss_mb(),
            "query_load": q_load}


def peer_phase(n: int, sirens: list[str], n_companies: int, clf) -> dict:
    from matcher.reference.sectors import default_inferer
    pl = places()
    cands = synth_candidates(n, seed=1, places=pl)
    prepared, t_prep = timed(peers.prepare_candidates, cands)
    del cands
    comps = synth_companies(n_companies, seed=QUERY_SEED, places=pl)
    cf = peers.prepare_companies(comps[comps["siren"].isin(sirens)], default_inferer()).set_index("siren")
    samples, tops, q_load = [], [], load()
    for s in sirens:
        ids, dt = timed(peers.rl_match, cf.loc[[s]].reset_index(), prepared, clf)
        samples.append(dt)
        tops.append(ids)
    return {"prep_s": t_prep, "rows": len(prepared), "q": percentiles(samples), "tops": tops,
            "peak_mb": peak_rss_mb(), "query_load": q_load}


def train_phase(n: int, n_companies: int):
    """The peer's classifier, fitted on ``n`` candidates with the engine's top 10 as labels."""
    pl = places()
    comps = synth_companies(n_companies, seed=TRAIN_SEED, places=pl)
    with tempfile.TemporaryDirectory() as tmp:
        build_store(Path(tmp) / "train.db", n, comps)
        db = store.connect(f"sqlite:///{Path(tmp) / 'train.db'}")
        engine = Engine.from_store(db)
        rows = company_rows(db, sirens=list(comps["siren"]))
    top_ids = {r["siren"]: [o.candidate_id for o in engine.match(r, top=10).options] for r in rows}
    prepared = peers.prepare_candidates(synth_candidates(n, seed=1, places=pl))
    cf = peers.prepare_companies(comps, engine.inferer)
    clf, t_fit = timed(peers.train, cf, prepared, top_ids)
    return clf, t_fit


def batch_phase(db_path: str, n_companies: int, cli_args: list[str]) -> dict:
    from matcher.cli.main import main as cli_main
    db = store.connect(f"sqlite:///{db_path}")
    comps = synth_companies(n_companies, seed=BATCH_SEED, places=places())
    import_frame(db, "companies", comps)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["REPRISE_MODELS_DIR"] = str(Path(tmp) / "models")  # no promoted model: transparent scorer
        out = Path(tmp) / "matches.csv"
        t = time.perf_counter()
        code = cli_main(["--db", f"sqlite:///{db_path}", "match", "--all", "--out", str(out), *cli_args])
        total = time.perf_counter() - t
        n_rows = sum(1 for _ in out.open()) - 1
    return {"code": code, "total_s": total, "rows": n_rows,
            "ranked": len(company_rows(db)), "peak_mb": peak_rss_mb(), "load": load(),
            "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def growth(n1: int, t1: float, n2: int, t2: float) -> float:
    """Exponent b of t ∝ n^b between two sizes."""
    return math.log(t2 / t1) / math.log(n2 / n1)


def overlap(a: list[list[str]], b: list[list[str]]) -> float:
    k = min(len(a), len(b))
    return float(np.mean([len(set(x) & set(y)) / max(1, len(x)) for x, y in zip(a[:k], b[:k])])) if k else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--companies", type=int, default=400, help="query companies generated")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--plain-queries", type=int, default=5)
    ap.add_argument("--peer-queries", type=int, default=5)
    ap.add_argument("--big-queries", type=int, default=3, help="peer queries at sizes >= 1M")
    ap.add_argument("--peer-max", type=int, default=1_000_000, help="largest size the peers run at")
    ap.add_argument("--excl-queries", type=int, default=50, help="queries with exclusion reasons (10 at >= 1M)")
    ap.add_argument("--train-companies", type=int, default=40)
    ap.add_argument("--profile", type=int, default=0, help="cProfile this many engine queries at the largest size")
    ap.add_argument("--batch", type=int, default=0, help="companies for `reprise match --all` at the largest size")
    ap.add_argument("--batch-args", default="", help="extra `match --all` options, e.g. '--workers 2'")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    head = subprocess.run(["git", "log", "--oneline", "-1"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    if not head and (ROOT / "COMMIT").exists():  # a `git archive` snapshot, with its commit noted
        head = (ROOT / "COMMIT").read_text().strip() + f" (snapshot in {ROOT})"
    print(machine(), "\ncode at", head)
    comps = synth_companies(args.companies, seed=QUERY_SEED, places=places())
    sirens = [str(s) for s in np.random.default_rng(0).choice(comps["siren"].to_numpy(), size=args.queries)]
    clf = None
    if args.peer_queries:
        (clf, t_fit) = in_child(train_phase, 10_000, args.train_companies)
        print(f"recordlinkage classifier fitted in {t_fit:.1f}s on {args.train_companies} companies x 10k "
              f"candidates (labels: TransparentScorer top 10); coefficients "
              f"{dict(zip(peers.FEATURES, np.round(clf.coefficients, 2)))}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            db_path = str(Path(tmp) / f"scale-{n}.db")
            e = in_child(engine_phase, n, db_path, sirens, args.companies, args.profile if n == max(sizes) else 0,
                         args.excl_queries if n < 1_000_000 else min(10, args.excl_queries))
            k = min(args.big_queries, args.plain_queries) if n >= 1_000_000 else args.plain_queries
            p = in_child(plain_phase, n, sirens[:k], args.companies) if k else None
            k = min(args.big_queries, args.peer_queries) if n >= 1_000_000 else args.peer_queries
            r = in_child(peer_phase, n, sirens[:k], args.companies, clf) if clf and k and n <= args.peer_max else None
            results[n] = (e, p, r)
            report(n, e, p, r)
            if n != max(sizes):
                os.unlink(db_path)
        growth_table(results)
        if args.batch:
            n = max(sizes)
            b = in_child(batch_phase, str(Path(tmp) / f"scale-{n}.db"), args.batch, args.batch_args.split())
            rate = b["ranked"] / (b["total_s"] - results[n][0]["build_s"])
            proj = results[n][0]["build_s"] + 60_000 / rate
            print(f"\nbatch `reprise match --all {args.batch_args}` at {n:,} candidates ({b['load']}): "
                  f"{b['ranked']:,} companies, {b['rows']:,} rows in {b['total_s']:.1f}s end to end "
                  f"(exit {b['code']}, peak {b['peak_mb']:,.0f} MB, largest worker {b['workers_peak_mb']:,.0f} MB); ranking {rate:,.1f} companies/s "
                  f"after the {results[n][0]['build_s']:.1f}s index build; 60,000 companies projected "
                  f"{proj / 60:.1f} min = build + 60000 / rate (target < 10 min)")
    print("\n" + machine())


def report(n: int, e: dict, p: dict | None, r: dict | None) -> None:
    print(f"\n== {n:,} candidates ==")
    print(f"import: {e['stored']:,} stored, {e['rejected']} rejected in {e['import_s']:.1f}s = "
          f"{e['rows_per_s']:,.0f} rows/s ({e['import_load']}); generation {e['gen_s']:.1f}s")
    print(f"index: built in {e['build_s']:.1f}s, {e['bytes_per_candidate']:,.0f} bytes/candidate by index_bytes; "
          f"process grew {e['index_grew_mb']:,.0f} MB, keeps {e['resident_mb']:,.0f} MB after GC + malloc_trim "
          f"= {e['resident_mb'] * 2**20 / n:,.0f} bytes/candidate resident; "
          f"median candidates scored per query {e['considered']:,.0f}")
    print(f"{'approach':<46}{'p50 ms':>10}{'p99 ms':>10}{'n':>6}{'peak MB':>10}{'top10 overlap':>15}  load")
    rows = [("engine (top 10 + explanations)", e, None),
            ("engine, best of 3 per company", {**e, "q": e["q_best"]}, None),
            ("engine + exclusion reasons", {**e, "q": e["q_excl"]}, None),
            ("engine + first 1,000 exclusion reasons", {**e, "q": e["q_excl_1000"]}, None)]
    rows += [("plain (cross join + per-pair RapidFuzz)", p, overlap(p["tops"], e["tops"]))] if p else []
    rows += [("recordlinkage (block NAF div + LogReg)", r, overlap(r["tops"], e["tops"]))] if r else []
    for name, d, ov in rows:
        ov_text = f"{ov:>15.2f}" if ov is not None else f"{'-':>15}"
        print(f"{name:<46}{d['q']['p50']:>10.2f}{d['q']['p99']:>10.2f}{d['q']['n']:>6}{d['peak_mb']:>10,.0f}"
              f"{ov_text}  {d['query_load']}")
    print("slowest 1% of engine queries (ms, candidates scored, confidential):", e["slow"])
    for name, d in (("plain", p), ("recordlinkage", r)):
        if d:
            print(f"ratio {name}/engine: p50 {d['q']['p50'] / e['q']['p50']:,.0f}x, "
                  f"mean {d['q']['mean'] / e['q']['mean']:,.0f}x (prep {d['prep_s']:.1f}s)")
    if "profile" in e:
        print(f"\ncProfile of engine queries at {n:,} (tottime):\n{e['profile']}")


def growth_table(results: dict) -> None:
    """Mean ms per query by size and approach; a peer missing at a size is extrapolated."""
    sizes = sorted(results)
    names = ("engine", "plain", "recordlinkage")
    t = {(n, j): d["q"]["mean"] for n in sizes for j, d in enumerate(results[n]) if d}
    notes = []
    for j in (1, 2):
        for i, n in enumerate(sizes):
            if (n, j) not in t and i >= 2 and (sizes[i - 2], j) in t and (sizes[i - 1], j) in t:
                n1, n2 = sizes[i - 2], sizes[i - 1]
                b = growth(n1, t[n1, j], n2, t[n2, j])
                t[n, j] = t[n2, j] * (n / n2) ** b
                notes.append(f"{names[j]} at {n:,} extrapolated (*): {t[n, j]:,.0f} ms = "
                             f"{t[n2, j]:,.0f} ms x ({n:,} / {n2:,})^{b:.2f}, b from {n1:,} -> {n2:,}")
    print("\nGrowth: mean ms per query against candidate count "
          "(b = exponent of t ~ n^b from the previous size)")
    print(f"{'candidates':>12}{'engine p50':>12}{'engine p99':>12}" + "".join(f"{x + ' mean':>20}" for x in names)
          + "".join(f"{'b ' + x:>17}" for x in names))
    for i, n in enumerate(sizes):
        e = results[n][0]
        line = f"{n:>12,}{e['q']['p50']:>12.2f}{e['q']['p99']:>12.2f}"
        for j in range(3):
            mark = "*" if (n, j) in t and not results[n][j] else " "
            line += f"{t[n, j]:>19,.1f}{mark}" if (n, j) in t else f"{'-':>20}"
        for j in range(3):
            prev = sizes[i - 1] if i else None
            ok = prev and (n, j) in t and (prev, j) in t
            line += f"{growth(prev, t[prev, j], n, t[n, j]):>17.2f}" if ok else f"{'-':>17}"
        print(line)
    for note in notes:
        print("  " + note)


if __name__ == "__main__":
    main()
