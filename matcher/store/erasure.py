"""Erasing a company or a candidate for good: its rows, its name in the audit log, its bytes.

The audit log keeps its rows (who did what, when) but the erased SIREN or candidate id is replaced
by a pseudonym: ``erased:`` and 16 hex digits of an HMAC keyed by a secret kept in the store, so
the rows about one erased record stay linked to each other without naming it, and nobody without
the store's secret can test a guess. SQLite overwrites deleted content (``secure_delete``, on
every connection of the store) and its write-ahead log is checkpointed and truncated; when the
erased value's bytes are still found in the file afterwards (stale copies of index cells left in
a page's unused space when it was rebalanced), the store is VACUUMed: the erased text is gone from
the files. PostgreSQL gets a VACUUM of the tables concerned (the space is reused; see docs/security.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.changes import log_erased, log_write
from matcher.store.connection import sqlite_path
from matcher.store.tables import audit, candidates, companies, matches, meta, outcomes, signals

SECRET_KEY = "pseudonym_secret"
_ERASED_TABLES = ("companies", "candidates", "outcomes", "signals", "matches", "audit", "index_changes")


def _secret(conn: sa.Connection) -> bytes:
    row = conn.execute(sa.select(meta.c.value).where(meta.c.key == SECRET_KEY)).scalar()
    if row is None:
        row = secrets.token_hex(32)
        conn.execute(sa.insert(meta).values(key=SECRET_KEY, value=row))
    return bytes.fromhex(row)


def pseudonym(db: Engine, value: str) -> str:
    """The audit log's name for an erased SIREN or candidate id."""
    with db.begin() as conn:
        return _pseudonym(conn, value)


def _pseudonym(conn: sa.Connection, value: str) -> str:
    return "erased:" + hmac.new(_secret(conn), value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def erase_company(db: Engine, siren: str) -> bool:
    """Delete a company with its outcomes (incl. its employees' option), stored matches and the
    signals read from court announcements about it (they carry a person's name); pseudonymise
    its SIREN in the audit log. False when no such company was stored."""
    with _erasing(db) as c:
        c.execute(sa.delete(outcomes).where(outcomes.c.siren == siren))
        c.execute(sa.delete(signals).where(signals.c.siren == siren))
        c.execute(sa.delete(matches).where(matches.c.siren == siren))
        c.execute(sa.update(audit).where(audit.c.siren == siren).values(siren=None, subject=_pseudonym(c, siren)))
        log_write(c, companies, [siren])  # before the delete: it logs the SIRENs that are candidates
        found = c.execute(sa.delete(companies).where(companies.c.siren == siren)).rowcount > 0
    _forget_bytes(db, siren)
    return found


def erase_candidate(db: Engine, candidate_id: str) -> bool:
    """Delete a candidate with the outcomes and stored matches that name it; pseudonymise its id
    in the audit log. False when no such candidate was stored."""
    with _erasing(db) as c:
        c.execute(sa.delete(outcomes).where(outcomes.c.candidate_id == candidate_id))
        c.execute(sa.delete(matches).where(matches.c.candidate_id == candidate_id))
        c.execute(sa.update(audit).where(audit.c.subject == candidate_id).values(subject=_pseudonym(c, candidate_id)))
        found = c.execute(sa.delete(candidates).where(candidates.c.candidate_id == candidate_id)).rowcount > 0
        if found:
            log_erased(c, candidate_id)
    _forget_bytes(db, candidate_id)
    return found


@contextlib.contextmanager
def _erasing(db: Engine) -> Iterator[sa.Connection]:
    """A transaction whose deletions overwrite the freed bytes (SQLite: ``secure_delete`` is on
    for every connection, see :func:`matcher.store.connection.connect`)."""
    with db.connect() as c, c.begin():
        yield c


def _forget_bytes(db: Engine, value: str) -> None:
    """Make the deleted rows' bytes go away from the store's files."""
    if db.dialect.name == "sqlite":
        with db.connect() as c:  # the deletions overwrote their pages; now empty the write-ahead log
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            c.commit()
        path = sqlite_path(db.url.render_as_string(hide_password=False))
        if path is not None and _holds(path, value.encode("utf-8")):
            with db.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM")  # rewrites every page: no stale cell survives
                c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif db.dialect.name == "postgresql":
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM " + ", ".join(_ERASED_TABLES))


def _holds(path: Path, needle: bytes, chunk: int = 1 << 24) -> bool:
    """Whether a file holds these bytes (read in chunks that overlap by the needle's length)."""
    tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            if needle in tail + block:
                return True
            tail = block[-len(needle):]
    return False
