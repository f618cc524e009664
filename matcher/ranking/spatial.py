"""Spatial order of the candidate index: radius buckets, grid cells, ranges of positions.

Candidates are stored sorted by (radius bucket, grid row, grid column), the grid of each bucket
having cells half its radius wide. The bounding box of a bucket's radius around a point is then
one range of positions per grid row; a sorted posting list restricted to the box comes from two
binary searches per range. Everything here is vectorised numpy.
"""

from __future__ import annotations

import math

import numpy as np

from matcher.reference.geo import haversine_km

RADIUS_BUCKETS_KM = (15.0, 30.0, 60.0, 100.0, 160.0, 250.0, 400.0, 20000.0)
BUCKET_SHIFT = 40
NCOLS = 1 << 16


def cell_deg(radius_km: float) -> float:
    """Grid cell size of a radius bucket: half its radius, in degrees of latitude."""
    return min(max(radius_km, 10.0), 2000.0) / 111.0 / 2


_CELLS = tuple(cell_deg(r) for r in RADIUS_BUCKETS_KM)


def spatial_keys(radius: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Sort key of each candidate: radius bucket, then grid row and column within the bucket."""
    bucket = np.searchsorted(np.asarray(RADIUS_BUCKETS_KM, dtype=np.float32), radius, side="left")
    bucket = np.minimum(bucket, len(RADIUS_BUCKETS_KM) - 1).astype(np.int64)
    cell = np.asarray([cell_deg(r) for r in RADIUS_BUCKETS_KM])[bucket]
    row = ((lat + 90.0) // cell).astype(np.int64)
    col = ((lon + 180.0) // cell).astype(np.int64)
    return (bucket << BUCKET_SHIFT) + row * NCOLS + col


def expand(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """All positions in the ranges [lo, hi), without a Python loop."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return starts + np.arange(total, dtype=np.int64)


def is_sorted(positions: np.ndarray) -> bool:
    return len(positions) < 2 or bool((positions[1:] >= positions[:-1]).all())


def in_sorted(posting: np.ndarray, positions: np.ndarray, positions_sorted: bool | None = None) -> np.ndarray:
    """Whether each position is in a sorted posting (binary search; no array of all candidates).

    The smaller side is searched in the larger: a posting much shorter than ``positions`` (and
    ``positions`` sorted, as candidate generation returns them) is looked up position by
    position in ``positions`` instead. ``positions_sorted`` saves checking the order.
    """
    n = len(positions)
    if n == 0 or len(posting) == 0:
        return np.zeros(n, dtype=bool)
    if len(posting) * 8 < n and positions[0] <= positions[-1]:
        a, b = np.searchsorted(posting, (positions[0], positions[-1] + 1))
        sub = posting[a:b]
        if len(sub) * 8 < n and (positions_sorted if positions_sorted is not None else is_sorted(positions)):
            hit = np.zeros(n, dtype=bool)
            idx = np.searchsorted(positions, sub)
            found = positions[np.minimum(idx, n - 1)] == sub
            hit[idx[found]] = True
            return hit
    idx = np.searchsorted(posting, positions)
    idx[idx == len(posting)] = 0
    return posting[idx] == positions


def union_sorted(parts: list[np.ndarray]) -> np.ndarray:
    """The distinct positions of sorted postings (each without repeats), sorted: the stable sort
    (timsort for integers) merges their runs, far faster than hashing or sorting them afresh."""
    if len(parts) == 1:
        return np.asarray(parts[0], dtype=np.int64)
    if not parts:
        return np.zeros(0, np.int64)
    merged = np.sort(np.concatenate(parts).astype(np.int64, copy=False), kind="stable")
    return merged[np.r_[True, merged[1:] != merged[:-1]]]


def take(posting: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The positions of a sorted posting that fall in the ranges [lo, hi)."""
    a = np.searchsorted(posting, lo, side="left")
    b = np.searchsorted(posting, hi, side="left")
    return posting[expand(a, b)]


def box_ranges(keys: np.ndarray, lat: float, lon: float, max_km: float | None = None, *,
               within_km: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Position ranges [lo, hi) holding every candidate whose radius bucket (capped at
    ``max_km``) could reach (lat, lon): one range per bucket and grid row of its box. With
    ``within_km``, every candidate within that distance, whatever its radius."""
    # plain Python arithmetic on a few dozen scalars, then one binary search for all bounds:
    # numpy calls on arrays this small cost more than the arithmetic itself
    los: list[int] = []
    his: list[int] = []
    for b, upper in enumerate(RADIUS_BUCKETS_KM):
        radius = upper if max_km is None else min(upper, max_km)
        if within_km is not None:
            radius = within_km
        base = b << BUCKET_SHIFT
        if radius >= 5000:
            los.append(base)
            his.append(base + (1 << BUCKET_SHIFT))
            continue
        cell = _CELLS[b]
        dlat = radius / 110.574
        dlon = radius / (111.320 * math.cos(math.radians(min(89.0, abs(lat) + dlat))))
        c0, c1 = int((lon - dlon + 180.0) // cell), int((lon + dlon + 180.0) // cell) + 1
        for row in range(int((lat - dlat + 90.0) // cell), int((lat + dlat + 90.0) // cell) + 1):
            start = base + row * NCOLS
            los.append(start + c0)
            his.append(start + c1)
    n = len(los)
    bounds = np.searchsorted(keys, np.array(los + his, dtype=np.int64), side="left")
    lo, hi = bounds[:n], bounds[n:]
    keep = hi > lo
    return lo[keep], hi[keep]


def within(lat: float, lon: float, plat: np.ndarray, plon: np.ndarray, limit: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the points within their ``limit`` (km) of (lat, lon), and their distances."""
    # cheap flat-earth distance first (within 1% + 1 km of the truth at these ranges),
    # then the exact great-circle distance on the few that may be in reach
    dy = plat - lat
    dx = (plon - lon) * np.cos(np.radians(lat))
    close = np.flatnonzero(111.195 * np.sqrt(dx * dx + dy * dy) <= limit * 1.02 + 2.0)
    dist = haversine_km(lat, lon, plat[close], plon[close])
    inside = dist <= limit[close]
    return close[inside], dist[inside]
