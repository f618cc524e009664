"""SIRENE's published coordinates (metres) to WGS84 degrees.

INSEE publishes an establishment's coordinates in Lambert-93 (EPSG:2154) in métropole and in the
local UTM projection of each overseas département (RGAF09 / UTM 20N in Guadeloupe and Martinique,
RGFG95 / UTM 22N in Guyane, RGR92 / UTM 40S at La Réunion, RGM04 / UTM 38S at Mayotte): the
projection is chosen by the commune code's first characters and converted with pyproj in one
vectorised call per projection. A point that lands outside France is dropped (NaN).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from matcher.reference.geo import in_territory

# Projection of the published coordinates, by the commune code's first characters.
CRS_BY_PREFIX = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
LAMBERT93 = 2154


@lru_cache(maxsize=8)
def _transformer(epsg: int):
    from pyproj import Transformer
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def to_wgs84(x, y, communes=None) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) from SIRENE coordinates in metres (text such as ``[ND]`` or empty counts as
    missing); NaN where missing or outside France."""
    x = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float)
    lat, lon = np.full(len(x), np.nan), np.full(len(x), np.nan)
    prefix = (pd.Series(communes, dtype=object).fillna("").astype(str).str[:3].to_numpy()
              if communes is not None else np.full(len(x), ""))
    epsg = np.array([CRS_BY_PREFIX.get(p, LAMBERT93) for p in prefix], dtype=np.int32)
    for code in np.unique(epsg):
        sel = (epsg == code) & ~np.isnan(x) & ~np.isnan(y)
        if sel.any():
            lon[sel], lat[sel] = _transformer(int(code)).transform(x[sel], y[sel])
    bad = ~in_territory(np.nan_to_num(lat, nan=0.0), np.nan_to_num(lon, nan=0.0))
    lat[bad], lon[bad] = np.nan, np.nan
    return lat, lon
