"""Filtered, paginated lists of companies and candidates (keyset pagination on the key)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from matcher.store.tables import candidates, companies

Row = dict[str, Any]


def company_page(db: Engine, *, confidential_poles: Collection[str] | None, keep: Callable[[Row], bool],
                 pole: str | None, procedure: str | None, naf_prefix: str | None, departement: str | None,
                 after: str | None, limit: int) -> tuple[list[Row], str | None]:
    """Companies in SIREN order. Confidential ones are pre-selected only when their ``pole`` is in
    ``confidential_poles`` or empty (their poles then come from the territories); every row then
    passes ``keep``. Returns (page, next cursor)."""
    c = companies.c
    visible = c.confidential == sa.false()
    if confidential_poles:
        visible = sa.or_(visible, c.pole.in_(sorted(confidential_poles)), c.pole.is_(None))
    where = [visible]
    if naf_prefix:
        where.append(c.naf.like(naf_prefix + "%"))
    if departement:
        where.append(c.departement == departement)
    if procedure:
        where.append(c.procedure == procedure)
    if pole:
        where.append(sa.or_(c.pole == pole, c.pole.is_(None)))
    out: list[Row] = []
    cursor, chunk = after, max(limit + 1, 200)
    with db.connect() as conn:
        while len(out) <= limit:
            page = [*where, c.siren > cursor] if cursor else where
            rows = conn.execute(sa.select(companies).where(*page).order_by(c.siren).limit(chunk)).mappings().all()
            for found in rows:
                r = dict(found)
                cursor = r["siren"]
                if keep(r):
                    out.append(r)
                    if len(out) > limit:
                        break
            if len(rows) < chunk:
                break
    return _page(out, limit, "siren")


def candidate_page(db: Engine, *, pole: str | None, kind: str | None, naf_prefix: str | None,
                   departement: str | None, after: str | None, limit: int) -> tuple[list[Row], str | None]:
    """Candidates in the pool in id order (not those that left it); returns (page, next cursor)."""
    t = candidates
    where = [t.c.left_pool.is_(None)]
    if naf_prefix:
        where.append(t.c.naf.like(naf_prefix + "%"))
    if departement:
        where.append(t.c.departement == departement)
    if kind:
        where.append(t.c.kind == kind)
    if pole:
        where.append(_json_list_has(db, t.c.pole, pole))
    if after:
        where.append(t.c.candidate_id > after)
    with db.connect() as conn:
        rows = conn.execute(sa.select(t).where(*where).order_by(t.c.candidate_id).limit(limit + 1)).mappings().all()
    return _page([dict(r) for r in rows], limit, "candidate_id")


def _page(rows: list[Row], limit: int, key: str) -> tuple[list[Row], str | None]:
    return (rows[:limit], rows[limit - 1][key]) if len(rows) > limit else (rows, None)


def _json_list_has(db: Engine, column: sa.Column, value: str) -> sa.ColumnElement[bool]:
    """``value`` is an element of the JSON list in ``column``."""
    if db.dialect.name == "postgresql":
        return column.op("@>")(sa.literal([value], type_=postgresql.JSONB))
    each = sa.func.json_each(column).table_valued("value")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == value))
