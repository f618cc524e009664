"""Admin: API keys (create, list, revoke) and the audit log of match reads."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from api.access import can_see
from api.deps import AdminDep, AuditDep, DbDep, LiveDep, SettingsDep
from api.params import check_range
from api.problems import API_ERRORS, Problem, error_responses
from api.schemas_admin import AuditPage, KeyCreate, KeyCreated, KeyOut
from api.security import create_key, list_keys, revoke_key
from matcher.errors import Conflict, InvalidRecord
from matcher.store import audit_log

router = APIRouter(prefix="/v1", tags=["admin"], responses=API_ERRORS)


@router.get("/keys", response_model=list[KeyOut])
def get_keys(principal: AdminDep, db: DbDep) -> list[dict]:
    """Every key (id, role, poles, label, dates); never the key itself."""
    return list_keys(db)


@router.post("/keys", response_model=KeyCreated, status_code=201)
async def post_key(body: KeyCreate, principal: AdminDep, db: DbDep, audit: AuditDep, live: LiveDep) -> dict:
    """Create a key; the response holds the secret key, shown this once."""
    return await live.waited(_create, body, principal, db, audit)  # a write: outside the request pool


def _create(body: KeyCreate, principal, db, audit) -> dict:
    try:
        row, key = create_key(db, role=body.role, poles=body.poles, label=body.label)
    except InvalidRecord as exc:
        raise Problem(422, str(exc), errors=[{"field": "poles", "value": body.poles, "message": str(exc)}]) from exc
    audit.record(principal.key_id, None, audit_log.CREATE_KEY, row["key_id"])
    return {**row, "key": key}


@router.delete("/keys/{key_id}", response_model=KeyOut, responses=error_responses(404, 409))
async def delete_key(key_id: str, request: Request, principal: AdminDep, db: DbDep, audit: AuditDep,
                     live: LiveDep) -> dict:
    """Revoke a key: it stops working at once, in every worker. The last admin key cannot be revoked."""
    return await live.waited(_revoke, key_id, request, principal, db, audit)  # a write: outside the request pool


def _revoke(key_id: str, request: Request, principal, db, audit) -> dict:
    try:
        row = revoke_key(db, key_id)
    except Conflict:  # the last working admin key: a refused write
        audit.record(principal.key_id, None, audit_log.REFUSED_WRITE, key_id)
        raise
    if row is None:
        raise Problem(404, f"key_id {key_id} is not a key")
    request.app.state.keys.forget(key_id)
    audit.record(principal.key_id, None, audit_log.REVOKE_KEY, key_id)
    return row


@router.get("/audit", response_model=AuditPage)
def get_audit(principal: AdminDep, db: DbDep, live: LiveDep, settings: SettingsDep,
              key_id: str | None = None, siren: str | None = None,
              action: str | None = Query(None, description="one of " + ", ".join(audit_log.ACTIONS)),
              before: int | None = Query(None, ge=1, le=2**31 - 1, description="the `next` of the previous page"),
              limit: int = Query(100, ge=1, description="entries per page, at most max_page_size")) -> dict:
    """Who read which company's matches, who wrote or deleted what, and when; newest first. Rows
    about a company this key may not see (or that is not stored) are left out."""
    check_range("limit", limit, 1, settings.max_page_size)
    poles = live.engine.poles
    items, nxt = audit_log.read_audit(db, key_id=key_id, siren=siren, action=action, before=before, limit=limit,
                                      visible=lambda company: can_see(principal, company, poles))
    return {"items": items, "next": nxt}
