"""Memory of API workers: two processes serving the same store, each as `reprise serve` loads it."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path


def _worker(folder: str, mode: str, ready, stop) -> None:
    import json
    import tempfile

    import api.main  # noqa: F401 - the libraries a worker imports
    from api.live_engine import LiveEngine
    from matcher import store
    from matcher.learning.registry import Registry
    from matcher.store.records import company_rows
    db = store.connect(f"sqlite:///{Path(folder) / 'reprise.db'}")
    index_dir = Path(folder) / "reprise.db.index" if mode == "snapshot" else None
    live = LiveEngine(db, registry=Registry(Path(tempfile.mkdtemp())), index_dir=index_dir)
    live.load()  # today (no index_dir): every worker builds its own index in memory
    facts = json.loads((Path(folder) / "facts.json").read_text())
    for c in company_rows(db, facts["query_sirens"][:200]):
        live.engine.match(c, top=10)
    ready.set()
    stop.wait()


def workers_phase(folder: Path, mode: str) -> dict:
    from bench_snapshot import memory_mb

    from api.server import worker_context
    ctx = worker_context() if mode == "snapshot" else mp.get_context("spawn")  # today: spawned workers
    stop = ctx.Event()
    procs, out = [], {}
    for k in (1, 2):
        ready = ctx.Event()
        t = time.perf_counter()
        p = ctx.Process(target=_worker, args=(str(folder), mode, ready, stop))
        p.start()
        ready.wait()
        out[f"start{k}"] = time.perf_counter() - t
        procs.append(p)
        time.sleep(1.0)
        m = memory_mb(p.pid)
        out[f"rss{k}"], out[f"priv{k}"] = m["Rss"], m["Private"]
    m1 = memory_mb(procs[0].pid)
    out["rss1_after"], out["priv1_after"] = m1["Rss"], m1["Private"]
    stop.set()
    for p in procs:
        p.join(60)
    return out
