"""Queries on the contract's records: companies, candidates, outcomes, poles."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.bulk import fetch, upsert
from matcher.store.tables import candidates, companies, matches, outcomes, poles, signals

# built once: constructing a statement costs more than running it (these run on every API read)
_COMPANY = sa.select(companies).where(companies.c.siren == sa.bindparam("key"))
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


def get_candidate(db: Engine, candidate_id: str) -> dict[str, Any] | None:
    with db.connect() as c:
        row = c.execute(_CANDIDATE, {"key": candidate_id}).first()
    return row._asdict() if row else None


def pole_rows(db: Engine) -> list[dict[str, Any]]:
    return fetch(db, poles)


def difficulty_sirens(db: Engine) -> set[str]:
    """SIRENs of the companies in a procedure (a candidate among them is excluded)."""
    with db.connect() as c:
        return set(c.execute(sa.select(companies.c.siren).where(companies.c.procedure != "none")).scalars())


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


def record_outcome(db: Engine, row: dict[str, Any]) -> None:
    upsert(db, outcomes, [row])


def outcome_rows(db: Engine) -> list[dict[str, Any]]:
    return fetch(db, outcomes)


def erase_company(db: Engine, siren: str) -> bool:
    """Delete a company with its outcomes (incl. its employees' option), stored matches and the
    signals read from court announcements about it (they carry a person's name)."""
    with db.begin() as c:
        c.execute(sa.delete(outcomes).where(outcomes.c.siren == siren))
        c.execute(sa.delete(signals).where(signals.c.siren == siren))
        c.execute(sa.delete(matches).where(matches.c.siren == siren))
        return c.execute(sa.delete(companies).where(companies.c.siren == siren)).rowcount > 0


def erase_candidate(db: Engine, candidate_id: str) -> bool:
    """Delete a candidate with the outcomes and stored matches that name it."""
    with db.begin() as c:
        c.execute(sa.delete(outcomes).where(outcomes.c.candidate_id == candidate_id))
        c.execute(sa.delete(matches).where(matches.c.candidate_id == candidate_id))
        return c.execute(sa.delete(candidates).where(candidates.c.candidate_id == candidate_id)).rowcount > 0
