"""The API's access rules applied to a signed-in person (a thin adapter, so the rules stay one).

A web user acts as an API principal with the same role and poles, named ``user:<id>`` in the
audit log.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import Request

from api import access, audit_log
from api.security import Principal
from matcher.reference.territories import Poles

from .session import WebUser

OUTCOME_ROLES = access.OUTCOME_ROLES
MODEL_ROLES = ("analyst", "admin")


def principal(user: WebUser) -> Principal:
    return Principal(key_id=user.actor, role=user.role, poles=user.poles)


def can_see(user: WebUser, company: dict[str, Any], poles: Poles) -> bool:
    return access.can_see(principal(user), company, poles)


def visible_clause(user: WebUser) -> sa.ColumnElement[bool]:
    return access.visible_clause(principal(user))


def company_poles(company: dict[str, Any], poles: Poles) -> set[str]:
    return access.company_poles(company, poles)


def audit_read(request: Request, user: WebUser, siren: str, *, denied: bool = False) -> None:
    """Write the audit row of a view of a case's options (or of a refused attempt)."""
    action = audit_log.DENIED_MATCHES if denied else audit_log.READ_MATCHES
    request.app.state.audit.record(user.actor, siren, action)
