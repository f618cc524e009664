"""Who may see and do what.

A confidential case (prevention procedures by default) is visible only to advisors of its
poles: its stored ``pole``, or, when that is empty, every pole whose territory contains it.
To anyone else it does not exist: 404, absent from lists, "not a stored company" for outcomes.
"""

from __future__ import annotations

from typing import Any

from api.problems import Problem
from api.security import Principal
from matcher.reference.territories import Poles

WRITE_ROLES = ("advisor", "admin")        # companies and candidates
OUTCOME_ROLES = ("advisor", "analyst")    # record what happened with an option
ADMIN_ROLES = ("admin",)                  # keys, model reload, audit


def require(principal: Principal, roles: tuple[str, ...], action: str) -> None:
    if principal.role not in roles:
        raise Problem(403, f"a {principal.role} key may not {action}; this needs a key with role "
                           f"{' or '.join(roles)}")


def company_poles(company: dict[str, Any], poles: Poles) -> set[str]:
    """The poles following a case (``Poles.of_company``)."""
    return set(poles.of_company(company))


def can_see(principal: Principal, company: dict[str, Any], poles: Poles) -> bool:
    if not company.get("confidential"):
        return True
    return principal.role == "advisor" and bool(principal.poles & company_poles(company, poles))


def write_refusal(principal: Principal, stored: dict[str, Any] | None, new: dict[str, Any] | None,
                  poles: Poles) -> str:
    """Why this key may not write (or delete) the company; "" when it may.

    A key acts only on cases it can see, and only creates cases it will be able to see.
    """
    if (stored is not None and not can_see(principal, stored, poles)) or \
            (new is not None and not can_see(principal, new, poles)):
        siren = (new or stored or {}).get("siren")
        return (f"siren {siren} cannot be written with this key: confidential cases are written by "
                "advisors of their pole only")
    return ""
