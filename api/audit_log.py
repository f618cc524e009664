"""The audit log: every read of a company's matches, with the key, the time and the company."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine as DbEngine

from matcher import store

READ_MATCHES = "read_matches"       # a company's matches were returned
DENIED_MATCHES = "denied_matches"   # asked for a case the key may not see (answered 404)
MATCH_PROFILE = "match_profile"     # options ranked for a profile sent in the request


def record(db: DbEngine, key_id: str, siren: str | None, action: str) -> None:
    with db.begin() as c:
        c.execute(sa.insert(store.audit).values(key_id=key_id, at=store.now(), siren=siren, action=action))


def read(db: DbEngine, *, key_id: str | None = None, siren: str | None = None, action: str | None = None,
         before: int | None = None, limit: int = 100) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; returns (entries, cursor for older entries or None)."""
    t = store.audit
    where = [col == v for col, v in ((t.c.key_id, key_id), (t.c.siren, siren), (t.c.action, action)) if v]
    if before is not None:
        where.append(t.c.id < before)
    with db.connect() as c:
        rows = [dict(r) for r in c.execute(sa.select(t).where(*where).order_by(t.c.id.desc())
                                           .limit(limit + 1)).mappings()]
    return (rows[:limit], rows[limit - 1]["id"]) if len(rows) > limit else (rows, None)
