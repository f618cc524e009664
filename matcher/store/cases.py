"""The advisors' reads of cases: open cases for a dashboard, and the outcomes recorded so far."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from matcher.store.tables import candidates, companies, outcomes

# what a dashboard shows and the access rules need (not the free text nor the extra payload)
CASE_COLUMNS = ("siren", "name", "naf", "activity", "lat", "lon", "commune", "postal_code", "departement", "headcount",
                "headcount_band", "procedure", "procedure_date", "offer_deadline", "pole", "confidential", "updated_at")


def open_cases(db: Engine, *, confidential_poles: Collection[str] | None,
               poles: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Companies in a procedure. Confidential ones are pre-selected only when their ``pole`` is in
    ``confidential_poles`` or empty; with ``poles``, only companies followed by one of them or by no
    pole in particular. The caller applies the access rules and the pole territories (a company
    without a pole belongs to the poles containing it)."""
    c = companies.c
    visible = c.confidential == sa.false()
    if confidential_poles:
        visible = sa.or_(visible, c.pole.in_(sorted(confidential_poles)), c.pole.is_(None))
    where = [c.procedure != "none", visible]
    if poles is not None:
        where.append(sa.or_(c.pole.in_(sorted(poles)), c.pole.is_(None), c.pole == ""))
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
