"""API keys in the store: only their hash is kept."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.errors import Conflict
from matcher.store.bulk import fetch
from matcher.store.connection import now
from matcher.store.tables import api_keys

_KEY_ROW = sa.select(api_keys.c.key_hash, api_keys.c.role, api_keys.c.poles,
                     api_keys.c.revoked_at).where(api_keys.c.key_id == sa.bindparam("key_id"))


def insert_key(db: Engine, row: dict[str, Any]) -> None:
    with db.begin() as c:
        c.execute(sa.insert(api_keys), row)


def key_rows(db: Engine) -> list[dict[str, Any]]:
    """Every key, oldest first."""
    return sorted(fetch(db, api_keys), key=lambda r: (r["created_at"] or now(), r["key_id"]))


def key_for_check(db: Engine, key_id: str) -> Any:
    """(key_hash, role, poles, revoked_at) of a key id, or None."""
    with db.connect() as c:
        return c.execute(_KEY_ROW, {"key_id": key_id}).first()


def revoke_key(db: Engine, key_id: str) -> dict[str, Any] | None:
    """Mark a key revoked (idempotent); its row, or None when there is no such key. The last
    working admin key is not revoked (:class:`Conflict`): nobody could manage keys any more.

    The count of the other working admin keys and the revocation are one step: SQLite takes its
    write lock before counting (``BEGIN IMMEDIATE``), PostgreSQL locks the working admin keys'
    rows (``FOR UPDATE``, in key order), so two admins revoking each other at once in two
    processes never both succeed: the second counts after the first has committed."""
    with db.begin() as c:
        if c.dialect.name == "sqlite":  # pysqlite has not begun yet: no statement was run
            c.exec_driver_sql("BEGIN IMMEDIATE")
        row = c.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        if row is None:
            return None
        row = dict(row)
        if row["revoked_at"] is None and row["role"] == "admin":
            working = c.execute(sa.select(api_keys.c.key_id).where(
                api_keys.c.role == "admin", api_keys.c.revoked_at.is_(None))
                .order_by(api_keys.c.key_id).with_for_update()).scalars().all()
            if not set(working) - {key_id}:
                raise Conflict(f"key {key_id} is the last working admin key; create another admin key "
                               "(`reprise keys create --role admin`) before revoking this one")
        if row["revoked_at"] is None:
            row["revoked_at"] = now()
            c.execute(sa.update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=row["revoked_at"]))
    return row
