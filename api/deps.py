"""Dependencies of the routes, as ``Annotated`` aliases: settings, store, engine, the caller.

Those that do no I/O are ``async`` so FastAPI does not send each to the thread pool.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine as DbEngine

from api.access import ADMIN_ROLES, CANDIDATE_WRITE_ROLES, COMPANY_WRITE_ROLES, OUTCOME_ROLES, require
from api.live_engine import LiveEngine
from api.problems import Problem
from api.security import KeyCache, Principal
from matcher.reference.communes import Communes
from matcher.settings import Settings
from matcher.store.audit_log import REFUSED_WRITE, AuditLog, named_siren

bearer = HTTPBearer(auto_error=False, description="an API key created with `reprise keys create`")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> DbEngine:
    return request.app.state.db


async def get_live(request: Request) -> LiveEngine:
    return request.app.state.live


async def get_communes(request: Request) -> Communes | None:
    return request.app.state.communes


async def get_audit(request: Request) -> AuditLog:
    return request.app.state.audit


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[DbEngine, Depends(get_db)]
LiveDep = Annotated[LiveEngine, Depends(get_live)]
CommunesDep = Annotated[Communes | None, Depends(get_communes)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]


async def get_principal(request: Request,
                        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``; 401 when missing, unknown or revoked."""
    if creds is None:
        raise Problem(401, "an API key is required: send the header Authorization: Bearer <key> "
                           "(an admin creates keys with `reprise keys create`)", headers=CHALLENGE)
    keys: KeyCache = request.app.state.keys
    live = request.app.state.live

    def check() -> tuple[bool, Principal | None]:
        # what another worker or the command line changed applies before this answer; ranked
        # answers wait for the index in their route. Waiting (a change of the poles or of the
        # model) is not done here, in the request thread, but below, outside the request pool.
        current = live.catch_up(index=False, wait=False)
        return current, keys.cached(creds.credentials) or keys.authenticate(creds.credentials)

    current, principal = await anyio.to_thread.run_sync(check)  # store reads off the event loop
    if principal is None:
        raise Problem(401, "the API key is not valid or has been revoked", headers=CHALLENGE)
    if not current:
        await live.caught_up(index=False)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


_READS = ("GET", "HEAD", "OPTIONS")


async def _require(request: Request, principal: Principal, roles: tuple[str, ...], action: str) -> None:
    """:func:`require`, and a refused write is audited (``refused_write`` with the key and the
    SIREN, candidate or key named in the path: the same row whether that record exists or not)."""
    try:
        require(principal, roles, action)
    except Problem:
        if request.method not in _READS:
            params = request.path_params
            await request.app.state.live.waited(  # it may wait for the store's writer
                request.app.state.audit.record, principal.key_id, named_siren(params.get("siren", "")),
                REFUSED_WRITE, params.get("candidate_id") or params.get("key_id"))
        raise


async def company_writer(request: Request, principal: PrincipalDep) -> Principal:
    await _require(request, principal, COMPANY_WRITE_ROLES, "write companies (advisors write the cases of their poles)")
    return principal


async def candidate_writer(request: Request, principal: PrincipalDep) -> Principal:
    await _require(request, principal, CANDIDATE_WRITE_ROLES, "write candidates")
    return principal


async def outcome_recorder(request: Request, principal: PrincipalDep) -> Principal:
    await _require(request, principal, OUTCOME_ROLES, "record outcomes")
    return principal


async def admin(request: Request, principal: PrincipalDep) -> Principal:
    await _require(request, principal, ADMIN_ROLES, "manage keys, models or read the audit log")
    return principal


CompanyWriterDep = Annotated[Principal, Depends(company_writer)]
CandidateWriterDep = Annotated[Principal, Depends(candidate_writer)]
OutcomeDep = Annotated[Principal, Depends(outcome_recorder)]
AdminDep = Annotated[Principal, Depends(admin)]
