"""The store's revision: every write that changes what the candidate index is built from is
logged in the same transaction, numbered in commit order (``index_changes``).

What the index is built from: the candidates in the pool (a candidate leaving it, ``left_pool``
set, is logged like any other write to it, so readers drop it), the poles (the engine's territories) and, for a
candidate that is itself a company, whether that company is in a procedure. So a write to
``candidates`` logs its ids, a write to ``companies`` logs the SIRENs that are also candidates,
a write to ``poles`` logs the scope ``poles``, and a write too large to list id by id (a national
import) logs ``all``. An erased candidate is logged as ``erased`` without its id, and the rows
that named it before become ``erased`` rows too: the log never keeps an erased id in clear (its
last row stays forever, see :func:`forget_before`); a reader told of an erasure drops the
candidates it holds that are no longer stored. A reader holding an index at revision R asks
:func:`changes_since` for what to re-read; re-reading is idempotent, so a change seen twice does
no harm.

On PostgreSQL the log is locked for the rest of the writing transaction before its numbers are
drawn, so numbers are committed in order and a reader that saw R never misses a smaller one
committed later. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.connection import now
from matcher.store.tables import candidates, companies, index_changes, poles

CANDIDATE, POLES, ALL, ERASED = "candidate", "poles", "all", "erased"
# above this many ids in one write the log says "all" instead: readers rebuild, as they would
# have to re-read most of the index anyway
LIST_LIMIT = 50_000
IN_CHUNKS = 900
_MAX = sa.select(sa.func.max(index_changes.c.revision))


@dataclass
class Changes:
    """What changed after a revision, up to ``revision``."""

    revision: int
    candidate_ids: set[str] = field(default_factory=set)
    poles: bool = False
    erased: bool = False  # candidates were erased: drop those no longer stored
    everything: bool = False
    everything_at: int = 0  # the last revision that changed everything (an index must hold it)

    def __bool__(self) -> bool:
        return bool(self.candidate_ids or self.poles or self.erased or self.everything)


def revision(db: Engine) -> int:
    """The store's revision: 0 for a store never written through this log."""
    with db.connect() as c:
        return int(c.execute(_MAX).scalar() or 0)


def changes_since(db: Engine, after: int) -> Changes:
    """Everything logged after revision ``after``."""
    t = index_changes
    out = Changes(after)
    with db.connect() as c:
        for rev, scope, cid in c.execute(sa.select(t.c.revision, t.c.scope, t.c.candidate_id)
                                         .where(t.c.revision > after).order_by(t.c.revision)):
            out.revision = max(out.revision, int(rev))
            if scope == CANDIDATE and cid is not None:
                out.candidate_ids.add(cid)
            elif scope == POLES:
                out.poles = True
            elif scope == ERASED:
                out.erased = True
            else:
                out.everything, out.everything_at = True, int(rev)
    return out


def log_write(conn: sa.Connection, table: sa.Table, keys: Iterable[str] | None) -> None:
    """Log a write to ``table`` (rows with these keys) in the writing transaction ``conn``.

    ``keys`` None: the whole table may have changed. Tables the index is not built from are not
    logged.
    """
    if table is candidates:
        ids = None if keys is None else sorted({str(k) for k in keys})
        if ids is not None and len(ids) <= LIST_LIMIT:
            _insert(conn, [{"scope": CANDIDATE, "candidate_id": i} for i in ids])
        else:
            _insert(conn, [{"scope": ALL, "candidate_id": None}])
    elif table is companies:
        if keys is None:
            _insert(conn, [{"scope": ALL, "candidate_id": None}])
            return
        sirens = sorted({str(k) for k in keys})
        found: list[str] = []
        for lo in range(0, len(sirens), IN_CHUNKS):  # only the companies that are also candidates
            part = sirens[lo:lo + IN_CHUNKS]
            found += conn.execute(sa.select(candidates.c.candidate_id)
                                  .where(candidates.c.candidate_id.in_(part))).scalars().all()
        if found:
            log_write(conn, candidates, found)
    elif table is poles:
        _insert(conn, [{"scope": POLES, "candidate_id": None}])


