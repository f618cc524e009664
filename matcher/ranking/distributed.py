"""Ranking on a Dask cluster: the same rows as :func:`matcher.ranking.batch.match_all`, in the same order.

The engine (candidate index, scorer, poles, sector inferer) is shipped to every worker once with
``client.scatter(..., broadcast=True)``; tasks receive its future, never the arrays themselves
(large arrays passed straight into ``client.map`` crash the scheduler). An index opened from a
snapshot travels as the snapshot's path (its delta segment, small, by value): each worker maps
the files from a disk the cluster shares, checked once per worker process, instead of receiving
the arrays; the snapshot folder must then be readable at the same path on every worker. Arrays of a scattered
object can come back unaligned, which makes numpy several times slower, so each worker re-aligns
the index's arrays the first time it uses the engine. Companies go in chunks (a few per worker,
each worth well over the ~2 ms a task costs) and the chunks' frames are concatenated in order.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from matcher.errors import ClusterUnavailable
from matcher.ranking.batch import match_all, to_frame
from matcher.ranking.engine import Engine

log = logging.getLogger(__name__)
CHUNKS_PER_WORKER = 4
MAX_CHUNK = 500


def _aligned(engine: Engine) -> Engine:
    """Re-align the engine's index arrays on this worker, once."""
    if not getattr(engine, "_dask_aligned", False):
        ix = engine.index
        for name, value in vars(ix).items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                setattr(ix, name, np.require(value, requirements=["A", "C"]))
        engine._dask_aligned = True
    return engine


def _rank_chunk(companies: list[dict[str, Any]], engine: Engine, top: int,
                kinds: list[str] | None) -> pd.DataFrame:
    return match_all(_aligned(engine), companies, top=top, kinds=kinds)


class DaskRanker:
    """A Dask client holding the engine on every worker; :meth:`rank` can be called many times."""

    def __init__(self, engine: Engine, scheduler: Any, *, connect_timeout: str = "10s",
                 timeout: float | None = None) -> None:
        from distributed import Client

        self._own = not isinstance(scheduler, Client)
        self.timeout = timeout
        try:
            self.client = Client(scheduler, timeout=connect_timeout) if self._own else scheduler
        except OSError as exc:
            raise ClusterUnavailable(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from exc
        _ = engine.inferer  # build the sector inferer here so workers receive it instead of each building it
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        self.engine = self.client.scatter(engine, broadcast=True, hash=False)

    def submit(self, companies: list[dict[str, Any]], *, top: int = 10,
               kinds: list[str] | None = None) -> list[Any]:
        """Start ranking ``companies`` on the cluster; :meth:`collect` the returned futures later."""
        if not companies:
            return []
        size = max(1, min(MAX_CHUNK, -(-len(companies) // (self.workers * CHUNKS_PER_WORKER))))
        chunks = [companies[i:i + size] for i in range(0, len(companies), size)]
        return self.client.map(_rank_chunk, chunks, engine=self.engine, top=top, kinds=kinds, pure=False)

    def collect(self, futures: list[Any]) -> pd.DataFrame:
        """The rows of submitted work, in submission order (identical to ``match_all``)."""
        from distributed import wait

        if self.timeout is not None and futures:
            wait(futures, timeout=self.timeout)  # raises TimeoutError rather than hang on a lost cluster
        frames = self.client.gather(futures) if futures else []
        # rebuilt like match_all builds its frame, so dtypes match even when a chunk has no option
        return to_frame([row for f in frames for row in f.to_dict("records")])

    def rank(self, companies: list[dict[str, Any]], *, top: int = 10,
             kinds: list[str] | None = None) -> pd.DataFrame:
        """Rank the companies on the cluster; rows identical to ``match_all``, in the same order."""
        return self.collect(self.submit(companies, top=top, kinds=kinds))

    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self) -> DaskRanker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def match_all_dask(engine: Engine, companies: list[dict[str, Any]], *, top: int = 10,
                   kinds: list[str] | None = None, scheduler: Any, timeout: float | None = None) -> pd.DataFrame:
    """:func:`matcher.ranking.batch.match_all` on the Dask cluster at ``scheduler`` (address or Client).

    ``timeout`` (seconds) bounds the wait for the results.
    """
    with DaskRanker(engine, scheduler, timeout=timeout) as ranker:
        return ranker.rank(list(companies), top=top, kinds=kinds)
