"""The list endpoints' filters, checked with messages that name the parameter and the value."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Engine as DbEngine

from api.access import can_see, company_poles
from api.problems import invalid
from api.security import Principal
from matcher.reference import naf
from matcher.reference.territories import Poles
from matcher.store import listing

DEPARTEMENT = re.compile(r"\d{2}|2[AB]|97[1-6]")


def _naf_prefix(sector: str | None) -> str | None:
    if sector is None:
        return None
    prefix = naf.normalize_prefix(sector)
    if not prefix:  # an empty value too, as the schema says: leave the parameter out for every sector
        what = f"sector {sector} is not" if sector else "sector is empty, not"
        raise invalid("sector", sector, f"{what} a NAF code or prefix (expected e.g. 43, 43.3, 43.32 or 43.32A)")
    return prefix


def _departement(departement: str | None) -> str | None:
    if departement is None:
        return None
    if not DEPARTEMENT.fullmatch(departement):  # an empty value too, as the schema says
        what = f"departement {departement} is not" if departement else "departement is empty, not"
        raise invalid("departement", departement, f"{what} a département code (01..95, 2A, 2B, 971..976)")
    return departement


def list_companies(db: DbEngine, principal: Principal, poles: Poles, *, pole: str | None,
                   procedure: str | None, sector: str | None, departement: str | None,
                   after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Companies this key may see, by SIREN; returns (page, next cursor)."""
    def keep(row: dict[str, Any]) -> bool:
        return can_see(principal, row, poles) and (not pole or pole in company_poles(row, poles))

    return listing.company_page(
        db, confidential_poles=principal.poles if principal.role == "advisor" else None, keep=keep, pole=pole,
        procedure=procedure, naf_prefix=_naf_prefix(sector), departement=_departement(departement), after=after,
        limit=limit)


def list_candidates(db: DbEngine, *, pole: str | None, kind: str | None, sector: str | None,
                    departement: str | None, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Candidates by id; returns (page, next cursor)."""
    return listing.candidate_page(db, pole=pole, kind=kind, naf_prefix=_naf_prefix(sector),
                                  departement=_departement(departement), after=after, limit=limit)
