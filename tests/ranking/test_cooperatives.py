"""Whether a cooperative lies near a company (the employees' option's support): the same answer
as measuring every cooperative, whichever way it is found (own cell first, box, or all)."""

from __future__ import annotations

import numpy as np
import pytest

from matcher import store
from matcher.contract.imports import import_file
from matcher.demo.build import generate
from matcher.ranking import reach as reach_module
from matcher.ranking.engine import Engine
from matcher.reference.geo import haversine_km


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coops")
    files = generate(folder / "files", candidates=3000, companies=10)
    db = store.connect(f"sqlite:///{folder / 'demo.db'}")
    for kind in ("poles", "companies", "candidates"):
        import_file(db, kind, files[kind], rejects_path=folder / f"{kind}.rejects.csv")
    yield Engine.from_store(db).index
    db.dispose()


@pytest.mark.parametrize("scan_max", [reach_module.COOP_SCAN_MAX, 0])  # all measured, or those of the box
def test_a_cooperative_nearby_as_measuring_them_all(index, monkeypatch, scan_max):
    monkeypatch.setattr(reach_module, "COOP_SCAN_MAX", scan_max)
    assert len(index.coops) > 20
    rng = np.random.default_rng(7)
    lat, lon = index.lat[index.coops], index.lon[index.coops]
    # next to a cooperative (its own cell holds one), and anywhere in the territory's box
    points = [(la + d1, lo + d2) for la, lo, d1, d2 in zip(lat[:60], lon[:60], *rng.normal(0, 0.05, (2, 60)))]
    points += list(zip(rng.uniform(lat.min() - 0.5, lat.max() + 0.5, 60), rng.uniform(lon.min() - 0.5, lon.max() + 0.5, 60)))
    seen = set()
    for dead in (None, rng.random(len(index)) < 0.5):
        alive = index.coops if dead is None else index.coops[~dead[index.coops]]
        for (plat, plon), km in zip(points * 4, np.repeat([0.3, 3.0, 12.0, 50.0], len(points))):
            expected = bool((haversine_km(plat, plon, index.lat[alive], index.lon[alive]) <= km).any())
            assert index.cooperative_within(plat, plon, float(km), dead) is expected, (plat, plon, km)
            seen.add(expected)
    assert seen == {True, False}  # both answers were met
