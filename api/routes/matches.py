"""Ranked takeover options: for a stored company (audited) or for a profile sent in the body."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio.to_thread import run_sync
from fastapi import APIRouter, Query, Request, Response
from pydantic_core import to_json

from api.access import case_visible, viewer_of
from api.deps import AuditDep, CommunesDep, LiveDep, PrincipalDep, SettingsDep
from api.params import check_range, parse_bool, parse_int, parse_kinds, path_siren
from api.problems import API_ERRORS, error_responses
from api.routes.companies import not_found
from api.schemas import CompanyIn, MatchResponse
from api.writes import refusal_problem, validate
from matcher.contract.imports import rows_for_store
from matcher.store import audit_log
from matcher.store.records import get_company_uniform

router = APIRouter(prefix="/v1", tags=["matches"], responses=API_ERRORS)
TOP = Query(10, ge=1, description="options to return, 1 to max_top (100)")
KINDS = Query(None, description="comma-separated kinds to keep: company, pole_member, cooperative, "
                                "repreneur, employee_group, employees")
EXPLAIN = Query(False, description="also list the candidates considered and excluded, with the reason")


# The busiest route reads its query parameters itself (documented below, same checks and
# messages): FastAPI's per-request processing of declared parameters and dependencies cost
# more than the route's store reads (yappi profile of cached reads).
MATCH_QUERY = [
    {"name": "top", "in": "query", "required": False, "description": TOP.description,
     "schema": {"type": "integer", "minimum": 1, "default": 10}},
    {"name": "kinds", "in": "query", "required": False, "description": KINDS.description,
     "schema": {"type": "string"}},
    {"name": "explain_exclusions", "in": "query", "required": False, "description": EXPLAIN.description,
     "schema": {"type": "boolean", "default": False}},
]


@router.get("/companies/{siren}/matches", response_model=MatchResponse, response_model_exclude_none=True,
            responses=error_responses(404), openapi_extra={"parameters": MATCH_QUERY})
async def company_matches(siren: str, request: Request, principal: PrincipalDep) -> Response:
    """The ranked options for a stored company, with each feature's contribution to the score.

    Every call is written to the audit log (key, time, company).
    """
    state = request.app.state  # the app's parts straight from its state, not as dependencies
    live, settings = state.live, state.settings
    query = request.query_params
    key = path_siren(siren)
    top = parse_int("top", query["top"], 1, settings.max_top) if "top" in query else 10
    kind_list = parse_kinds(query.get("kinds"))
    explain_exclusions = parse_bool("explain_exclusions", query["explain_exclusions"]) \
        if "explain_exclusions" in query else False
    rank = partial(_rank_case, state, principal, key, top, kind_list, explain_exclusions)
    answer = await run_sync(rank, True)
    if answer is None:  # another process's writes go in the index first, waited for outside the request pool
        await live.caught_up()
        answer = await run_sync(rank, False)
    body, audited = answer
    if not audited:  # written before the answer leaves: waiting for the store's writer (an import) outside the pool
        action = audit_log.READ_MATCHES if body is not None else audit_log.NOT_FOUND_MATCHES
        await live.waited(state.audit.record, principal.key_id, key, action)
    if body is None:
        raise not_found(key)
    return Response(body, media_type="application/json")


def _rank_case(state, principal, key: str, top: int, kind_list, explain_exclusions: bool,
               catch_up: bool) -> tuple[bytes | None, bool] | None:
    """The answer's body (None: absent or hidden) and whether its audit row is written (not when
    that would wait); None when the index must first take in changes made elsewhere
    (``catch_up``: checked without waiting)."""
    db, live, settings = state.db, state.live, state.settings
    if catch_up and not live.catch_up(wait=False):
        return None
    serving = live.serving
    company = get_company_uniform(db, key)
    if not case_visible(principal, company, serving.engine.poles):
        # an absent and a hidden case: the same work, the same audit row, the same answer
        return None, state.audit.record_if_free(principal.key_id, key, audit_log.NOT_FOUND_MATCHES)
    viewer = viewer_of(principal)
    cache_key = serving.cache.key(company, top, tuple(kind_list or ()), explain_exclusions, viewer.key())
    body = serving.cache.get(cache_key)
    if body is None:
        result = serving.engine.match(company, top=top, kinds=kind_list, explain_exclusions=explain_exclusions,
                                      exclusions_limit=settings.max_exclusions, viewer=viewer)
        body = rendered(result.payload(explain=explain_exclusions, max_exclusions=settings.max_exclusions))
        serving.cache.put(cache_key, body)
    return body, state.audit.record_if_free(principal.key_id, key, audit_log.READ_MATCHES)


@router.post("/match", response_model=MatchResponse, response_model_exclude_none=True)
async def match_profile(body: CompanyIn, principal: PrincipalDep, live: LiveDep, settings: SettingsDep,
                        communes: CommunesDep, audit: AuditDep,
                        top: int = TOP, kinds: str | None = KINDS, explain_exclusions: bool = EXPLAIN) -> Response:
    """Rank options for a company profile given in the body (validated as a company record, not
    stored)."""
    check_range("top", top, 1, settings.max_top)
    kind_list = parse_kinds(kinds)
    record = body.model_dump()

    def rank(catch_up: bool) -> tuple[str, bytes, bool] | None:
        if catch_up and not live.catch_up(wait=False):
            return None
        clean, reasons = validate("companies", [record], communes=communes)
        if reasons.iat[0]:
            raise refusal_problem(record, {"reason": reasons.iat[0]})
        company = rows_for_store("companies", clean)[0]
        result = live.engine.match(company, top=top, kinds=kind_list, explain_exclusions=explain_exclusions,
                                   exclusions_limit=settings.max_exclusions, viewer=viewer_of(principal))
        payload = result.payload(explain=explain_exclusions, max_exclusions=settings.max_exclusions)
        audited = audit.record_if_free(principal.key_id, company["siren"], audit_log.MATCH_PROFILE)
        return company["siren"], rendered(payload), audited

    answer = await run_sync(rank, True)
    if answer is None:  # another process's writes go in the index first, waited for outside the request pool
        await live.caught_up()
        answer = await run_sync(rank, False)
    siren, out, audited = answer
    if not audited:  # the store's writer is busy (an import): wait for it outside the request pool
        await live.waited(audit.record, principal.key_id, siren, audit_log.MATCH_PROFILE)
    return Response(out, media_type="application/json")


def rendered(body: dict[str, Any]) -> bytes:
    """The payload as JSON, written once (and kept so by the cache). It is built to the
    ``MatchResponse`` layout, so FastAPI's validation of the returned dict is skipped: it cost
    ~0.2 ms per answer; the schemathesis tests check every answer against the schema."""
    return to_json(body)
