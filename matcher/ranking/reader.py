"""Keeping a process's candidate index current: open the snapshot, apply what changed since.

:class:`IndexReader` opens the store's snapshot (:mod:`matcher.ranking.snapshot`) when it is
valid for the store, else builds the index from the store and writes a new snapshot. Changes
logged after the snapshot's revision (``matcher.store.changes``) go to a delta segment with
tombstones over the snapshot (:mod:`matcher.ranking.segments`): :meth:`IndexReader.refresh`
applies new ones in a fraction of a second and says whether the index moved; :meth:`compact`
writes a new snapshot holding everything (a full build from the store) and swaps it in. Readers
take :attr:`IndexReader.index` and never wait: a refresh or compaction builds a new index object
and swaps the reference.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine as DbEngine

from matcher.ranking import snapshot
from matcher.ranking.building import INDEX_COLUMNS, difficulty_of, index_from_frame, infer_sought, read_index
from matcher.ranking.index import CandidateIndex
from matcher.ranking.segments import SegmentedIndex, delta_order
from matcher.reference.territories import Poles
from matcher.store import changes as store_changes
from matcher.store import records

log = logging.getLogger(__name__)
# a delta beyond this many candidates is worth a compaction (refreshes rebuild the delta)
COMPACT_FROM = 20_000


class IndexReader:
    """The index of one store for one process: a snapshot, a delta segment, and the poles."""

    def __init__(self, db: DbEngine, folder: Path | None, *, inferer: Any = None, verify: bool = True,
                 compact_from: int = COMPACT_FROM) -> None:
        self.db, self.folder, self.inferer, self.verify = db, None if folder is None else Path(folder), inferer, verify
        self.compact_from = compact_from
        self.index: CandidateIndex | SegmentedIndex | None = None
        self.poles: Poles | None = None
        self.base: CandidateIndex | None = None
        self.base_revision = self.revision = 0
        self.opened_from: str = ""  # "snapshot" or "build"
        self._rows = pd.DataFrame(columns=INDEX_COLUMNS)  # current rows of the candidates changed since the base
        self._difficulty: set[str] = set()
        self._hidden: dict[str, list[str]] = {}  # confidential cases among them -> the poles that know
        self._changed: set[str] = set()
        self._sought: dict[str, list[str]] = {}
        self._places: dict = {}
        self._lock = threading.RLock()

    # opening
    def open(self) -> IndexReader:
        """Open the snapshot (or build and write one), then apply the changes since it."""
        with self._lock:
            self.poles = Poles(records.pole_rows(self.db))
            base, revision = self._valid_snapshot()
            if base is None:
                base, revision = self._build_and_write(at_least=1 << 62)
            self._set_base(base, revision)
            self._apply(store_changes.changes_since(self.db, revision))
        return self

    def _valid_snapshot(self) -> tuple[CandidateIndex | None, int]:
        if self.folder is None:
            return None, 0
        gen = snapshot.current(self.folder)
        if gen is None:
            return None, 0
        try:
            manifest = snapshot.read_manifest(gen)
            rev = int(manifest["revision"])
            if not self._store_has(rev, manifest.get("mark")):
                raise snapshot.SnapshotInvalid(f"{gen}: built at revision {rev}, which this store does not hold")
            index = snapshot.open_generation(str(gen)) if self.verify else self._open_unverified(gen)
        except snapshot.SnapshotInvalid as exc:
            log.warning("index snapshot not used, rebuilding: %s", exc)
            return None, 0
        self.opened_from = "snapshot"
        return index, rev

    def _open_unverified(self, gen: Path) -> CandidateIndex:
        arrays, _ = snapshot.load(gen, verify=False)
        index = snapshot.index_from_arrays(CandidateIndex, arrays)
        index.source = str(gen)
        return index

    def _store_has(self, rev: int, mark: str | None) -> bool:
        now = store_changes.revision(self.db)
        if rev > now or rev < store_changes.horizon(self.db):
            return False
        held = store_changes.mark(self.db, rev)
        return held is None or held == mark

    def _build_and_write(self, at_least: int = 0) -> tuple[CandidateIndex, int]:
        """A full build from the store; written as the new snapshot when there is a folder.
        A snapshot written by another process meanwhile, at ``at_least`` or later, is used instead."""
        with self._writing():
            if self.folder is not None:
                base, rev = self._valid_snapshot()
                if base is not None and rev >= at_least:
                    return base, rev
            started = time.perf_counter()
            rev = store_changes.revision(self.db)  # read first: later changes are applied on top
            mark = store_changes.mark(self.db, rev)
            index = read_index(CandidateIndex, self.db, self.inferer)
            self.opened_from = "build"
            log.info("index built from the store: %d candidates in %.1f s", len(index), time.perf_counter() - started)
            if self.folder is None:
                return index, rev
            gen = snapshot.write(index, self.folder, revision=rev, mark=mark)
            return snapshot.open_generation(str(gen)), rev  # mapped: its pages are shared with other processes

    @contextlib.contextmanager
    def _writing(self):
        """One process at a time builds and writes a snapshot of a folder. A folder that cannot
        be written (a read-only deployment) is said once; the index then lives in memory."""
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                fh = open(self.folder / ".lock", "w")  # noqa: SIM115 - held for the whole block
            except OSError as exc:
                log.warning("index snapshot folder %s cannot be written (%s): the index is kept in memory only",
                            self.folder, exc)
                self.folder = None
        if self.folder is None:
            yield
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _set_base(self, base: CandidateIndex, revision: int) -> None:
        self.base, self.base_revision, self.revision = base, revision, revision
        self._rows = pd.DataFrame(columns=INDEX_COLUMNS)
        self._difficulty, self._changed, self._places = set(), set(), {}
        self._hidden: dict[str, list[str]] = {}
        self.index = base

    # catching up
    def refresh(self) -> bool:
        """Apply the changes logged since the index's revision; True when the index moved."""
        with self._lock:
            found = store_changes.changes_since(self.db, self.revision)
            if not found:
                return False
            horizon = store_changes.horizon(self.db)
            if horizon > self.base_revision:  # changes forgotten since our snapshot: a newer one holds them
                found.everything, found.everything_at = True, max(found.everything_at, horizon)
            self._apply(found)
            return True

    def _apply(self, found: store_changes.Changes) -> None:
        if found.everything:  # too much to apply one by one: a newer snapshot, else a rebuild
            self._set_base(*self._build_and_write(at_least=found.everything_at))
            found = store_changes.changes_since(self.db, self.revision)
        if found.poles:  # the poles that may know of a confidential case that is a candidate too
            self.poles = Poles(records.pole_rows(self.db))
            found.candidate_ids |= store_changes.confidential_candidates(self.db)
        if found.erased:  # erasures are logged without ids: drop what is held but no longer stored
            held = set(self.base.ids.tolist()) | set(self._rows["candidate_id"].tolist())
            found.candidate_ids |= held - store_changes.stored_candidate_ids(self.db)
        if found.candidate_ids:
            ids = found.candidate_ids
            rows, cases = store_changes.candidate_frame(self.db, ids, INDEX_COLUMNS)
            kept = self._rows[~self._rows["candidate_id"].isin(ids)]
            # as objects: a column all None in one part gives the same frame on pandas 2 and 3 (and no warning)
            self._rows = (pd.concat([kept.astype(object), rows.astype(object)], ignore_index=True) if len(kept)
                          else rows)
            public, hidden = difficulty_of(cases, self.poles)
            self._difficulty = (self._difficulty - ids) | public
            self._hidden = {k: v for k, v in self._hidden.items() if k not in ids} | hidden
            self._changed |= ids
            self.index = self._segmented()
        self.revision = max(self.revision, found.revision)

    def _segmented(self) -> SegmentedIndex:
        base = self.base
        delta = index_from_frame(CandidateIndex, self._rows.reset_index(drop=True), difficulty_sirens=self._difficulty,
                                 hidden_difficulty=self._hidden,
                                 sought_inferred=infer_sought(self._rows, self.inferer, self._sought))
        dead = np.zeros(len(base), dtype=bool)
        at = base.positions_of(sorted(self._changed))
        dead[at[at >= 0]] = True
        return SegmentedIndex(base, delta, dead, delta_order(base, delta, self._places))

    @property
    def delta_size(self) -> int:
        """Candidates changed since the snapshot (new, changed or deleted)."""
        return len(self._changed)

    def needs_compaction(self) -> bool:
        """Whether the delta is worth a new snapshot: ``compact_from`` candidates, or a tenth of
        the snapshot (a small store's first imports)."""
        base = 0 if self.base is None else len(self.base)
        return self.delta_size >= min(self.compact_from, base // 10 + 100)

    # compaction
    def compact(self, *, purge: bool = False) -> bool:
        """Write a snapshot holding every change and serve it (a full build from the store, run
        outside the lock: refreshes go on meanwhile and are applied again on the new base).
        ``purge``: delete every older generation too (after an erasure)."""
        if self.folder is None:
            return False
        with self._writing():
            rev = store_changes.revision(self.db)
            mark = store_changes.mark(self.db, rev)
            index = read_index(CandidateIndex, self.db, self.inferer)
            gen = snapshot.write(index, self.folder, revision=rev, mark=mark, purge=purge)
            store_changes.forget_before(self.db, rev)  # older readers move to this snapshot
        base = snapshot.open_generation(str(gen))
        with self._lock:
            self._set_base(base, rev)
            self._apply(store_changes.changes_since(self.db, rev))
        return True
