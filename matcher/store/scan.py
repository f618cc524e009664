"""The daily scan's reads and writes: signals, the companies they create or update, stored matches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.bulk import upsert
from matcher.store.tables import companies, matches, signals

BATCH = 5000


class SignalBatch:
    """One chunk of announcements stored in one transaction (see :func:`signal_batch`)."""

    def __init__(self, db: Engine, conn: sa.Connection) -> None:
        self.db, self.conn = db, conn

    def stored_reasons(self, record_ids: list[str]) -> dict[str, str | None]:
        """Record id -> stored reason, for those already stored."""
        q = sa.select(signals.c.record_id, signals.c.reason).where(signals.c.record_id.in_(record_ids))
        return dict(self.conn.execute(q).all())

    def companies(self, sirens: list[str]) -> dict[str, dict[str, Any]]:
        q = sa.select(companies).where(companies.c.siren.in_(sirens))
        return {r["siren"]: dict(r) for r in self.conn.execute(q).mappings()}

    def save_companies(self, rows: list[dict[str, Any]]) -> None:
        upsert(self.db, companies, rows, conn=self.conn)

    def save_signals(self, rows: list[dict[str, Any]]) -> None:
        upsert(self.db, signals, rows, conn=self.conn)


@contextmanager
def signal_batch(db: Engine) -> Iterator[SignalBatch]:
    """A transaction for one chunk: committed when the block ends, rolled back if it raises."""
    with db.begin() as conn:
        yield SignalBatch(db, conn)


def pending_sirens(db: Engine) -> list[str]:
    """SIRENs with an actionable signal not yet ranked."""
    t = signals
    with db.connect() as c:
        return sorted(set(c.execute(sa.select(t.c.siren).where(t.c.actionable, ~t.c.matched)).scalars()))


def save_matches(db: Engine, sirens: list[str], rows: list[dict[str, Any]]) -> None:
    """Replace the stored options of ``sirens``, atomically (their signals stay pending)."""
    with db.begin() as conn:
        conn.execute(sa.delete(matches).where(matches.c.siren.in_(sirens)))
        upsert(db, matches, rows, conn=conn)


def mark_ranked(db: Engine, sirens: list[str]) -> None:
    """Mark the actionable signals of ``sirens`` ranked (``matched``): they are no longer pending."""
    t = signals
    with db.begin() as conn:
        for lo in range(0, len(sirens), BATCH):
            part = sirens[lo:lo + BATCH]
            conn.execute(sa.update(t).where(t.c.siren.in_(part), t.c.actionable, ~t.c.matched).values(matched=True))


def stored_signals(db: Engine, record_ids: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """Record id -> (reason, actionable) as stored."""
    t = signals
    ids = list(record_ids)
    out: dict[str, tuple[str, bool]] = {}
    with db.connect() as c:
        for lo in range(0, len(ids), BATCH):
            q = sa.select(t.c.record_id, t.c.reason, t.c.actionable).where(t.c.record_id.in_(ids[lo:lo + BATCH]))
            out.update({r: (why or "", bool(act)) for r, why, act in c.execute(q)})
    return out
