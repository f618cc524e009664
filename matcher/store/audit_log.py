"""The audit log: every read of a company's matches, with who read it, when, and the company.

Rows are written before the answer leaves, by group commit: concurrent requests hand their row
to whichever of them is writing, which inserts all pending rows in one transaction. One
transaction at a time per process keeps SQLite writers from queueing on its lock (its busy
handler sleeps in steps of up to 100 ms) while every row is stored before its response.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine as DbEngine

from matcher.store.connection import driver_datetime, now
from matcher.store.records import rows_by_key
from matcher.store.tables import audit, companies

READ_MATCHES = "read_matches"       # a company's matches were returned
NOT_FOUND_MATCHES = "not_found_matches"  # asked for a case that is absent or hidden (the same row)
MATCH_PROFILE = "match_profile"     # options ranked for a profile sent in the request
WRITE_COMPANY, DELETE_COMPANY = "write_company", "delete_company"
WRITE_CANDIDATE, DELETE_CANDIDATE = "write_candidate", "delete_candidate"
RECORD_OUTCOME = "record_outcome"
REFUSED_WRITE = "refused_write"     # a write refused: outside the key's poles (absent or not: the same
#                                     row), for the key's role, an outcome of another key, the last admin key
CREATE_KEY, REVOKE_KEY, RELOAD_MODEL = "create_key", "revoke_key", "reload_model"
ACTIONS = (READ_MATCHES, NOT_FOUND_MATCHES, MATCH_PROFILE, WRITE_COMPANY, DELETE_COMPANY, WRITE_CANDIDATE,
           DELETE_CANDIDATE, RECORD_OUTCOME, REFUSED_WRITE, CREATE_KEY, REVOKE_KEY, RELOAD_MODEL)
AUDIT_COLUMNS = ("key_id", "at", "siren", "action", "subject")


def named_siren(text: object) -> str | None:
    """The SIREN a refused write names, as written (spaces removed) when it is nine digits, else
    None: the same audit row whether that company exists or not."""
    cleaned = "".join(str(text).split())
    return cleaned if len(cleaned) == 9 and cleaned.isdigit() else None


class _Pending:
    __slots__ = ("done", "error", "row")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row, self.done, self.error = row, threading.Event(), None


class AuditLog:
    """Writes audit rows of one process, batching those that arrive together."""

    def __init__(self, db: DbEngine) -> None:
        self.db = db
        # compiled once and run through the driver: SQLAlchemy's per-statement processing cost
        # 4x the insert itself (190 vs 47 microseconds), on every read of a company's matches
        compiled = sa.insert(audit).values({c: sa.bindparam(c) for c in AUDIT_COLUMNS}).compile(
            dialect=db.dialect)
        self._sql = str(compiled)
        self._order = compiled.positiontup if db.dialect.positional else None
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False
        self._patience: int | None = None  # SQLite's busy timeout, read at first use

    def record(self, key_id: str, siren: str | None, action: str, subject: str | None = None) -> None:
        """Store one row; returns once it is committed (raises if the store refused it)."""
        item = _Pending({"key_id": key_id, "at": now(), "siren": siren, "action": action, "subject": subject})
        with self._lock:
            self._queue.append(item)
            lead = not self._writing
            self._writing = True
        if lead:
            self._drain()
        item.done.wait()
        if item.error is not None:
            raise item.error

    def record_if_free(self, key_id: str, siren: str | None, action: str, subject: str | None = None) -> bool:
        """Store one row at once if that needs no wait: False, nothing stored, when a batch is
        being written or (SQLite) another connection holds the write lock — an import's
        transaction; the caller then calls :meth:`record` where waiting holds nobody else.
        Raises, as :meth:`record`, on any other error."""
        if self._writing:
            return False
        dialect = self.db.dialect.name
        row = {"key_id": key_id, "at": driver_datetime(now(), dialect), "siren": siren, "action": action,
               "subject": subject}
        params = [tuple(row[c] for c in self._order)] if self._order is not None else [row]
        with self.db.connect() as c:
            patience = None
            if dialect == "sqlite":  # this connection gives up at once instead of waiting for the lock
                if self._patience is None:  # the store's busy timeout, the same on every connection
                    self._patience = int(c.exec_driver_sql("PRAGMA busy_timeout").scalar())
                patience = self._patience
                c.exec_driver_sql("PRAGMA busy_timeout = 0")  # a PRAGMA opens no transaction
            try:
                c.exec_driver_sql(self._sql, params)
                c.commit()
            except sa.exc.OperationalError as exc:
                c.rollback()
                if dialect == "sqlite" and "locked" in str(exc.orig):
                    return False
                raise
            finally:
                if patience is not None:
                    c.exec_driver_sql(f"PRAGMA busy_timeout = {patience}")
        return True

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._writing = False
                    return
            error = None
            dialect = self.db.dialect.name
            rows = [{**p.row, "at": driver_datetime(p.row["at"], dialect)} for p in batch]
            params = [tuple(r[c] for c in self._order) for r in rows] if self._order is not None else rows
            try:
                with self.db.begin() as c:
                    c.exec_driver_sql(self._sql, params)
            except sa.exc.SQLAlchemyError as exc:
                error = exc
            for p in batch:
                p.error = error
                p.done.set()


def read_audit(db: DbEngine, *, key_id: str | None = None, siren: str | None = None, action: str | None = None,
               before: int | None = None, limit: int = 100,
               visible: Callable[[dict[str, Any]], bool] | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; returns (entries, cursor for older entries or None).

    With ``visible`` (a stored company -> whether the reader may know of it), a row naming a SIREN
    is kept only when that company is stored and visible: rows about hidden and about absent
    companies are left out alike, so the listing tells nothing of a confidential case.
    """
    t = audit
    where = [col == v for col, v in ((t.c.key_id, key_id), (t.c.siren, siren), (t.c.action, action)) if v]
    out: list[dict[str, Any]] = []
    cursor, chunk = before, max(limit + 1, 200)
    with db.connect() as c:
        while len(out) <= limit:
            page = [*where, t.c.id < cursor] if cursor is not None else where
            rows = [dict(r) for r in c.execute(sa.select(t).where(*page).order_by(t.c.id.desc())
                                               .limit(chunk)).mappings()]
            if visible is not None:
                named = sorted({r["siren"] for r in rows if r["siren"]})
                shown = {s for s, row in rows_by_key(db, companies, "siren", named).items() if visible(row)}
            for r in rows:
                cursor = r["id"]
                if visible is None or not r["siren"] or r["siren"] in shown:
                    out.append(r)
                    if len(out) > limit:
                        break
            if len(rows) < chunk:
                break
    return (out[:limit], out[limit - 1]["id"]) if len(out) > limit else (out, None)
