"""Geography: where a point may be (France and the DOM), distances, départements."""

from __future__ import annotations

import numpy as np

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

def in_territory(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where (lat, lon) falls in France métropolitaine or a DOM."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ok = np.zeros(lat.shape, dtype=bool)
    for la0, la1, lo0, lo1 in TERRITORY_BOXES.values():
        ok |= (lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1)
    return ok


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distance from one point to many, in km (float64, exact to metres)."""
    # sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2), computed in place (the same values, fewer arrays)
    la1, lo1 = np.radians(lat), np.radians(lon)
    la2 = np.radians(np.asarray(lats, dtype=float))
    a = np.subtract(la2, la1)
    a /= 2
    np.sin(a, out=a)
    a *= a
    b = np.radians(np.asarray(lons, dtype=float))
    b -= lo1
    b /= 2
    np.sin(b, out=b)
    b *= b
    np.cos(la2, out=la2)
    la2 *= np.cos(la1)
    b *= la2
    a += b
    np.clip(a, 0.0, 1.0, out=a)
    np.sqrt(a, out=a)
    np.arcsin(a, out=a)
    a *= 2 * EARTH_RADIUS_KM
    return a


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
