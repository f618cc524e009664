"""Dependencies of the routes, as ``Annotated`` aliases: settings, store, engine, the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine as DbEngine

from matcher.geo import Communes

from .access import ADMIN_ROLES, OUTCOME_ROLES, WRITE_ROLES, require
from .audit_log import AuditLog
from .config import Settings
from .live_engine import LiveEngine
from .problems import Problem
from .security import Principal, authenticate

bearer = HTTPBearer(auto_error=False, description="an API key created with `reprise keys create`")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> DbEngine:
    return request.app.state.db


def get_live(request: Request) -> LiveEngine:
    return request.app.state.live


def get_communes(request: Request) -> Communes | None:
    return request.app.state.communes


def get_audit(request: Request) -> AuditLog:
    return request.app.state.audit


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[DbEngine, Depends(get_db)]
LiveDep = Annotated[LiveEngine, Depends(get_live)]
CommunesDep = Annotated[Communes | None, Depends(get_communes)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]


def get_principal(db: DbDep,
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``; 401 when missing, unknown or revoked."""
    if creds is None:
        raise Problem(401, "an API key is required: send the header Authorization: Bearer <key> "
                           "(an admin creates keys with `reprise keys create`)", headers=CHALLENGE)
    principal = authenticate(db, creds.credentials)
    if principal is None:
        raise Problem(401, "the API key is not valid or has been revoked", headers=CHALLENGE)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def writer(principal: PrincipalDep) -> Principal:
    require(principal, WRITE_ROLES, "write companies or candidates")
    return principal


def outcome_recorder(principal: PrincipalDep) -> Principal:
    require(principal, OUTCOME_ROLES, "record outcomes")
    return principal


def admin(principal: PrincipalDep) -> Principal:
    require(principal, ADMIN_ROLES, "manage keys, models or read the audit log")
    return principal


WriterDep = Annotated[Principal, Depends(writer)]
OutcomeDep = Annotated[Principal, Depends(outcome_recorder)]
AdminDep = Annotated[Principal, Depends(admin)]
