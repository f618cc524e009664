"""Ranking many companies: rows in the contract's §2 layout, on one core or all of them."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd

from matcher.ranking.engine import Engine
from matcher.ranking.results import OPTION_FIELDS

MATCH_COLUMNS = list(OPTION_FIELDS)
CHUNK = 250
# A process inherits the engine by fork (copy-on-write, no pickling of the index).
_FORKED_ENGINE: Engine | None = None


def match_all(engine: Engine, companies: Iterable[dict[str, Any]], *, top: int = 10,
              kinds: list[str] | None = None, progress=None, workers: int = 1,
              chunk: int = CHUNK) -> pd.DataFrame:
    """Rank every company; one row per option, in company then rank order.

    With ``workers`` > 1 the companies are split in chunks ranked by forked processes that share
    the engine's memory; the rows are the same, in the same order, as with one worker.
    """
    companies = list(companies)
    if workers > 1 and len(companies) > chunk and "fork" in mp.get_all_start_methods():
        return to_frame(_match_forked(engine, companies, top=top, kinds=kinds, progress=progress,
                                      workers=workers, chunk=chunk))
    rows: list[dict[str, Any]] = []
    for company in companies:
        rows.extend(engine.match(company, top=top, kinds=kinds).rows())
        if progress is not None:
            progress()
    return to_frame(rows)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _match_forked(engine: Engine, companies: list[dict[str, Any]], *, top: int, kinds, progress,
                  workers: int, chunk: int) -> list[dict[str, Any]]:
    global _FORKED_ENGINE  # noqa: PLW0603 - children inherit it through fork, without pickling the index
    _ = engine.inferer  # build lazily-loaded parts before forking so each child does not redo it
    _FORKED_ENGINE = engine
    chunks = [companies[i:i + chunk] for i in range(0, len(companies), chunk)]
    rows: list[dict[str, Any]] = []
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                 initializer=_limit_threads) as pool:
            for chunk_rows, n in pool.map(_rank_chunk, chunks, [top] * len(chunks), [kinds] * len(chunks)):
                rows.extend(chunk_rows)
                if progress is not None:
                    for _ in range(n):
                        progress()
    finally:
        _FORKED_ENGINE = None
    return rows


def _limit_threads() -> None:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)  # parallelism comes from the processes, not BLAS threads


def _rank_chunk(companies: list[dict[str, Any]], top: int, kinds) -> tuple[list[dict[str, Any]], int]:
    assert _FORKED_ENGINE is not None
    rows: list[dict[str, Any]] = []
    for company in companies:
        rows.extend(_FORKED_ENGINE.match(company, top=top, kinds=kinds).rows())
    return rows, len(companies)


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def to_csv(df: pd.DataFrame, path_or_buf) -> None:
    """CSV with the explanation as a JSON object per cell."""
    out = df.copy()
    out["explanation"] = out["explanation"].map(lambda e: json.dumps(e, ensure_ascii=False))
    out.to_csv(path_or_buf, index=False)
