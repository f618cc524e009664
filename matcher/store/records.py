"""Queries on the contract's records: companies, candidates, outcomes, poles."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.bulk import fetch, upsert
from matcher.store.tables import candidates, companies, outcomes, poles

# built once: constructing a statement costs more than running it (these run on every API read)
_COMPANY = sa.select(companies).where(companies.c.siren == sa.bindparam("key"))
# the same, always reading one stored row: the asked company when stored, else the first one (see
# ``get_company_uniform``)
_FOUND = sa.literal_column("found")
_COMPANY_UNIFORM = sa.union_all(
    sa.select(companies, sa.literal(1).label("found")).where(companies.c.siren == sa.bindparam("key")),
    sa.select(companies, sa.literal(0).label("found")).where(
        companies.c.siren == sa.select(sa.func.min(companies.c.siren)).scalar_subquery()),
).order_by(_FOUND.desc()).limit(1)
_CANDIDATE = sa.select(candidates).where(candidates.c.candidate_id == sa.bindparam("key"))
IN_CHUNKS = 900  # values per IN (...) list: SQLite's limit on bound parameters is 999 in old builds


def company_rows(db: Engine, sirens: Iterable[str] | None = None, *, in_difficulty: bool = True) -> list[dict]:
    """Stored companies by SIREN: the given ones, else every company in difficulty (or all)."""
    where = []
    if sirens is not None:
        where.append(companies.c.siren.in_(sorted(set(sirens))))
    elif in_difficulty:
        where.append(companies.c.procedure != "none")
    return sorted(fetch(db, companies, where), key=lambda r: r["siren"])


def get_company(db: Engine, siren: str) -> dict[str, Any] | None:
    with db.connect() as c:
        row = c.execute(_COMPANY, {"key": siren}).first()
    return row._asdict() if row else None


def get_company_uniform(db: Engine, siren: str) -> dict[str, Any] | None:
    """``get_company`` doing the same work whether ``siren`` is stored or not: one statement that
    reads the asked row when it exists, else the first stored one, and hands one row back either
    way — so an absent SIREN is not answered faster than a stored case the caller may not see."""
    with db.connect() as c:
        row = c.execute(_COMPANY_UNIFORM, {"key": siren}).first()
    if row is None:
        return None
    out = row._asdict()
    return out if out.pop("found") == 1 else None


def get_candidate(db: Engine, candidate_id: str) -> dict[str, Any] | None:
    with db.connect() as c:
        row = c.execute(_CANDIDATE, {"key": candidate_id}).first()
    return row._asdict() if row else None


def pole_rows(db: Engine) -> list[dict[str, Any]]:
    return fetch(db, poles)


_CASE_COLUMNS = ("siren", "confidential", "pole", "lat", "lon", "departement", "commune", "postal_code")


def difficulty_cases(db: Engine) -> list[dict[str, Any]]:
    """The companies in a procedure (a candidate among them is excluded), with what tells who
    may know of a confidential one (its pole and place)."""
    cols = [companies.c[name] for name in _CASE_COLUMNS]
    with db.connect() as c:
        rows = c.execute(sa.select(*cols).where(companies.c.procedure != "none")).mappings().all()
    return [{**r, "confidential": bool(r["confidential"])} for r in rows]


def count(db: Engine, table: sa.Table) -> int:
    with db.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(table)).scalar())


def existing(db: Engine, column: sa.Column, values: Iterable[str]) -> set[str]:
    """The values of ``column`` among ``values``."""
    found: set[str] = set()
    vals = sorted(set(values))
    with db.connect() as c:
        for i in range(0, len(vals), IN_CHUNKS):
            found.update(c.execute(sa.select(column).where(column.in_(vals[i:i + IN_CHUNKS]))).scalars())
    return found


def rows_by_key(db: Engine, table: sa.Table, key: str, values: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Stored rows of ``table`` whose ``key`` is among ``values``, by key."""
    out: dict[str, dict[str, Any]] = {}
    col = table.c[key]
    vals = sorted(set(values))
    with db.connect() as c:
        for i in range(0, len(vals), IN_CHUNKS):
            for r in c.execute(sa.select(table).where(col.in_(vals[i:i + IN_CHUNKS]))).mappings():
                out[r[key]] = dict(r)
    return out


def record_outcome(db: Engine, row: dict[str, Any]) -> tuple[bool, str | None]:
    """Store an outcome unless the same one (siren, candidate, outcome, date) was recorded by
    another author; returns (new, the other author when refused)."""
    key = [outcomes.c[k] == row[k] for k in ("siren", "candidate_id", "outcome", "date")]
    with db.begin() as c:
        stored = c.execute(sa.select(outcomes.c.advisor).where(*key)).first()
        if stored is not None and stored.advisor != row.get("advisor"):
            return False, stored.advisor or "another author"
        upsert(db, outcomes, [row], conn=c)
    return stored is None, None


def outcome_rows(db: Engine) -> list[dict[str, Any]]:
    return fetch(db, outcomes)
