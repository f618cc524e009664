"""What the pages show of a company or a candidate: trade, place and size in words."""

from __future__ import annotations

import math
from typing import Any

from api.web import fr, labels
from matcher.reference import naf
from matcher.reference.communes import Communes

_NAMES: dict[int, tuple[Communes, dict[str, str]]] = {}


def _names(communes: Communes) -> dict[str, str]:
    """INSEE code -> commune name, built once per table (the table itself is kept alive with it)."""
    hit = _NAMES.get(id(communes))
    if hit is None or hit[0] is not communes:
        hit = _NAMES[id(communes)] = (communes, communes.by_insee["name"].to_dict())
    return hit[1]


def commune_name(communes: Communes | None, code: str | None) -> str:
    if not code or communes is None:
        return ""
    return _names(communes).get(code, "")


def place(row: dict[str, Any], communes: Communes | None) -> str:
    """``Nantes (44)``, else the postal code, else the département."""
    name = commune_name(communes, row.get("commune"))
    dep = row.get("departement")
    if name:
        return f"{name} ({dep})" if dep else name
    if row.get("postal_code"):
        return str(row["postal_code"])
    return f"département {dep}" if dep else ""


def trade(row: dict[str, Any]) -> str:
    """The NAF sub-class in words (French labels of the nomenclature), else the activity text."""
    code = row.get("naf")
    if code:
        return naf.label(code) or code
    text = row.get("activity")
    return f"« {text} »" if text else "métier non précisé"


def headcount(row: dict[str, Any]) -> str:
    value = row.get("headcount")
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        n = int(value)
        return "aucun salarié" if n == 0 else f"{fr.number(n)} salarié{'s' if n > 1 else ''}"
    band = labels.band(row.get("headcount_band"))
    return f"{band} salariés" if band and band != "aucun salarié" else band


def division(code: str | None) -> str | None:
    return code[:2] if code else None
