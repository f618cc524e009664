"""Who may see and do what.

A confidential case (prevention procedures by default) is visible only to advisors of its
poles: its stored ``pole``, or, when that is empty, every pole whose territory contains it.
To anyone else it does not exist: 404, absent from lists, "not a stored company" for outcomes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from matcher import store
from matcher.reference.geo import departement_of
from matcher.reference.territories import Poles

from .problems import Problem
from .security import Principal

READ_ROLES = ("advisor", "analyst", "admin")
WRITE_ROLES = ("advisor", "admin")        # companies and candidates
OUTCOME_ROLES = ("advisor", "analyst")    # record what happened with an option
ADMIN_ROLES = ("admin",)                  # keys, model reload, audit


def require(principal: Principal, roles: tuple[str, ...], action: str) -> None:
    if principal.role not in roles:
        raise Problem(403, f"a {principal.role} key may not {action}; this needs a key with role "
                           f"{' or '.join(roles)}")


def company_poles(company: dict[str, Any], poles: Poles) -> set[str]:
    """The poles following a case: its own, else those whose territory contains it."""
    if company.get("pole"):
        return {company["pole"]}
    if company.get("lat") is None or company.get("lon") is None:
        return set()
    dep = company.get("departement") or departement_of(company.get("commune"), company.get("postal_code"))
    return set(poles.containing(departement=dep, commune=company.get("commune"),
                                lat=float(company["lat"]), lon=float(company["lon"])))


def can_see(principal: Principal, company: dict[str, Any], poles: Poles) -> bool:
    if not company.get("confidential"):
        return True
    return principal.role == "advisor" and bool(principal.poles & company_poles(company, poles))


def visible_clause(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL pre-filter of companies a key may see (rows without a pole are then checked by
    :func:`can_see`, as their poles come from the territories)."""
    c = store.companies.c
    if principal.role == "advisor" and principal.poles:
        return sa.or_(c.confidential == sa.false(), c.pole.in_(sorted(principal.poles)), c.pole.is_(None))
    return c.confidential == sa.false()


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
