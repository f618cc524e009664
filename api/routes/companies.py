"""Companies in difficulty: create/update (single and bulk), get, list, erase."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from anyio.to_thread import run_sync
from fastapi import APIRouter, Body, Query, Response

from api.access import case_visible, may_write
from api.deps import AuditDep, CommunesDep, CompanyWriterDep, DbDep, LiveDep, PrincipalDep, SettingsDep
from api.listing import list_companies as query_companies
from api.params import check_range, parse_siren, path_siren
from api.problems import API_ERRORS, Problem, error_responses, invalid
from api.schemas import COMPANY_EXAMPLE, BulkReport, CompanyIn, CompanyOut, CompanyPage
from api.writes import refusal_problem, write_records
from matcher.contract.specs import PROCEDURES
from matcher.store import audit_log
from matcher.store.erasure import erase_company, pseudonym
from matcher.store.records import get_company_uniform

router = APIRouter(prefix="/v1/companies", tags=["companies"], responses=API_ERRORS)
NOT_FOUND = error_responses(404)
Procedure = Literal[PROCEDURES]  # type: ignore[valid-type]


def not_found(siren: str) -> Problem:
    return Problem(404, f"siren {siren} is not a stored company")


def visible_company(db, live, principal, siren: str) -> dict:
    """The stored company, or 404 when absent or not visible to this key (the same answer)."""
    company = get_company_uniform(db, siren)
    if not case_visible(principal, company, live.engine.poles):
        raise not_found(siren)
    return company


async def _after_write(live, settings, sirens: list[str]) -> None:
    # a company in difficulty is excluded as a candidate: only then does the index change
    if sirens and live.holds_any(sirens):
        await live.refreshed(settings.refresh_wait_seconds)


async def _write(records: list[dict], principal, db, live, communes, audit):
    written = await live.waited(partial(write_records, db, "companies", records, principal=principal,
                                     poles=live.engine.poles, communes=communes))
    for row in written.rows:
        await live.waited(audit.record, principal.key_id, row["siren"], audit_log.WRITE_COMPANY)
    for siren in written.forbidden_keys():
        await live.waited(audit.record, principal.key_id, audit_log.named_siren(siren), audit_log.REFUSED_WRITE)
    return written



async def _write_one(record: dict, response: Response, principal, db, live, communes, settings, audit) -> dict:
    written = await _write([record], principal, db, live, communes, audit)
    if written.rejects:
        raise refusal_problem(record, written.rejects[0])
    await _after_write(live, settings, [written.rows[0]["siren"]])
    response.status_code = 201 if written.new else 200
    return written.rows[0]


@router.post("", response_model=CompanyOut, status_code=201,
             responses={200: {"model": CompanyOut, "description": "an existing company was updated"}})
async def create_company(body: CompanyIn, response: Response, principal: CompanyWriterDep, db: DbDep, live: LiveDep,
                         communes: CommunesDep, settings: SettingsDep, audit: AuditDep) -> dict:
    """Create or update one case of your poles (upsert by SIREN), validated as in a file import."""
    return await _write_one(body.model_dump(), response, principal, db, live, communes, settings, audit)


@router.post("/bulk", response_model=BulkReport)
async def bulk_companies(principal: CompanyWriterDep, db: DbDep, live: LiveDep, communes: CommunesDep,
                         settings: SettingsDep, audit: AuditDep,
                   body: Annotated[list[CompanyIn], Body(examples=[[COMPANY_EXAMPLE]])]) -> dict:
    """Create or update many companies: good records are stored, each bad one is reported."""
    if len(body) > settings.max_bulk_rows:
        raise invalid("body", len(body), f"{len(body)} records in one request; at most "
                                         f"{settings.max_bulk_rows} are accepted, split the list")
    written = await _write([r.model_dump() for r in body], principal, db, live, communes, audit)
    await _after_write(live, settings, [r["siren"] for r in written.rows])
    return {"read": len(body), "stored": len(written.rows), "new": written.new,
            "rejected": len(written.rejects), "rejects": written.rejects}


@router.get("", response_model=CompanyPage)
def list_companies(principal: PrincipalDep, db: DbDep, live: LiveDep, settings: SettingsDep,
                   pole: str | None = Query(None, description="pole id (its own cases and those of its territory)"),
                   procedure: Procedure | None = None,
                   sector: str | None = Query(None, description="NAF code or prefix: 43, 43.3, 43.32A"),
                   departement: str | None = Query(None, description="département code: 44, 2A, 974"),
                   after: str | None = Query(None, description="the `next` of the previous page"),
                   limit: int = Query(50, ge=1, description="page size, at most max_page_size (500)")) -> dict:
    """Companies this key may see, in SIREN order."""
    check_range("limit", limit, 1, settings.max_page_size)
    items, nxt = query_companies(db, principal, live.engine.poles, pole=pole, procedure=procedure, sector=sector,
                     departement=departement, after=after, limit=limit)
    return {"items": items, "next": nxt}


@router.get("/{siren}", response_model=CompanyOut, responses=NOT_FOUND)
def get_company_route(siren: str, principal: PrincipalDep, db: DbDep, live: LiveDep) -> dict:
    """One company; 404 when absent or a confidential case outside the key's poles."""
    return visible_company(db, live, principal, path_siren(siren))


@router.put("/{siren}", response_model=CompanyOut, status_code=200,
            responses={201: {"model": CompanyOut, "description": "the company was created"}, **NOT_FOUND})
async def put_company(siren: str, body: CompanyIn, response: Response, principal: CompanyWriterDep, db: DbDep,
                      live: LiveDep, communes: CommunesDep, settings: SettingsDep, audit: AuditDep) -> dict:
    """Replace (or create) the company with this SIREN; fields left out become empty."""
    key = parse_siren(siren)
    record = body.model_dump()
    if record.get("siren") not in (None, "") and str(record["siren"]).replace(" ", "") != key:
        raise invalid("siren", record["siren"], f"siren {record['siren']} in the body differs from "
                                                f"{key} in the path; leave it out or make them equal")
    record["siren"] = key
    return await _write_one(record, response, principal, db, live, communes, settings, audit)


@router.delete("/{siren}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_company(siren: str, principal: CompanyWriterDep, db: DbDep, live: LiveDep,
                         settings: SettingsDep, audit: AuditDep) -> Response:
    """Erase a case of your poles, its recorded outcomes and its stored matches; its SIREN is
    pseudonymised in the audit log. Any other SIREN (absent, or a case you do not follow) is
    answered 404 alike."""
    key = path_siren(siren)
    stored = await run_sync(get_company_uniform, db, key)
    poles = live.engine.poles
    if not (case_visible(principal, stored, poles) and may_write(principal, stored, None, poles)):
        await live.waited(audit.record, principal.key_id, key, audit_log.REFUSED_WRITE)
        raise Problem(404, f"siren {key} is not a stored case of your poles")
    await live.waited(erase_company, db, key)
    await live.waited(audit.record, principal.key_id, None, audit_log.DELETE_COMPANY, pseudonym(db, key))
    await _after_write(live, settings, [key])
    return Response(status_code=204)
