"""Pole territories: which poles follow a company (its own ``pole``, else every pole whose
territory — départements, communes or a circle — contains it), and the territory a candidate
pool is built for (:class:`Territory`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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

    def of_company(self, company: Mapping[str, Any], *, uniform: bool = False) -> list[str]:
        """The poles following a case: its own ``pole``, else those whose territory contains it.

        ``uniform``: the territory's poles are computed even when the answer does not need them
        (own pole, no coordinates), so the call costs the same for every case."""
        placed = company.get("lat") is not None and company.get("lon") is not None
        if not uniform and (company.get("pole") or not placed):
            return [company["pole"]] if company.get("pole") else []
        dep = company.get("departement") or departement_of(company.get("commune"), company.get("postal_code"))
        territory = self.containing(departement=dep, commune=company.get("commune"),
                                    lat=float(company["lat"]) if placed else 0.0,
                                    lon=float(company["lon"]) if placed else 0.0)
        if company.get("pole"):
            return [company["pole"]]
        return territory if placed else []

    def support(self, pole_ids: Iterable[str]) -> bool:
        """Whether a cooperative union or incubator supports employee takeovers in these poles."""
        return any(bool(self.rows.get(p, {}).get("cooperative_support")) for p in pole_ids)


# A commune whose centre lies this far outside a circle may still hold establishments inside it
# (the largest communes of métropole are about 20 km across; Guyane's are larger, and listed whole).
CIRCLE_MARGIN_KM = 25.0


@dataclass(frozen=True)
class Territory:
    """Where a pool is built: départements, communes and circles (lat, lon, radius km), united."""

    departements: frozenset[str] = frozenset()
    communes: frozenset[str] = frozenset()
    circles: tuple[tuple[float, float, float], ...] = ()
    label: str = ""

    @classmethod
    def of_poles(cls, rows: Iterable[Mapping[str, Any]]) -> Territory:
        """The union of these poles' territories."""
        rows = list(rows)
        deps = {d for r in rows for d in (r.get("departements") or [])}
        communes = {c for r in rows for c in (r.get("communes") or [])}
        circles = tuple((float(r["lat"]), float(r["lon"]), float(r["radius_km"])) for r in rows
                        if r.get("lat") is not None and r.get("lon") is not None and r.get("radius_km"))
        return cls(frozenset(deps), frozenset(communes), circles,
                   label="pole " + ", ".join(str(r["pole_id"]) for r in rows))

    def __bool__(self) -> bool:
        return bool(self.departements or self.communes or self.circles)

    def near_communes(self, centres: pd.DataFrame) -> frozenset[str]:
        """The communes named, and those whose centre (``centres``: INSEE code index, ``lat``,
        ``lon``) is within a circle's radius plus a margin: what a commune code can be to lie in
        the territory other than by its département."""
        out = set(self.communes)
        for lat, lon, radius in self.circles:
            dist = haversine_km(lat, lon, centres["lat"].to_numpy(), centres["lon"].to_numpy())
            out.update(centres.index[dist <= radius + CIRCLE_MARGIN_KM])
        return frozenset(out)

    def contains(self, commune: pd.Series, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Whether each place (commune code, point) is in the territory: its département or
        commune is listed, or its point is within a circle."""
        commune = commune.fillna("").astype(str)
        dep = np.where(commune.str.startswith("97"), commune.str[:3], commune.str[:2])
        ok = np.isin(dep, sorted(self.departements)) | commune.isin(self.communes).to_numpy()
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        for clat, clon, radius in self.circles:
            known = ~np.isnan(lat) & ~np.isnan(lon)
            dist = haversine_km(clat, clon, np.nan_to_num(lat), np.nan_to_num(lon))
            ok |= known & (dist <= radius)
        return ok
