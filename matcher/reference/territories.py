"""Pole territories: which poles follow a company (its own ``pole``, else every pole whose
territory — départements, communes or a circle — contains it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from matcher.reference.geo import departement_of, haversine_km


class Poles:
    """The stored poles, by id."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.rows = {r["pole_id"]: dict(r) for r in rows}

    def containing(self, *, departement: str | None, commune: str | None, lat: float, lon: float) -> list[str]:
        """Poles whose territory contains this place."""
        out = []
        for pid, r in self.rows.items():
            if (departement and departement in (r.get("departements") or [])) \
                    or (commune and commune in (r.get("communes") or [])) \
                    or (r.get("lat") is not None and r.get("radius_km")
                        and haversine_km(r["lat"], r["lon"], np.array([lat]), np.array([lon]))[0] <= r["radius_km"]):
                out.append(pid)
        return out

    def of_company(self, company: Mapping[str, Any]) -> list[str]:
        """The poles following a case: its own ``pole``, else those whose territory contains it."""
        if company.get("pole"):
            return [company["pole"]]
        if company.get("lat") is None or company.get("lon") is None:
            return []
        dep = company.get("departement") or departement_of(company.get("commune"), company.get("postal_code"))
        return self.containing(departement=dep, commune=company.get("commune"),
                               lat=float(company["lat"]), lon=float(company["lon"]))

    def support(self, pole_ids: Iterable[str]) -> bool:
        """Whether a cooperative union or incubator supports employee takeovers in these poles."""
        return any(bool(self.rows.get(p, {}).get("cooperative_support")) for p in pole_ids)
