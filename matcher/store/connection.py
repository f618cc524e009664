"""Opening the store: a SQLite file by default, PostgreSQL by URL; store times."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from matcher.errors import StoreUnavailable
from matcher.settings import DEFAULT_DATABASE_URL
from matcher.store.tables import metadata
from matcher.store.upgrade import add_missing_columns

SUPPORTED = ("sqlite", "postgresql")
EXPECTED = "expected sqlite:///path.db or postgresql+psycopg://user@host/dbname"


def default_url() -> str:
    return DEFAULT_DATABASE_URL


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite store URL (None for other stores and in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a SQLite URI (mode=ro…): sqlite3 reads it itself
        return None
    return Path(parsed.database)


def connect(url: str, *, create: bool = True) -> Engine:
    """Open the store at ``url`` and create missing tables.

    With ``create=False`` a SQLite file that does not exist is an error instead of a new empty store.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise StoreUnavailable(f"database URL {url!r} is not understood; {EXPECTED}") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() not in SUPPORTED:
        raise StoreUnavailable(f"database URL {shown}: {parsed.get_backend_name()} is not a supported store; "
                               f"{EXPECTED}")
    path = sqlite_path(url)
    if path is not None:
        if path.is_dir():
            raise StoreUnavailable(f"database URL {shown}: {path} is a folder, not a SQLite file")
        if not create and not path.exists():
            raise StoreUnavailable(f"there is no store at {path}: import data first (`reprise import …`), or name "
                                   "another store with --db or REPRISE_DATABASE_URL")
        if not path.parent.exists():
            raise StoreUnavailable(f"database URL {shown}: the folder {path.parent} does not exist")
        if not path.exists():  # readable by its owner only (SQLite gives its -wal/-shm files the same mode)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise StoreUnavailable(f"database URL {shown}: {path} cannot be created: {exc.strerror}") from None
    try:
        engine = sa.create_engine(parsed)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise StoreUnavailable(f"database URL {shown} cannot be used ({exc}); {EXPECTED}") from None
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # WAL lets the API read while a scan writes
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # every connection overwrites what it deletes or moves: an erased value's bytes must
            # not survive in a page that any later write rebalances (see matcher.store.erasure)
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()
    try:
        metadata.create_all(engine)
        add_missing_columns(engine)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise StoreUnavailable(f"cannot open the store at {shown}: {str(exc.orig).strip()}") from None
    return engine


_UNAVAILABLE = ("readonly database", "read-only", "unable to open database", "database is locked",
                "disk i/o error", "database or disk is full", "connection refused", "could not connect",
                "connection to server", "server closed the connection", "no such host", "timeout expired")


def unavailable(exc: BaseException) -> StoreUnavailable | None:
    """The store error a user can act on (read-only file, full disk, server down), as a
    :class:`StoreUnavailable`; None for anything else (a bug is reported as one)."""
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return None
    detail = " ".join(str(exc.orig if exc.orig is not None else exc).split())
    if not any(word in detail.lower() for word in _UNAVAILABLE):
        return None
    hint = (" (the store is read-only: give a store you may write to with --db)"
            if "readonly" in detail.lower() or "read-only" in detail.lower() else "")
    return StoreUnavailable(f"the store cannot be used: {detail[:300]}{hint}")


def now() -> dt.datetime:
    """The store's clock: naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def driver_datetime(value: Any, dialect: str) -> Any:
    """A datetime as the driver wants it (SQLite: SQLAlchemy's text form)."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if dialect == "sqlite" and isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value