def log_erased(conn: sa.Connection, candidate_id: str) -> None:
    """Log the erasure of a candidate in the erasing transaction ``conn``, without its id; the
    earlier rows that named it become ``erased`` rows (same revisions: readers behind them still
    learn that something was erased)."""
    t = index_changes
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE index_changes IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(sa.update(t).where(t.c.candidate_id == candidate_id).values(scope=ERASED, candidate_id=None))
    _insert(conn, [{"scope": ERASED, "candidate_id": None}])


def stored_candidate_ids(db: Engine) -> set[str]:
    """The ids of every stored candidate (what a reader told of an erasure compares with)."""
    with db.connect() as c:
        return set(c.execute(sa.select(candidates.c.candidate_id)).scalars())


def _insert(conn: sa.Connection, rows: list[dict]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":  # numbers drawn and committed in the same order
        conn.execute(sa.text("LOCK TABLE index_changes IN SHARE ROW EXCLUSIVE MODE"))
    at = now()
    conn.execute(sa.insert(index_changes), [{**r, "at": at} for r in rows])


def forget_before(db: Engine, kept: int) -> int:
    """Delete the log up to revision ``kept`` (exclusive of later ones) except its last row, so
    the revision never goes back; returns the rows deleted. Called once a snapshot at ``kept`` or
    later is written: older readers then rebuild (see :func:`horizon`)."""
    t = index_changes
    with db.begin() as c:
        last = c.execute(_MAX).scalar() or 0
        upto = min(int(kept), int(last) - 1)
        if upto <= 0:
            return 0
        return c.execute(sa.delete(t).where(t.c.revision <= upto)).rowcount or 0


def horizon(db: Engine) -> int:
    """The oldest revision from which :func:`changes_since` is complete: a reader at a revision
    below it must rebuild (its changes were forgotten)."""
    with db.connect() as c:
        first = c.execute(sa.select(sa.func.min(index_changes.c.revision))).scalar()
    return 0 if first is None else int(first) - 1


def mark(db: Engine, at_revision: int) -> str | None:
    """What identifies the store's state at a revision: the time that revision was logged (None
    when it is not, or no longer, in the log). A snapshot of another store, or of a store
    recreated since, carries another mark."""
    t = index_changes
    with db.connect() as c:
        at = c.execute(sa.select(t.c.at).where(t.c.revision == at_revision)).scalar()
    return None if at is None else str(at)


_CASE_COLUMNS = ("siren", "confidential", "pole", "lat", "lon", "departement", "commune", "postal_code")


def candidate_frame(db: Engine, candidate_ids: Iterable[str], columns: list[str]) -> tuple[Any, list[dict]]:
    """The stored rows of these candidates (``columns``; absent ones and those that left the pool are
    not there, so a reader drops them) and, for those that are companies in a procedure, the case
    (what tells who may know of a confidential one)."""
    import pandas as pd

    from matcher.store.bulk import read_frame
    ids = sorted(set(candidate_ids))
    frames, cases = [], []
    cols = [companies.c[name] for name in _CASE_COLUMNS]
    for lo in range(0, len(ids), IN_CHUNKS):
        part = ids[lo:lo + IN_CHUNKS]
        frames.append(read_frame(db, candidates, [candidates.c.candidate_id.in_(part),
                                                  candidates.c.left_pool.is_(None)])[columns])
        with db.connect() as c:
            cases += [{**r, "confidential": bool(r["confidential"])} for r in c.execute(sa.select(*cols).where(
                companies.c.siren.in_(part), companies.c.procedure != "none")).mappings()]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return frame, cases


def confidential_candidates(db: Engine) -> set[str]:
    """Candidates that are confidential cases: who may know of them depends on the poles'
    territories, so a change of the poles changes them in the index."""
    q = sa.select(companies.c.siren).join(candidates, candidates.c.candidate_id == companies.c.siren).where(
        companies.c.procedure != "none", companies.c.confidential == sa.true())
    with db.connect() as c:
        return set(c.execute(q).scalars())


def poles_changed_since(db: Engine, after: int) -> bool:
    """Whether the poles may have changed after revision ``after`` (True too when the log no
    longer reaches back that far)."""
    t = index_changes
    with db.connect() as c:
        first = c.execute(sa.select(sa.func.min(t.c.revision))).scalar()
        if first is not None and int(first) - 1 > after:
            return True
        hit = c.execute(sa.select(t.c.revision).where(t.c.revision > after, t.c.scope == POLES).limit(1)).first()
    return hit is not None
