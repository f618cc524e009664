"""Geography: coordinate ranges, the communes file, distances, default radii by kind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088

# Where a WGS84 point may be: France métropolitaine (with Corsica) and the five DOM.
# (lat_min, lat_max, lon_min, lon_max)
TERRITORY_BOXES = {
    "métropole": (41.2, 51.2, -5.3, 9.7),
    "Guadeloupe": (15.8, 16.6, -61.9, -60.9),
    "Martinique": (14.3, 14.95, -61.3, -60.75),
    "Guyane": (2.0, 5.9, -54.7, -51.5),
    "La Réunion": (-21.45, -20.85, 55.2, 55.9),
    "Mayotte": (-13.1, -12.6, 44.9, 45.35),
}

# How far a candidate would go when its file gives no radius_km (km). A person taking over a
# business moves further than a local firm; a cooperative network covers a département or two.
DEFAULT_RADIUS_KM = {
    "company": 50.0,
    "pole_member": 80.0,
    "cooperative": 120.0,
    "repreneur": 150.0,
    "employee_group": 30.0,
}


def in_territory(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where (lat, lon) falls in France métropolitaine or a DOM."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ok = np.zeros(lat.shape, dtype=bool)
    for la0, la1, lo0, lo1 in TERRITORY_BOXES.values():
        ok |= (lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1)
    return ok


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 3) float32 unit vectors; their dot product gives the great-circle angle."""
    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1).astype(
        np.float32
    )


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distance from one point to many, in km (float64, exact to metres)."""
    la1, lo1 = np.radians(lat), np.radians(lon)
    la2, lo2 = np.radians(np.asarray(lats, dtype=float)), np.radians(np.asarray(lons, dtype=float))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class Communes:
    """The communes file (columns of INSEE's official file: ``insee_com``, ``code_postal``,
    ``lat``, ``lng``, ``insee_dep``, ``population_2021``), indexed for look-ups."""

    by_insee: pd.DataFrame  # index insee code -> lat, lon, departement
    by_postal: pd.DataFrame  # index postal code -> lat, lon, departement (most populous commune)

    @classmethod
    def from_file(cls, path: str | Path) -> Communes:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"communes file {path} does not exist")
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        needed = {"insee_com", "code_postal", "lat", "lng", "insee_dep"}
        missing = needed - set(df.columns)
        if missing:
            raise ValueError(
                f"communes file {path} lacks the columns {sorted(missing)}; "
                f"expected the columns of INSEE's communes file ({', '.join(sorted(needed))})"
            )
        df = df[(df["lat"] != "") & (df["lng"] != "")].copy()
        df["lat"] = df["lat"].astype(float)
        df["lon"] = df["lng"].astype(float)
        pop = df["population_2021"] if "population_2021" in df.columns else pd.Series("0", index=df.index)
        df["pop"] = pd.to_numeric(pop, errors="coerce").fillna(0)
        df = df.rename(columns={"insee_dep": "departement"})
        cols = ["lat", "lon", "departement"]
        by_insee = df.drop_duplicates("insee_com").set_index("insee_com")[cols]
        by_postal = (
            df.sort_values("pop", ascending=False).drop_duplicates("code_postal").set_index("code_postal")[cols]
        )
        return cls(by_insee=by_insee, by_postal=by_postal)


def departement_of(commune: str | None, postal_code: str | None) -> str | None:
    """The département code from an INSEE commune code or, failing that, a postal code."""
    commune = commune if isinstance(commune, str) and commune else None
    postal_code = postal_code if isinstance(postal_code, str) and postal_code else None
    if commune:
        c = str(commune)
        if c.startswith("97"):
            return c[:3]
        return c[:2]
    if postal_code:
        p = str(postal_code)
        if p.startswith("97"):
            return p[:3]
        if p.startswith("20"):
            return "2A" if int(p[:3]) < 202 else "2B"
        return p[:2]
    return None
