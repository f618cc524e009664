"""Filtered, paginated lists of companies and candidates (keyset pagination on the key)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine as DbEngine

from matcher import store
from matcher.reference import naf
from matcher.reference.territories import Poles

from .access import can_see, company_poles, visible_clause
from .problems import invalid
from .security import Principal

DEPARTEMENT = re.compile(r"\d{2}|2[AB]|97[1-6]")


def sector_clause(column: sa.Column, sector: str | None) -> list[sa.ColumnElement[bool]]:
    if not sector:
        return []
    prefix = naf.normalize_prefix(sector)
    if not prefix:
        raise invalid("sector", sector, f"sector {sector} is not a NAF code or prefix "
                                        "(expected e.g. 43, 43.3, 43.32 or 43.32A)")
    return [column.like(prefix + "%")]


def departement_clause(column: sa.Column, departement: str | None) -> list[sa.ColumnElement[bool]]:
    if not departement:
        return []
    if not DEPARTEMENT.fullmatch(departement):
        raise invalid("departement", departement, f"departement {departement} is not a département code "
                                                  "(01..95, 2A, 2B, 971..976)")
    return [column == departement]


def list_companies(db: DbEngine, principal: Principal, poles: Poles, *, pole: str | None,
                   procedure: str | None, sector: str | None, departement: str | None,
                   after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Companies this key may see, by SIREN; returns (page, next cursor)."""
    c = store.companies.c
    where = [visible_clause(principal), *sector_clause(c.naf, sector), *departement_clause(c.departement, departement)]
    if procedure:
        where.append(c.procedure == procedure)
    if pole:
        where.append(sa.or_(c.pole == pole, c.pole.is_(None)))
    out: list[dict[str, Any]] = []
    cursor, chunk = after, max(limit + 1, 200)
    with db.connect() as conn:
        while len(out) <= limit:
            page = [*where, c.siren > cursor] if cursor else where
            rows = conn.execute(sa.select(store.companies).where(*page).order_by(c.siren).limit(chunk)).mappings().all()
            for r in rows:
                r = dict(r)
                cursor = r["siren"]
                if can_see(principal, r, poles) and (not pole or pole in company_poles(r, poles)):
                    out.append(r)
                    if len(out) > limit:
                        break
            if len(rows) < chunk:
                break
    return _page(out, limit, "siren")


def list_candidates(db: DbEngine, *, pole: str | None, kind: str | None, sector: str | None,
                    departement: str | None, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Candidates by id; returns (page, next cursor)."""
    t = store.candidates
    where = [*sector_clause(t.c.naf, sector), *departement_clause(t.c.departement, departement)]
    if kind:
        where.append(t.c.kind == kind)
    if pole:
        where.append(_json_list_has(db, t.c.pole, pole))
    if after:
        where.append(t.c.candidate_id > after)
    with db.connect() as conn:
        rows = conn.execute(sa.select(t).where(*where).order_by(t.c.candidate_id).limit(limit + 1)).mappings().all()
    return _page([dict(r) for r in rows], limit, "candidate_id")


def _page(rows: list[dict[str, Any]], limit: int, key: str) -> tuple[list[dict[str, Any]], str | None]:
    return (rows[:limit], rows[limit - 1][key]) if len(rows) > limit else (rows, None)


def _json_list_has(db: DbEngine, column: sa.Column, value: str) -> sa.ColumnElement[bool]:
    """``value`` is an element of the JSON list in ``column``."""
    if db.dialect.name == "postgresql":
        return column.op("@>")(sa.literal([value], type_=postgresql.JSONB))
    each = sa.func.json_each(column).table_valued("value")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == value))
