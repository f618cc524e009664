"""The advisors' reads of cases: open cases for a dashboard, and the outcomes recorded so far."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.tables import candidates, companies, outcomes

# what a dashboard shows and the access rules need (not the free text nor the extra payload)
CASE_COLUMNS = ("siren", "name", "naf", "activity", "lat", "lon", "commune", "postal_code", "departement", "headcount",
                "headcount_band", "procedure", "procedure_date", "offer_deadline", "pole", "confidential", "updated_at")


def open_cases(db: Engine, *, visible: sa.ColumnElement[bool],
               poles: list[str] | None = None) -> list[dict[str, Any]]:
    """Companies in a procedure passing the ``visible`` pre-filter (SQL) and, when ``poles`` are
    given, followed by one of them or by no pole in particular; the caller applies the rules that
    need the pole territories (a company without a pole belongs to those containing it)."""
    where = [companies.c.procedure != "none", visible]
    if poles is not None:
        where.append(sa.or_(companies.c.pole.in_(poles), companies.c.pole.is_(None), companies.c.pole == ""))
    query = sa.select(*(companies.c[c] for c in CASE_COLUMNS)).where(*where)
    with db.connect() as conn:
        result = conn.execute(query)
        keys = list(result.keys())
        return [dict(zip(keys, row)) for row in result]  # a third faster than .mappings()


_CASE_HISTORY = (sa.select(outcomes, candidates.c.name.label("candidate_name"), candidates.c.kind)
                 .select_from(outcomes.outerjoin(candidates, candidates.c.candidate_id == outcomes.c.candidate_id))
                 .where(outcomes.c.siren == sa.bindparam("siren"))
                 .order_by(outcomes.c.date.desc(), outcomes.c.recorded_at.desc()))


def case_history(db: Engine, siren: str) -> list[dict[str, Any]]:
    """The outcomes recorded for a company, newest first, with the candidate's name and kind."""
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(_CASE_HISTORY, {"siren": siren}).mappings()]


def candidate_history(db: Engine, candidate_id: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The outcomes naming a candidate, newest first, each with its company's row (for the
    access rules)."""
    query = (sa.select(outcomes, companies).select_from(outcomes.join(companies, companies.c.siren == outcomes.c.siren))
             .where(outcomes.c.candidate_id == candidate_id)
             .order_by(outcomes.c.date.desc(), outcomes.c.recorded_at.desc()))
    out = []
    with db.connect() as conn:
        for row in conn.execute(query):
            m = row._mapping
            out.append(({c.name: m[outcomes.c[c.name]] for c in outcomes.columns},
                        {c.name: m[companies.c[c.name]] for c in companies.columns}))
    return out
