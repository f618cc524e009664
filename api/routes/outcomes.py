"""Outcomes: an advisor or analyst records what happened with an option."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DbDep, LiveDep, OutcomeDep
from api.problems import API_ERRORS
from api.schemas import OutcomeIn, OutcomeOut
from api.writes import refusal_problem, validate_outcome
from matcher.store.records import record_outcome as record_outcome_row

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"], responses=API_ERRORS)


@router.post("", response_model=OutcomeOut, status_code=201)
def record_outcome(body: OutcomeIn, principal: OutcomeDep, db: DbDep, live: LiveDep) -> dict:
    """Record an outcome (rejected, contacted, interested, offer, takeover) for a stored company
    and a stored candidate (or ``employees:<siren>``). ``advisor`` defaults to the key's id."""
    record = body.model_dump()
    if record.get("advisor") in (None, ""):
        record["advisor"] = f"key:{principal.key_id}"
    row, reason = validate_outcome(db, record, principal=principal, poles=live.engine.poles)
    if reason:
        raise refusal_problem(record, {"reason": reason})
    record_outcome_row(db, row)
    return row
