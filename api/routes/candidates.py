"""Takeover candidates: create/update (single and bulk), get, list, erase.

Every write is in the serving index before the answer (reads keep using the previous index
while the new one is built).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response

from api.deps import AuditDep, CandidateWriterDep, CommunesDep, DbDep, LiveDep, PrincipalDep, SettingsDep
from api.listing import list_candidates as query_candidates
from api.params import check_range
from api.problems import API_ERRORS, Problem, error_responses, invalid
from api.schemas import CANDIDATE_EXAMPLE, BulkReport, CandidateIn, CandidateOut, CandidatePage
from api.writes import refusal_problem, write_records
from matcher.contract.specs import CANDIDATE_KINDS
from matcher.store import audit_log
from matcher.store.erasure import erase_candidate, pseudonym
from matcher.store.records import get_candidate

router = APIRouter(prefix="/v1/candidates", tags=["candidates"], responses=API_ERRORS)
NOT_FOUND = error_responses(404)
Kind = Literal[CANDIDATE_KINDS]  # type: ignore[valid-type]


def _clean_id(candidate_id: str) -> str:
    return "".join(candidate_id.split()) if candidate_id.replace(" ", "").isdigit() else candidate_id.strip()


async def _write(records: list[dict], principal, db, live, communes, audit):
    written = await live.waited(partial(write_records, db, "candidates", records, principal=principal,
                                     poles=live.engine.poles, communes=communes))
    for row in written.rows:
        await live.waited(audit.record, principal.key_id, None, audit_log.WRITE_CANDIDATE, row["candidate_id"])
    return written


async def _write_one(record: dict, response: Response, principal, db, live, communes, settings, audit) -> dict:
    written = await _write([record], principal, db, live, communes, audit)
    if written.rejects:
        raise refusal_problem(record, written.rejects[0])
    await live.refreshed(settings.refresh_wait_seconds)
    response.status_code = 201 if written.new else 200
    return written.rows[0]


@router.post("", response_model=CandidateOut, status_code=201,
             responses={200: {"model": CandidateOut, "description": "an existing candidate was updated"}})
async def create_candidate(body: CandidateIn, response: Response, principal: CandidateWriterDep, db: DbDep,
                           live: LiveDep, communes: CommunesDep, settings: SettingsDep, audit: AuditDep) -> dict:
    """Create or update one candidate (upsert by candidate_id), validated as in a file import."""
    return await _write_one(body.model_dump(), response, principal, db, live, communes, settings, audit)


@router.post("/bulk", response_model=BulkReport)
async def bulk_candidates(principal: CandidateWriterDep, db: DbDep, live: LiveDep, communes: CommunesDep,
                          settings: SettingsDep, audit: AuditDep,
                    body: Annotated[list[CandidateIn], Body(examples=[[CANDIDATE_EXAMPLE]])]) -> dict:
    """Create or update many candidates: good records are stored, each bad one is reported."""
    if len(body) > settings.max_bulk_rows:
        raise invalid("body", len(body), f"{len(body)} records in one request; at most "
                                         f"{settings.max_bulk_rows} are accepted, split the list")
    written = await _write([r.model_dump() for r in body], principal, db, live, communes, audit)
    if written.rows:
        await live.refreshed(settings.refresh_wait_seconds)
    return {"read": len(body), "stored": len(written.rows), "new": written.new,
            "rejected": len(written.rejects), "rejects": written.rejects}


@router.get("", response_model=CandidatePage)
def list_candidates(principal: PrincipalDep, db: DbDep, settings: SettingsDep,
                    pole: str | None = Query(None, description="pole id the candidate belongs to"),
                    kind: Kind | None = None,
                    sector: str | None = Query(None, description="NAF code or prefix of its own activity"),
                    departement: str | None = Query(None, description="département code: 44, 2A, 974"),
                    after: str | None = Query(None, description="the `next` of the previous page"),
                    limit: int = Query(50, ge=1, description="page size, at most max_page_size (500)")) -> dict:
    """Candidates in candidate_id order."""
    check_range("limit", limit, 1, settings.max_page_size)
    items, nxt = query_candidates(db, pole=pole, kind=kind, sector=sector, departement=departement,
                                  after=after, limit=limit)
    return {"items": items, "next": nxt}


@router.get("/{candidate_id}", response_model=CandidateOut, responses=NOT_FOUND)
def get_candidate_route(candidate_id: str, principal: PrincipalDep, db: DbDep) -> dict:
    """One candidate."""
    row = get_candidate(db, _clean_id(candidate_id))
    if row is None:
        raise Problem(404, f"candidate_id {candidate_id} is not a stored candidate")
    return row


@router.put("/{candidate_id}", response_model=CandidateOut, status_code=200,
            responses={201: {"model": CandidateOut, "description": "the candidate was created"}})
async def put_candidate(candidate_id: str, body: CandidateIn, response: Response, principal: CandidateWriterDep,
                        db: DbDep, live: LiveDep, communes: CommunesDep, settings: SettingsDep,
                        audit: AuditDep) -> dict:
    """Replace (or create) the candidate with this id; fields left out become empty."""
    key = _clean_id(candidate_id)
    record = body.model_dump()
    given = record.get("candidate_id")
    if given not in (None, "") and _clean_id(str(given)) != key:
        raise invalid("candidate_id", given, f"candidate_id {given} in the body differs from {key} in "
                                             "the path; leave it out or make them equal")
    record["candidate_id"] = key
    return await _write_one(record, response, principal, db, live, communes, settings, audit)


@router.delete("/{candidate_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_candidate(candidate_id: str, principal: CandidateWriterDep, db: DbDep, live: LiveDep,
                           settings: SettingsDep, audit: AuditDep) -> Response:
    """Erase the candidate, the outcomes and the stored matches that name it; its id is
    pseudonymised in the audit log."""
    key = _clean_id(candidate_id)
    if not await live.waited(erase_candidate, db, key):
        raise Problem(404, f"candidate_id {candidate_id} is not a stored candidate")
    await live.waited(audit.record, principal.key_id, None, audit_log.DELETE_CANDIDATE, pseudonym(db, key))
    await live.refreshed(settings.refresh_wait_seconds)
    live.erased()  # its id and name leave the snapshot's files too
    return Response(status_code=204)
