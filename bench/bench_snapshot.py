"""The serving index as a snapshot (issue 13): open instead of rebuild, incremental writes, at scale.

    python bench/bench_snapshot.py prepare --n 1000000 --dir /work/scratch/index-bench/1m
    python bench/bench_snapshot.py run --dir /work/scratch/index-bench/1m --model /path/model-dir
    python bench/bench_snapshot.py national --n 10000000 --dir /work/scratch/index-bench/10m

``prepare`` generates ``synth_candidates(n, seed=1)`` over the real communes and 60,400
``synth_companies`` (400 for single queries, seed 2; 60,000 for the batch, seed 4), imports them
through ``import_frame`` into SQLite and writes the index snapshot as ``reprise import`` does.
``run`` measures, each next to today's rebuild (``Engine.from_store``) and the plain approach:
the first answer of ``reprise match SIREN`` in a new process, one query (transparent scorer and a
promoted learned ranker), ``reprise match --all``, a candidate written through the API until the
next query sees it (with reads running meanwhile), and the memory of a second API worker.
``national`` builds a snapshot of n candidates straight from generated rows (no store: the
import of 10M rows is not what is measured) and measures opening it, one query and memory.
Data lives outside the repository; every phase runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import ROOT, machine, places, timed

QUERY_SEED, BATCH_SEED = 2, 4


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def in_child(fn, *args):
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """RSS, and the private part of it (USS: what this process alone holds), from smaps_rollup."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:", "Private_Clean:", "Private_Dirty:", "Shared_Clean:"):
                out[parts[0].rstrip(":")] = int(parts[1]) / 1024
    out["Private"] = out.pop("Private_Clean", 0) + out.pop("Private_Dirty", 0)
    return out


def prepare(n: int, folder: Path) -> None:
    from matcher import store
    from matcher.contract.imports import import_frame
    from matcher.demo.build import synth_candidates, synth_companies
    from matcher.ranking.reader import IndexReader
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "reprise.db"
    if db_path.exists():
        raise SystemExit(f"{db_path} exists; remove the folder to prepare again")
    pl = places()
    cands, t_gen = timed(synth_candidates, n, seed=1, places=pl)
    db = store.connect(f"sqlite:///{db_path}")
    rep, t_imp = timed(import_frame, db, "candidates", cands)
    del cands
    comps = synth_companies(400, seed=QUERY_SEED, places=pl)
    batch = synth_companies(60_000, seed=BATCH_SEED, places=pl)
    import_frame(db, "companies", comps)
    import_frame(db, "companies", batch)
    reader, t_snap = timed(lambda: IndexReader(db, folder / "reprise.db.index").open())
    facts = {"n": n, "generated_s": t_gen, "import_s": t_imp, "stored": rep.stored, "snapshot_s": t_snap,
             "opened_from": reader.opened_from, "query_sirens": comps["siren"].tolist(), "when": machine()}
    (folder / "facts.json").write_text(json.dumps(facts))
    print(f"prepared {n:,} candidates in {folder}: generated {t_gen:.1f}s, imported {t_imp:.1f}s, "
          f"snapshot built and written {t_snap:.1f}s ({reader.opened_from}) — {load()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["prepare", "run", "national"])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--model", type=Path, help="a model registry folder with a promoted learned ranker")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=60_000, help="companies for `reprise match --all` (0: skip)")
    args = ap.parse_args()
    head = subprocess.run(["git", "log", "--oneline", "-1"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()
    if not head and (ROOT / "COMMIT").exists():  # a `git archive` snapshot, with its commit noted
        head = (ROOT / "COMMIT").read_text().strip() + f" (snapshot in {ROOT})"
    print(machine(), "\ncode at", head)
    if args.what == "prepare":
        prepare(args.n, args.dir)
    elif args.what == "run":
        from bench_snapshot_run import run
        run(args)
    else:
        from bench_snapshot_run import national
        national(args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
