"""Outcomes: an advisor or analyst records what happened with an option."""

from __future__ import annotations

from fastapi import APIRouter

from matcher import store
from matcher.imports import rows_for_store

from ..access import can_see
from ..deps import DbDep, LiveDep, OutcomeDep
from ..problems import API_ERRORS
from ..schemas import OutcomeIn, OutcomeOut
from ..writes import get_company, refusal_problem, validate

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"], responses=API_ERRORS)


@router.post("", response_model=OutcomeOut, status_code=201)
def record_outcome(body: OutcomeIn, principal: OutcomeDep, db: DbDep, live: LiveDep) -> dict:
    """Record an outcome (rejected, contacted, interested, offer, takeover) for a stored company
    and a stored candidate (or ``employees:<siren>``). ``advisor`` defaults to the key's id."""
    record = body.model_dump()
    if record.get("advisor") in (None, ""):
        record["advisor"] = f"key:{principal.key_id}"
    clean, reasons = validate("outcomes", [record], communes=None, db=db)
    reason = reasons.iat[0]
    siren = clean["siren"].iat[0]
    company = get_company(db, siren) if isinstance(siren, str) else None
    if company is not None and not can_see(principal, company, live.engine.poles):
        # a case this key may not see is answered exactly as an absent one
        own_reason = validate("outcomes", [record], communes=None)[1].iat[0]  # format only
        refs = reason[len(own_reason):].lstrip("; ")
        missing = f"siren {siren} is not a stored company in difficulty; import it first"
        reason = "; ".join(p for p in (own_reason, missing, refs) if p)
    if reason:
        raise refusal_problem(record, {"reason": reason})
    row = rows_for_store("outcomes", clean)[0]
    store.upsert(db, store.outcomes, [row])
    return row
