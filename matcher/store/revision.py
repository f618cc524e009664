"""Whether the store changed (its revision, see :mod:`matcher.store.changes`) and whether it answers."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.changes import revision

__all__ = ["ping", "revision"]


def ping(db: Engine) -> None:
    """Raise when the store does not answer."""
    with db.connect() as c:
        c.execute(sa.text("SELECT 1"))
