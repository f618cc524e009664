"""The API's access rules applied to a signed-in person (a thin adapter, so the rules stay one).

A web user acts as an API principal with the same role and poles, named ``user:<id>`` in the
audit log.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api import access
from api.security import Principal
from api.web.session import WebUser
from matcher.contract.confidentiality import Viewer
from matcher.reference.territories import Poles
from matcher.store import audit_log

OUTCOME_ROLES = access.OUTCOME_ROLES
MODEL_ROLES = ("analyst", "admin")


def principal(user: WebUser) -> Principal:
    return Principal(key_id=user.actor, role=user.role, poles=user.poles)


def can_see(user: WebUser, company: dict[str, Any], poles: Poles) -> bool:
    return access.can_see(principal(user), company, poles)


def case_visible(user: WebUser, company: dict[str, Any] | None, poles: Poles) -> bool:
    return access.case_visible(principal(user), company, poles)


def confidential_poles(user: WebUser) -> frozenset[str] | None:
    """The poles whose confidential cases the store may pre-select for this user (as the API's
    lists do); every row is then checked by :func:`can_see`."""
    return user.poles if user.role == "advisor" else None


def company_poles(company: dict[str, Any], poles: Poles) -> set[str]:
    return access.company_poles(company, poles)


def viewer(user: WebUser) -> Viewer:
    """What the user may know of confidential cases (the engine's exclusions depend on it)."""
    return access.viewer_of(principal(user))


def audit_read(request: Request, user: WebUser, siren: str, *, found: bool = True) -> None:
    """Write the audit row of a view of a case's options; an absent and a hidden case get the
    same row."""
    action = audit_log.READ_MATCHES if found else audit_log.NOT_FOUND_MATCHES
    request.app.state.audit.record(user.actor, siren, action)


def audit_outcome(request: Request, user: WebUser, siren: str, candidate_id: str) -> None:
    request.app.state.audit.record(user.actor, siren, audit_log.RECORD_OUTCOME, candidate_id)


def audit_refused(request: Request, user: WebUser, siren: str, candidate_id: str) -> None:
    """A refused write, audited as the API audits it (``refused_write``): the SIREN as written in
    the address when it is one (the same row whether that case exists or not), the option named."""
    request.app.state.audit.record(user.actor, audit_log.named_siren(siren), audit_log.REFUSED_WRITE,
                                   candidate_id or None)
