"""Outcomes: an advisor or analyst records what happened with an option."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AuditDep, DbDep, LiveDep, OutcomeDep
from api.problems import API_ERRORS, Problem, error_responses, invalid
from api.schemas import OutcomeIn, OutcomeOut
from api.writes import refusal_problem, validate_outcome
from matcher.store import audit_log
from matcher.store.records import record_outcome as record_outcome_row

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"], responses=API_ERRORS)


@router.post("", response_model=OutcomeOut, status_code=201,
             responses={200: {"model": OutcomeOut, "description": "your own outcome was updated (its note)"},
                        **error_responses(409)})
async def record_outcome(body: OutcomeIn, response: Response, principal: OutcomeDep, db: DbDep, live: LiveDep,
                         audit: AuditDep) -> dict:
    """Record an outcome (rejected, contacted, interested, offer, takeover) for a stored company
    and a stored candidate (or ``employees:<siren>``). It is signed by the key that records it
    (``advisor`` is set by the server); an outcome another key recorded is never replaced."""
    # a write may wait for the store's writer (an import): outside the request pool
    return await live.waited(_record, body, response, principal, db, live, audit)


def _record(body: OutcomeIn, response: Response, principal, db, live, audit) -> dict:
    record = body.model_dump()
    given = record.get("advisor")
    if given not in (None, "") and given != principal.author:
        raise invalid("advisor", given, f"advisor is set by the server to the key that records the outcome "
                                        f"({principal.author}); leave it out")
    record["advisor"] = principal.author
    row, reason = validate_outcome(db, record, principal=principal, poles=live.engine.poles)
    if reason:
        raise refusal_problem(record, {"reason": reason})
    new, other = record_outcome_row(db, row)
    if other is not None:
        audit.record(principal.key_id, row["siren"], audit_log.REFUSED_WRITE, row["candidate_id"])
        raise Problem(409, f"this outcome ({row['outcome']} of {row['candidate_id']} for siren {row['siren']}"
                           f"{', ' + row['date'] if row['date'] else ''}) was recorded by {other}; record yours with "
                           "its own date, or ask them to change it")
    audit.record(principal.key_id, row["siren"], audit_log.RECORD_OUTCOME, row["candidate_id"])
    response.status_code = 201 if new else 200
    return row
