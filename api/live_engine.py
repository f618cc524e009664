"""The engine being served, swapped atomically when the store or the promoted model changes.

Reads take the current :class:`Serving` once and never wait. The index is the store's snapshot
(memory-mapped: every worker shares its pages) plus a delta segment of the changes since
(:class:`matcher.ranking.reader.IndexReader`). A write to candidates asks for a refresh, which
applies the store's new changes to the delta in a fraction of a second and serves a new engine;
concurrent writers share one refresh. When the delta grows past ``COMPACT_FROM`` candidates a
background thread writes a new snapshot and swaps it in. Changes made by other processes
(another worker, ``reprise import``, an erasure) are applied before the next authenticated answer
(:meth:`LiveEngine.catch_up`, called per request), and by a background poll between requests.
A request that has to wait for that (or for the store's writer) waits in the pool of ``waiters``,
not in the request threads (:meth:`LiveEngine.waited`).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
from sqlalchemy.engine import Engine as DbEngine

from api.match_cache import MatchCache
from matcher.learning.registry import INDEX, Registry
from matcher.ranking.engine import Engine
from matcher.ranking.reader import IndexReader
from matcher.ranking.score import TransparentScorer
from matcher.store.changes import poles_changed_since
from matcher.store.changes import revision as store_revision

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Serving:
    engine: Engine
    built_at: dt.datetime
    signature: int  # the store revision the index includes
    cache: MatchCache


# Profiles ranked once before an engine serves: its first query builds lazy tables (~100 ms),
# which 32 concurrent first requests would otherwise all build at once.
WARM_UP = (
    {"siren": "000000000", "naf": "43.32A", "lat": 46.6, "lon": 2.4, "headcount": 10, "procedure": "redressement"},
    {"siren": "000000000", "activity": "boulangerie", "lat": 46.6, "lon": 2.4, "headcount": 3,
     "procedure": "liquidation", "confidential": True},
)


class LiveEngine:
    """Holds the serving engine; refreshes its index on demand and when the store changes."""

    def __init__(self, db: DbEngine, *, registry: Registry, poll_seconds: float = 0.0,
                 cache_size: int = 0, index_dir: Path | None = None) -> None:
        self.db, self.registry, self.poll_seconds = db, registry, poll_seconds
        self.index_dir = index_dir
        self.reader: IndexReader | None = None
        self._compacting: threading.Thread | None = None
        self.cache_size = cache_size
        self._serving: Serving | None = None
        self._inferer: Any = None
        self._state = threading.Lock()
        self._build = threading.Lock()
        self._requested = self._built = 0
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._refreshing: threading.Thread | None = None
        self._refused: str | None = None  # a promoted model that failed its checks, not retried
        self.refused_reason: str | None = None  # why, shown by /ready
        self._seen_registry = self._registry_stamp()
        self._catching = threading.Lock()
        self.waiters: anyio.CapacityLimiter | None = None  # set in the event loop (lifespan)

    @property
    def serving(self) -> Serving | None:
        return self._serving

    @property
    def engine(self) -> Engine:
        serving = self._serving
        if serving is None:
            raise RuntimeError("the engine is not loaded yet")
        return serving.engine

    def load(self) -> None:
        """Load the promoted ranker and open the index (startup)."""
        try:
            from matcher.reference.sectors import default_inferer
            self._inferer = default_inferer()
        except ImportError:  # the engine loads it lazily, when first needed
            self._inferer = None
        with self._build:
            scorer, refused = self.registry.last_good_scorer()
            if refused:  # start on the last good model rather than exit (a crash loop serves nobody)
                self._refused = self.registry.promoted_id()
                self.refused_reason = refused
                log.error("the promoted model is refused (%s); serving %s instead", refused, scorer.model_id)
            started = dt.datetime.now(dt.UTC)
            self.reader = IndexReader(self.db, self.index_dir, inferer=self._inferer).open()
            self._serve(scorer, started)

    def catch_up(self, *, index: bool = True, wait: bool = True) -> bool:
        """Apply what changed elsewhere before the next answer: a model promoted or rolled back
        (the registry file changed since the last look) and the store's writes and erasures made
        by another worker or the command line (its revision moved past the one served). Costs a
        file stat and one indexed read when nothing changed.

        ``index`` False, for answers read from the store rather than ranked (keys, lists, a case,
        outcomes): they depend on the index only through the poles, so the index is refreshed
        before the answer only when the poles changed, else in the background — a large import
        no longer holds every request of every worker while the index takes it in. Ranked
        answers (``index`` True) always wait for it.

        ``wait`` False, from a request thread: returns False instead of waiting (a model to load,
        an index refresh this answer needs); the route then waits with :meth:`caught_up`, outside
        the request threads, so that a ranking waiting for a large import's rebuild does not hold
        the thread every other request of the process needs. True: nothing (more) to wait for."""
        stamp = self._registry_stamp()
        if stamp != self._seen_registry:
            if not wait:
                return False
            with self._catching:
                if stamp != self._seen_registry:
                    self._seen_registry = stamp
                    self._follow_promotion()
        serving = self._serving
        if serving is None or store_revision(self.db) == serving.signature:
            return True
        if index or poles_changed_since(self.db, serving.signature):
            if not wait:
                return False
            self.refresh()
        else:
            self._refresh_in_background()
        return True

    async def caught_up(self, *, index: bool = True) -> None:
        """:meth:`catch_up`, waiting in a thread outside the request pool (see :meth:`waited`)."""
        await self.waited(self.catch_up, index=index)

    async def waited(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run ``fn`` in a thread of the waiting pool, not of the request pool: for whatever may
        wait on something other than the CPU — the index taking in a change, the store's write
        lock held by an import (an audit row, a write). The request pool has one thread per
        process by default (``threads``): a request waiting there would hold every other one."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kw), limiter=self.waiters)

    def _refresh_in_background(self) -> None:
        with self._state:
            if self._refreshing is not None and self._refreshing.is_alive():
                return
            self._refreshing = threading.Thread(target=self.refresh, name="index-catch-up", daemon=True)
            self._refreshing.start()

    def _registry_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.registry.root / INDEX).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def start(self) -> None:
        if self.poll_seconds > 0 and self._poller is None:
            self._poller = threading.Thread(target=self._poll, name="index-poll", daemon=True)
            self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
        if self._compacting is not None:
            self._compacting.join(timeout=120)

    def refresh(self, timeout: float | None = None) -> bool:
        """Serve an index including every change committed before this call; False if that took
        longer than ``timeout`` (the refresh then still happens, in the background)."""
        with self._state:
            self._requested += 1
            ticket = self._requested
        if not self._build.acquire(timeout=-1 if timeout is None else timeout):
            log.warning("index refresh is taking over %.0f s; continuing in the background", timeout)
            threading.Thread(target=self.refresh, name="index-refresh", daemon=True).start()
            return False
        try:
            if self._built >= ticket:  # a refresh that started after our write already ran
                return True
            with self._state:
                target = self._requested
            started = dt.datetime.now(dt.UTC)
            if self.reader.refresh():
                self._serve(self.engine.scorer, started)
            self._built = target
        finally:
            self._build.release()
        self._compact_if_due()
        return True

    async def refreshed(self, timeout: float | None = None) -> bool:
        """:meth:`refresh` for async routes: the wait runs in a thread outside the request pool,
        so a write waiting for its rebuild never holds a thread that reads need."""
        return await self.waited(self.refresh, timeout)

    def holds_any(self, ids: list[str]) -> bool:
        """Whether any of these ids is a candidate in the serving index."""
        index = self.engine.index
        return any(index.position(i) is not None for i in ids)

    def reload_model(self) -> tuple[str, Serving]:
        """Swap in the currently promoted ranker over the same index; returns the previous id.
        A model that loads clears what ``/ready`` said about a refused one."""
        with self._build:
            scorer = self.registry.current_scorer()
            old = self._serving
            engine = Engine(old.engine.index, scorer=scorer, poles=old.engine.poles, inferer=self._inferer)
            self._warm(engine)
            self._serving = Serving(engine, old.built_at, old.signature, MatchCache(self.cache_size))
            self._refused = self.refused_reason = None
            return str(old.engine.scorer.model_id), self._serving

    def _serve(self, scorer, started: dt.datetime) -> None:
        """Serve a new engine over the reader's current index (called holding ``_build``)."""
        reader = self.reader
        engine = Engine(reader.index, scorer=scorer, poles=reader.poles, inferer=self._inferer)
        self._warm(engine)
        # the index and libraries live as long as the process: moved out of the collector's
        # reach, a full collection no longer walks them in the middle of requests (p99 spikes)
        gc.collect()
        gc.freeze()
        self._serving = Serving(engine, started, reader.revision, MatchCache(self.cache_size))
        log.info("index at revision %d: %d candidates (%d changed since the snapshot) in %.2f s", reader.revision,
                 len(engine.index), reader.delta_size, (dt.datetime.now(dt.UTC) - started).total_seconds())

    def _compact_if_due(self, *, purge: bool = False) -> None:
        """Write a new snapshot in the background once the delta is large; reads go on."""
        if self.reader is None or self.index_dir is None or not (purge or self.reader.needs_compaction()):
            return
        with self._state:
            running = self._compacting if self._compacting is not None and self._compacting.is_alive() else None
            if running is not None and not purge:
                return
            self._compacting = threading.Thread(target=self._compact, args=(purge, running),
                                                name="index-compaction", daemon=True)
            self._compacting.start()

    def erased(self) -> None:
        """After a candidate's erasure: rewrite the snapshot without it and delete the older
        generations, whose files still hold its id and name (in the background)."""
        self._compact_if_due(purge=True)

    def _compact(self, purge: bool = False, after: threading.Thread | None = None) -> None:
        if after is not None:  # a compaction already running may have read the store before the erasure
            after.join()
        try:
            started = dt.datetime.now(dt.UTC)
            if self.reader.compact(purge=purge):
                with self._build:
                    self._serve(self.engine.scorer, started)
        except Exception:  # the delta keeps serving; the next refresh tries again
            log.exception("index compaction failed")

    @staticmethod
    def _warm(engine: Engine) -> None:
        for profile in WARM_UP:
            engine.match(profile, top=10)
        engine.index.position("")  # the id lookup used after writes

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                serving = self._serving
                if serving is not None and store_revision(self.db) != serving.signature:
                    self.refresh()
            except Exception:  # the poller must outlive a store hiccup; the next round retries
                log.exception("checking the store for changes failed")
            self._follow_promotion()

    def _follow_promotion(self) -> None:
        """Serve a newly promoted (or rolled back) model without a restart."""
        try:
            wanted = self.registry.promoted_id() or TransparentScorer.model_id
        except Exception:  # e.g. a registry file being rewritten: the next round retries
            log.exception("reading the model registry failed")
            return
        if wanted in (str(self.engine.scorer.model_id), self._refused):
            return
        try:
            previous, serving = self.reload_model()
        except Exception as exc:  # a refused model leaves the current one serving; said once
            self._refused = wanted
            self.refused_reason = f"{type(exc).__name__}: {exc}"
            log.exception("the promoted model %s could not be loaded; the current ranker keeps serving", wanted)
            return
        log.info("promoted model picked up: %s -> %s", previous, serving.engine.scorer.model_id)
