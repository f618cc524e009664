"""A small map of a case, drawn server-side as inline SVG from the communes table (no tile server).

The communes of the company's département are light dots (larger for towns); the company and
its options are marked points, numbered by rank. The frame holds the département and every
option, in an equirectangular projection around the frame's middle latitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

from matcher.reference.communes import Communes

WIDTH = 480.0
MAX_HEIGHT = 420.0
PAD = 14.0
TOWN = 10_000  # inhabitants from which a commune is drawn larger


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    label: str  # the number shown in the marker ("" for the company)
    title: str  # name, for the tooltip and the legend


@dataclass(frozen=True)
class Area:
    """A département's communes as arrays: latitude, longitude, town or not."""

    lat: np.ndarray
    lon: np.ndarray
    town: np.ndarray


_AREAS: dict[tuple[int, str], tuple[Communes, Area]] = {}


def area_of(communes: Communes, departement: str) -> Area:
    """The département's communes, selected once per table (selecting costs more than drawing)."""
    hit = _AREAS.get((id(communes), departement))
    if hit is None or hit[0] is not communes:
        rows = communes.departement(departement)
        area = Area(rows["lat"].to_numpy(dtype=float), rows["lon"].to_numpy(dtype=float),
                    rows["population"].to_numpy() >= TOWN)
        hit = _AREAS[(id(communes), departement)] = (communes, area)
    return hit[1]


def draw(communes: Communes | None, departement: str | None, company: Point, options: list[Point],
         *, caption: str) -> Markup:
    """The map as an ``<svg>`` element (role img, titled by ``caption``)."""
    area = area_of(communes, departement) if communes is not None and departement else None
    lats = [company.lat, *(p.lat for p in options)]
    lons = [company.lon, *(p.lon for p in options)]
    if area is not None and len(area.lat):
        lats += [float(area.lat.min()), float(area.lat.max())]
        lons += [float(area.lon.min()), float(area.lon.max())]
    lat0, lat1, lon0, lon1 = min(lats), max(lats), min(lons), max(lons)
    # at least ~20 km across, so a company alone with its neighbour is not drawn edge to edge
    if lat1 - lat0 < 0.2:
        lat0, lat1 = (lat0 + lat1) / 2 - 0.1, (lat0 + lat1) / 2 + 0.1
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    if (lon1 - lon0) * kx < 0.2:
        mid = (lon0 + lon1) / 2
        lon0, lon1 = mid - 0.1 / kx, mid + 0.1 / kx
    span_x, span_y = (lon1 - lon0) * kx, lat1 - lat0
    scale = min((WIDTH - 2 * PAD) / span_x, (MAX_HEIGHT - 2 * PAD) / span_y)
    height = span_y * scale + 2 * PAD

    def xy(lat: np.ndarray | float, lon: np.ndarray | float):
        return PAD + (np.asarray(lon) - lon0) * kx * scale, PAD + (lat1 - np.asarray(lat)) * scale

    parts = [f'<svg class="map" viewBox="0 0 {WIDTH:.0f} {height:.0f}" role="img" aria-labelledby="map-title" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="map-title">{escape(caption)}</title>',
             f'<rect class="map-bg" x="0" y="0" width="{WIDTH:.0f}" height="{height:.0f}"/>']
    if area is not None and len(area.lat):
        x, y = xy(area.lat, area.lon)
        for cls, keep in (("map-commune", ~area.town), ("map-town", area.town)):
            # one path of zero-length round-capped segments: hundreds of dots in one element
            d = "".join(f"M{a:.1f} {b:.1f}h0" for a, b in zip(x[keep].tolist(), y[keep].tolist()))
            if d:
                parts.append(f'<path class="{cls}" d="{d}"/>')
    for p in reversed(options):  # the best option drawn last, on top
        x, y = xy(p.lat, p.lon)
        parts.append(f'<g class="map-option"><title>{escape(p.label)}. {escape(p.title)}</title>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9"/>'
                     f'<text x="{x:.1f}" y="{y + 3.5:.1f}" text-anchor="middle">{escape(p.label)}</text></g>')
    x, y = xy(company.lat, company.lon)
    parts.append(f'<g class="map-company"><title>{escape(company.title)}</title>'
                 f'<rect x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" '
                 f'transform="rotate(45 {x:.1f} {y:.1f})"/>'
                 "</g></svg>")
    return Markup("".join(parts))
