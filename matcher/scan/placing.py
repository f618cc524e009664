"""Placing scanned companies (SIRENE head office, else the postal code's commune) and reading
their sector from the announcement's activity text, batched."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from matcher.reference.communes import Communes
from matcher.reference.geo import departement_of

NO_COMMUNES = ("postal code {} can only be placed with a communes file: set REPRISE_COMMUNES "
               "(or give --sirene-etablissements)")

class PrecomputedInferer:
    """A sector inferer answering from one batched call over known texts (misses computed too)."""

    def __init__(self, base: Any, texts: list[str], *, top: int = 3) -> None:
        self.base, self.top = base, top
        unique = list(dict.fromkeys(t for t in texts if t))
        self.table = dict(zip(unique, base.infer(unique, top=top))) if unique else {}

    def infer(self, texts: list[str], *, top: int = 3) -> list[list[tuple[str, float]]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.table))
        if missing:
            self.table.update(zip(missing, self.base.infer(missing, top=max(top, self.top))))
        return [self.table[t][:top] for t in texts]

    def infer_one(self, text: str) -> list[tuple[str, float]]:
        return self.infer([text])[0]


def place_signals(sig: pd.DataFrame, enrich: pd.DataFrame, communes: Communes | None) -> pd.DataFrame:
    """lat, lon, commune, departement, place_reason per signal: SIRENE head office, else postal code."""
    e = enrich.reindex(sig["siren"].fillna("")).reset_index(drop=True)
    out = pd.DataFrame(index=sig.index)
    lat = pd.to_numeric(e["lat"], errors="coerce").to_numpy(dtype=float, copy=True)
    lon = pd.to_numeric(e["lon"], errors="coerce").to_numpy(dtype=float, copy=True)
    commune = e["commune"].to_numpy(dtype=object)
    postal = np.where(e["postal_code"].notna(), e["postal_code"], sig["postal_code"].to_numpy(dtype=object))
    reason = np.full(len(sig), "", dtype=object)
    need = np.isnan(lat)
    if communes is not None:
        by_insee = communes.by_insee.reindex(pd.Series(commune).fillna(""))
        by_postal = communes.by_postal.reindex(pd.Series(postal).fillna(""))
        for table in (by_insee, by_postal):
            take = need & ~np.isnan(table["lat"].to_numpy(dtype=float))
            lat[take], lon[take] = table["lat"].to_numpy()[take], table["lon"].to_numpy()[take]
            need &= ~take
        reason[need] = [f"postal code {p} is not in the communes file" if isinstance(p, str)
                        else "no postal code to place the company" for p in postal[need]]
    else:
        reason[need] = [NO_COMMUNES.format(p) if isinstance(p, str) else "no postal code to place the company"
                        for p in postal[need]]
    out["lat"], out["lon"], out["commune"], out["postal_code_place"] = lat, lon, commune, postal
    out["departement"] = [departement_of(c, p) for c, p in zip(commune, postal)]
    out["place_reason"] = reason
    return out
