"""Great-circle distances: known city pairs, and the textbook formula on random points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.reference.geo import EARTH_RADIUS_KM, haversine_km


def _textbook(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@pytest.mark.parametrize(("a", "b", "km"), [
    ((48.8566, 2.3522), (45.7640, 4.8357), 392),   # Paris - Lyon
    ((48.8566, 2.3522), (43.2965, 5.3698), 661),   # Paris - Marseille
    ((47.2184, -1.5536), (47.2184, -1.5536), 0),   # the same point
])
def test_known_distances(a, b, km):
    assert haversine_km(*a, np.array([b[0]]), np.array([b[1]]))[0] == pytest.approx(km, abs=1.0)


def test_equals_the_textbook_formula_and_leaves_its_inputs_alone():
    rng = np.random.default_rng(3)
    lats, lons = rng.uniform(-60, 60, 500), rng.uniform(-180, 180, 500)
    kept = lats.copy(), lons.copy()
    got = haversine_km(46.0, 2.0, lats, lons)
    expected = [_textbook(46.0, 2.0, la, lo) for la, lo in zip(lats, lons)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    assert np.array_equal(lats, kept[0]) and np.array_equal(lons, kept[1])
    assert haversine_km(46.0, 2.0, lats[:0], lons[:0]).shape == (0,)
