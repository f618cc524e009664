"""Whether the store changed: a cheap signature of what the candidate index is built from."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.tables import candidates, companies, poles


def index_signature(db: Engine) -> tuple:
    """Changes whenever what the index is built from changes: candidates, poles, and which
    candidates are themselves companies in difficulty."""
    with db.connect() as c:
        a = c.execute(sa.select(sa.func.count(), sa.func.max(candidates.c.updated_at))).one()
        b = c.execute(sa.select(sa.func.count(), sa.func.max(companies.c.updated_at))
                      .select_from(companies.join(candidates, candidates.c.candidate_id == companies.c.siren))
                      .where(companies.c.procedure != "none")).one()
        p = c.execute(sa.select(sa.func.count()).select_from(poles)).scalar()
    return (tuple(a), tuple(b), p)


def ping(db: Engine) -> None:
    """Raise when the store does not answer."""
    with db.connect() as c:
        c.execute(sa.text("SELECT 1"))
